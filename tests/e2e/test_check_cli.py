"""``uccerts check`` in a subprocess (``python -m uccerts``): exit codes, JSON, text.

The command is offline: the home it is given does not exist and must not be created.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from cli_runner import Result, run_uccerts
from tests import pki
from tests.pki import CA, make_csr

SEED_SANS = ["domain.com", "sub.domain.com", "pub.domain.com", "imp.domain.com"]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CSR, a good and a bad certificate, the CAs, and some files that are not
    certificates. Real dates: the command reads the clock."""
    d = tmp_path_factory.mktemp("check")
    now = dt.datetime.now(dt.UTC)
    root = CA.root("Check Root", not_before=now - 30 * pki.DAY)
    issuing = root.intermediate("Check Issuing CA", not_before=now - 20 * pki.DAY)
    csr, key = make_csr("domain.com", SEED_SANS)
    good = issuing.sign_csr(csr, not_before=now - pki.DAY)
    seed = issuing.sign_csr(csr, add_sans=["sub-ms.domain.com", "*.domain.com"],
                            not_before=now - pki.DAY)
    weak = issuing.sign_csr(csr, not_before=now - pki.DAY, key_usage={"digital_signature"})
    (d / "csr.pem").write_bytes(pki.csr_pem(csr))
    (d / "good-chain.pem").write_bytes(pki.pem(good, issuing.cert))
    (d / "good.pem").write_bytes(pki.pem(good))
    (d / "seed.pem").write_bytes(pki.pem(seed, issuing.cert))
    (d / "weak.pem").write_bytes(pki.pem(weak, issuing.cert))
    (d / "root.pem").write_bytes(pki.pem(root.cert))
    (d / "cas.pem").write_bytes(pki.pem(root.cert, issuing.cert))
    (d / "random.bin").write_bytes(os.urandom(700))
    (d / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return d


def check(files: Path, *args: str) -> Result:
    result = run_uccerts(files / "no-home", "check", *args, cwd=files, timeout=60)
    assert not (files / "no-home").exists()
    return result


def test_upload_that_would_succeed(files: Path) -> None:
    run = check(files, "tomcat", "--csr", "csr.pem", "--cert", "good-chain.pem",
                "--ca", "root.pem", "--json")
    assert run.code == 0, run.out
    assert run.json == {"ok": True, "errors": [], "warnings": []}


def test_ca_files_play_the_trust_store(files: Path) -> None:
    assert check(files, "TOMCAT", "--csr", "csr.pem", "--cert", "good.pem",
                 "--ca", "cas.pem").code == 0
    alone = check(files, "tomcat", "--csr", "csr.pem", "--cert", "good.pem", "--json")
    assert alone.code == 1
    assert [e["code"] for e in alone.json["errors"]] == ["ca-not-in-trust-store"]


def test_seed_example_json(files: Path) -> None:
    run = check(files, "tomcat", "--csr", "csr.pem", "--cert", "seed.pem", "--ca", "root.pem",
                "--json")
    assert run.code == 1
    doc = run.json
    assert doc["ok"] is False and doc["warnings"] == []
    assert [e["code"] for e in doc["errors"]] == ["wildcard-not-supported", "csr-san-mismatch"]
    for finding in doc["errors"]:
        assert set(finding) == {"code", "message", "detail", "fix"}
    san = doc["errors"][1]
    assert san["message"] == "CSR subject alternate name (SAN) and certificate SAN do not match"
    assert san["detail"]["added"] == ["sub-ms.domain.com", "*.domain.com"]
    assert san["detail"]["dropped"] == []


def test_seed_example_text(files: Path) -> None:
    run = check(files, "tomcat", "--csr", "csr.pem", "--cert", "seed.pem", "--ca", "root.pem")
    assert run.code == 1 and run.out == ""
    assert "error [wildcard-not-supported]: Wildcard certificates are not supported" in run.err
    assert "added: sub-ms.domain.com, *.domain.com" in run.err
    assert run.err.count("  fix: ") == 2


def test_key_usage_warning_and_strict(files: Path) -> None:
    run = check(files, "tomcat", "--csr", "csr.pem", "--cert", "weak.pem", "--ca", "root.pem")
    assert run.code == 0
    assert "OK: the certificate can be uploaded for tomcat (1 warning(s))" in run.out
    assert "warning [key-usage-missing]: Certificate is missing key usage required for " \
           "tomcat: keyEncipherment, dataEncipherment" in run.err
    strict = check(files, "tomcat", "--csr", "csr.pem", "--cert", "weak.pem",
                   "--ca", "root.pem", "--strict", "--json")
    assert strict.code == 1
    assert [e["code"] for e in strict.json["errors"]] == ["key-usage-missing"]


def test_san_match_superset(files: Path) -> None:
    run = check(files, "tomcat-ECDSA", "--csr", "csr.pem", "--cert", "seed.pem",
                "--ca", "root.pem", "--san-match", "superset", "--json")
    assert [e["code"] for e in run.json["errors"]] == ["wildcard-not-supported",
                                                       "key-type-mismatch"]


@pytest.mark.parametrize(("option", "bad"), [("--cert", "random.bin"), ("--cert", "key.pem"),
                                             ("--cert", "csr.pem"), ("--ca", "random.bin")])
def test_bad_certificate_files(files: Path, option: str, bad: str) -> None:
    args = {"--csr": "csr.pem", "--cert": "good-chain.pem", "--ca": "root.pem"} | {option: bad}
    run = check(files, "tomcat", *[x for kv in args.items() for x in kv], "--json")
    assert run.code == 1
    [error] = run.json["errors"]
    assert error["code"] == "invalid-certificate-file"
    assert error["message"] == "Invalid certificate file provided"
    assert error["detail"]["option"] == option and error["detail"]["file"] == bad
    text = check(files, "tomcat", *[x for kv in args.items() for x in kv])
    assert text.code == 1
    assert "error [invalid-certificate-file]: Invalid certificate file provided" in text.err


def test_bad_csr_and_missing_file(files: Path) -> None:
    run = check(files, "tomcat", "--csr", "good.pem", "--cert", "good.pem", "--json")
    assert run.code == 1 and run.json["errors"][0]["code"] == "invalid-csr"
    missing = check(files, "tomcat", "--csr", "nope.pem", "--cert", "good.pem", "--json")
    assert missing.code == 1 and missing.json["ok"] is False


def test_usage_errors_exit_2(files: Path) -> None:
    assert check(files, "tomcat-trust", "--csr", "csr.pem", "--cert", "good.pem").code == 2
    assert check(files, "tomcat", "--cert", "good.pem").code == 2
    assert check(files, "tomcat", "--csr", "csr.pem", "--cert", "good.pem",
                 "--san-match", "loose").code == 2
