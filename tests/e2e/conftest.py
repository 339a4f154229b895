"""Run the real ``uccerts`` command in a subprocess against a throw-away home.

``cli_home`` is a home with the demo cluster and a lab CA already created (made once
per worker, copied per test, because key generation is the slow part); ``uccerts``
runs the command there and returns its exit code, stdout and stderr.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from cli_runner import Result, run_uccerts
from clusters import TOPOLOGY

if TYPE_CHECKING:
    from live import LiveCluster


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


@pytest.fixture(scope="session")
def live_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo cluster and a lab CA on this worker's own loopback addresses."""
    from live import live_topology

    home = tmp_path_factory.mktemp("live-template") / "home"
    topo = home.parent / "lab.toml"
    topo.write_text(live_topology())
    init = run_uccerts(home, "cluster", "init", "--topology", str(topo))
    assert init.code == 0, init.err
    ca = run_uccerts(home, "ca", "init")
    assert ca.code == 0, ca.err
    return home


@pytest.fixture
def live(live_template: Path, tmp_path: Path) -> Iterator[LiveCluster]:
    """A running copy of the live template (``serve`` started; stopped at the end)."""
    from live import LiveCluster

    home = tmp_path / "home"
    shutil.copytree(live_template, home)
    cluster = LiveCluster(home)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.kill()
