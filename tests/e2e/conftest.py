"""Run the real ``uccerts`` command in a subprocess against a throw-away home.

``cli_home`` is a home with the demo cluster and a lab CA already created (made once
per worker, copied per test, because key generation is the slow part); ``uccerts``
runs the command there and returns its exit code, stdout and stderr.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from cli_runner import Result, run_uccerts
from clusters import TOPOLOGY


@pytest.fixture(scope="session")
def template_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("template") / "home"
    topo = home.parent / "lab.toml"
    topo.write_text(TOPOLOGY)
    init = run_uccerts(home, "cluster", "init", "--topology", str(topo))
    assert init.code == 0, init.err
    ca = run_uccerts(home, "ca", "init")
    assert ca.code == 0, ca.err
    return home


@pytest.fixture
def cli_home(template_home: Path, tmp_path: Path) -> Path:
    home = tmp_path / "home"
    shutil.copytree(template_home, home)
    return home


@pytest.fixture
def uccerts(cli_home: Path) -> Callable[..., Result]:
    def call(*args: str, stdin: bytes | None = None) -> Result:
        return run_uccerts(cli_home, *args, stdin=stdin)

    return call
