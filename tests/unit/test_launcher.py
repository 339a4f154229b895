"""The CLI does not import the console or the APIs: the launcher hands it the factory
of a node's app, and the CLI keeps it through its global options for ``serve``."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from uccerts import launcher
from uccerts.cli.common import CliState
from uccerts.cli.main import main


def test_the_launcher_hands_the_cli_the_node_app_factory(
        monkeypatch: pytest.MonkeyPatch) -> None:
    handed: list[Any] = []
    monkeypatch.setattr(launcher, "run_cli", handed.append)
    launcher.run()
    # One factory for the whole serve: every node's app shares its login throttle.
    assert len(handed) == 1 and isinstance(handed[0], launcher.NodeApps)


def test_the_global_options_keep_the_factory_from_the_launcher() -> None:
    def factory(*_: Any) -> Any:
        return None

    ctx = SimpleNamespace(obj=CliState(app_factory=factory))
    main(ctx, home=None, db="sqlite://", cluster="lab", version=False)  # type: ignore[arg-type]
    assert isinstance(ctx.obj, CliState)
    assert ctx.obj.app_factory is factory
    assert (ctx.obj.db, ctx.obj.cluster) == ("sqlite://", "lab")


def test_without_a_launcher_the_cli_has_no_factory() -> None:
    ctx = SimpleNamespace(obj=None)
    main(ctx, home=None, db=None, cluster=None, version=False)  # type: ignore[arg-type]
    assert ctx.obj.app_factory is None

