"""Files shipped with the package: the example topology (the demo cluster)."""

from __future__ import annotations

from importlib.resources import files


def example_topology() -> str:
    """The demo cluster: a publisher, a subscriber and an IM and Presence node on
    loopback addresses, with 20 phones (cli.md "Cluster")."""
    return files(__package__).joinpath("lab.toml").read_text(encoding="utf-8")
