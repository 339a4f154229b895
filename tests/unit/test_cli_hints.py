"""Face-neutral fixes inside, the CLI's own hint outside (issue 9, item 7)."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

import uccerts
from uccerts.cli.hints import HINTS, hint
from uccerts.cli.output import report_error
from uccerts.errors import NotFound, Refused, UsageError

INNER = ("domain", "services", "runtime", "enroll", "storage")
# A CLI word: a `uccerts <noun>` command, or a long flag such as --cluster.
NOUNS = ("admin|audit|ca|cert|check|cluster|csr|ctl|drf|phones|runbook|serve|service|sso|"
         "tools|websecurity")
CLI_WORDS = re.compile(rf"\buccerts ({NOUNS})\b|`({NOUNS}) [a-z-]+`|(?<![\w-])--[a-z]")


def _fix_texts() -> list[tuple[str, int, str]]:
    root = Path(uccerts.__file__).parent
    found = []
    for layer in INNER:
        for path in sorted((root / layer).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.keyword) and node.arg == "fix":
                    parts = [n.value for n in ast.walk(node.value)
                             if isinstance(n, ast.Constant) and isinstance(n.value, str)]
                    found.append((f"{layer}/{path.name}", node.lineno, "".join(parts)))
    return found


def test_inner_fix_texts_name_no_cli_command_or_flag() -> None:
    texts = _fix_texts()
    assert len(texts) > 100  # the walk found the fixes
    worded = [(where, line, text) for where, line, text in texts
              # a runbook guard's override is the domain's own name for it
              if CLI_WORDS.search(text) and "Lift it with" not in text]
    assert worded == []


@pytest.mark.parametrize(("err", "words"), [
    (Refused("The cluster is in non-secure mode", code="ctl-non-secure",
             fix="Set the cluster's security mode to mixed first"),
     "uccerts cluster security-mode mixed"),
    (UsageError("Several clusters exist", code="cluster-ambiguous", fix="Name the cluster"),
     "--cluster NAME"),
    (Refused("Cisco Tomcat on cucm-pub still serves the old certificate",
             code="old-certificate-served", fix="Restart Cisco Tomcat on cucm-pub"),
     'uccerts service restart NODE "SERVICE"'),
])
def test_the_cli_adds_its_hint_after_the_neutral_fix(
        err: Refused, words: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert report_error(err, as_json=False) == err.exit_code
    text = capsys.readouterr().err
    assert f"  fix: {err.fix}\n" in text and "  hint: " in text and words in text
    assert report_error(err, as_json=True) == err.exit_code
    doc = json.loads(capsys.readouterr().out)
    assert doc["errors"][0]["fix"] == err.fix and words in doc["errors"][0]["hint"]


def test_an_error_without_a_hint_prints_none(capsys: pytest.CaptureFixture[str]) -> None:
    err = NotFound("No file", code="not-found", fix="Give a file that exists")
    assert hint(err) is None
    report_error(err, as_json=True)
    assert "hint" not in json.loads(capsys.readouterr().out)["errors"][0]


def test_every_hinted_code_is_one_an_inner_layer_raises() -> None:
    root = Path(uccerts.__file__).parent
    source = "".join(p.read_text(encoding="utf-8") for layer in INNER
                     for p in (root / layer).rglob("*.py"))
    source += (root / "errors.py").read_text(encoding="utf-8")
    missing = [code for code in HINTS if f'"{code}"' not in source]
    assert missing == []
