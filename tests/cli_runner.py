"""Run the real ``uccerts`` command in a subprocess, as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENTRY = "from uccerts.launcher import run; run()"


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        return json.loads(self.out)


def run_uccerts(home: Path | None, *args: str | Path, stdin: bytes | None = None,
                cwd: Path | None = None, timeout: float = 120,
                env_extra: dict[str, str] | None = None) -> Result:
    """``uccerts ARGS`` in a fresh interpreter. ``home=None``: no uccerts home at all
    (HOME points at ``cwd``), for the offline tools that must not need one."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("UCCERTS_")}
    if home is None:
        env["HOME"] = str(cwd or Path.cwd())
    else:
        env["UCCERTS_HOME"] = str(home)
    env.update(env_extra or {})
    env["COLUMNS"] = "200"
    proc = subprocess.run([sys.executable, "-c", ENTRY, *map(str, args)], input=stdin,
                          capture_output=True, env=env, cwd=cwd, timeout=timeout,
                          check=False)
    out, err = proc.stdout.decode(), proc.stderr.decode()
    assert "Traceback" not in out + err, f"traceback from uccerts {args}:\n{out}\n{err}"
    return Result(proc.returncode, out, err)
