"""The ``uccerts`` entry point.

``decode`` and ``match`` are what an administrator runs most, on a laptop, in loops
over folders of files: they skip the CLI framework (typer, and the pydantic it loads
to coerce parameters) and parse their few flags with argparse. Everything else, and
any ``--help``, goes to the full typer application in ``main``.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from uccerts.cli.common import AppFactory

_GLOBAL_WITH_VALUE = ("--home", "--db", "--cluster")


def _command_index(argv: list[str]) -> int | None:
    """Where the command word is, after the global options (which take a value)."""
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in _GLOBAL_WITH_VALUE:
            i += 2
        elif any(arg.startswith(f"{flag}=") for flag in _GLOBAL_WITH_VALUE):
            i += 1
        elif arg.startswith("-"):
            return None  # --help, --version…: the full application answers
        else:
            return i
    return None


def _parser(command: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"uccerts {command}", add_help=False)
    parser.add_argument("--json", action="store_true", dest="as_json")
    if command == "decode":
        parser.add_argument("file")
    else:
        parser.add_argument("--cert", required=True)
        parser.add_argument("--key")
        parser.add_argument("--csr")
    return parser


def fast_path(argv: list[str]) -> int | None:
    """Run ``decode``/``match`` directly and return the exit code, or None."""
    at = _command_index(argv)
    if at is None or argv[at] not in ("decode", "match"):
        return None
    rest = argv[at + 1:]
    if "--help" in rest or "-h" in rest:
        return None
    from uccerts.cli import offline

    args = _parser(argv[at]).parse_args(rest)  # a usage error exits 2, as cli.md says
    if argv[at] == "decode":
        return offline.decode(args.file, args.as_json)
    return offline.match(args.cert, args.key, args.csr, args.as_json)


def run(app_factory: AppFactory | None = None) -> None:
    """The CLI; ``app_factory`` builds the web app ``serve`` runs in each node's Cisco
    Tomcat (``uccerts.launcher`` passes it: the CLI does not import the other faces)."""
    # cryptography warns on every read of an over-long name attribute (a CN of 100
    # characters, which real CAs issue): uccerts shows such names, it does not nag.
    warnings.filterwarnings("ignore", message="Attribute's length must be", category=UserWarning)
    code = fast_path(sys.argv[1:])
    if code is not None:
        sys.exit(code)
    from uccerts.cli.common import CliState
    from uccerts.cli.main import app

    app(prog_name="uccerts", obj=CliState(app_factory=app_factory))
