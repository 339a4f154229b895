"""``uccerts ca``, driven as a user would: a fresh process per command, a temporary home."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from uccerts.domain.names import sans_of
from uccerts.storage.secrets import Sealer, load_or_create_master_key

KEY_FILES = ("root.key.sealed", "intermediate.key.sealed")
BUNDLE = ["root.pem", "intermediate.pem", "leaf.pem", "chain.p7b"]
needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


def _entry() -> list[str]:
    if importlib.util.find_spec("uccerts.__main__") is not None:
        return [sys.executable, "-m", "uccerts"]
    return [sys.executable, "-c", "from uccerts.launcher import run; run()"]


def uccerts(home: Path, *args: str, stdin: bytes | None = None
            ) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("UCCERTS_")}
    return subprocess.run([*_entry(), "--home", str(home), *args], input=(
        stdin.decode() if stdin is not None else None), capture_output=True, text=True,
        env=env, timeout=60, check=False)


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("home")
    ok(uccerts(path, "ca", "init"))
    return path


def make_csr(tmp_path: Path, sans: tuple[str, ...] = ("pub.uc.example", "uc.example")
             ) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pub.uc.example")]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(s) for s in sans]), False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                              ExtendedKeyUsageOID.CLIENT_AUTH]), False)
        .sign(key, hashes.SHA256())
    )
    path = tmp_path / "pub.csr"
    path.write_bytes(csr.public_bytes(serialization.Encoding.PEM))
    return path


def leaf_of(out: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate((out / "leaf.pem").read_bytes())


# --- init ------------------------------------------------------------------------------


def test_init_twice_keeps_the_same_root(tmp_path: Path) -> None:
    first = json.loads(ok(uccerts(tmp_path, "ca", "init", "--json")).stdout)
    root_pem = (tmp_path / "ca" / "root.pem").read_bytes()
    second = json.loads(ok(uccerts(tmp_path, "ca", "init", "--json")).stdout)
    assert first["created"] is True and second["created"] is False
    assert first["root"] == second["root"]
    assert first["intermediate"] == second["intermediate"]
    assert (tmp_path / "ca" / "root.pem").read_bytes() == root_pem
    assert first["root"]["not_after"].endswith("Z")


def test_private_keys_in_the_home_are_sealed(home: Path) -> None:
    sealer = Sealer(load_or_create_master_key(home / "master.key", None))
    for name, context in zip(KEY_FILES, ("lab-ca/root-key", "lab-ca/intermediate-key"),
                             strict=True):
        blob = (home / "ca" / name).read_bytes()
        assert b"PRIVATE KEY" not in blob
        key = sealer.open_key(blob, context)
        cert = x509.load_pem_x509_certificate(
            (home / "ca" / name.replace(".key.sealed", ".pem")).read_bytes())
        assert key.public_key() == cert.public_key()
        for fmt in (serialization.PrivateFormat.PKCS8,
                    serialization.PrivateFormat.TraditionalOpenSSL):
            der = key.private_bytes(serialization.Encoding.DER, fmt,
                                    serialization.NoEncryption())
            assert der not in blob and der[-64:] not in blob


# --- sign ------------------------------------------------------------------------------


def test_sign_writes_the_bundle_with_the_asked_sans(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = ok(uccerts(home, "ca", "sign", str(make_csr(tmp_path)), "-o", str(out),
                        "--drop-san", "uc.example", "--add-san", "sub-ms.uc.example",
                        "--add-san", "10.0.0.9", "--json"))
    doc = json.loads(result.stdout)
    assert sorted(Path(p).name for p in doc["files"]) == sorted(BUNDLE)
    assert sorted(p.name for p in out.iterdir()) == sorted(BUNDLE)
    leaf = leaf_of(out)
    intermediate = x509.load_pem_x509_certificate((out / "intermediate.pem").read_bytes())
    assert sans_of(leaf) == ["pub.uc.example", "sub-ms.uc.example", "10.0.0.9"]
    assert doc["sans"] == sans_of(leaf)
    assert leaf.issuer == intermediate.subject
    assert doc["subject"] == "CN = pub.uc.example"
    assert doc["serial"] == format(leaf.serial_number, "x")
    assert doc["not_after"] == leaf.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert (home / "ca" / "root.pem").read_bytes() == (out / "root.pem").read_bytes()


def test_sign_reads_stdin_and_reports_in_text(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = ok(uccerts(home, "ca", "sign", "-", "-o", str(out),
                        stdin=make_csr(tmp_path).read_bytes()))
    assert "leaf.pem" in result.stdout and "chain.p7b" in result.stdout
    assert leaf_of(out).subject.rfc4514_string() == "CN=pub.uc.example"


def test_sign_makes_the_mistakes_it_is_asked_for(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    ok(uccerts(home, "ca", "sign", str(make_csr(tmp_path)), "-o", str(out),
               "--not-before", "2020-01-01T00:00:00Z", "--days", "2", "--no-client-auth"))
    leaf = leaf_of(out)
    assert leaf.not_valid_before_utc == datetime(2020, 1, 1, tzinfo=UTC)
    assert leaf.not_valid_after_utc == datetime(2020, 1, 3, tzinfo=UTC)
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]


@needs_openssl
def test_openssl_verifies_the_leaf_and_reads_the_p7b(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    ok(uccerts(home, "ca", "sign", str(make_csr(tmp_path)), "-o", str(out)))
    verify = subprocess.run(
        ["openssl", "verify", "-CAfile", "root.pem", "-untrusted", "intermediate.pem",
         "leaf.pem"], cwd=out, capture_output=True, text=True, check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    printed = subprocess.run(
        ["openssl", "pkcs7", "-print_certs", "-in", "chain.p7b", "-inform", "DER"],
        cwd=out, capture_output=True, text=True, check=False)
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.count("-----BEGIN CERTIFICATE-----") == 3


# --- errors ----------------------------------------------------------------------------


def test_a_missing_csr_file_is_a_clear_error(home: Path, tmp_path: Path) -> None:
    result = uccerts(home, "ca", "sign", str(tmp_path / "nope.csr"), "-o", str(tmp_path))
    assert result.returncode == 1
    assert "nope.csr" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("content", [b"", b"not a csr\n",
                                     b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n"
                                     b"-----END CERTIFICATE REQUEST-----\n"])
def test_a_bad_csr_file_is_refused(home: Path, tmp_path: Path, content: bytes) -> None:
    bad = tmp_path / "bad.csr"
    bad.write_bytes(content)
    result = uccerts(home, "ca", "sign", str(bad), "-o", str(tmp_path / "out"), "--json")
    assert result.returncode == 1, result.stderr
    doc = json.loads(result.stdout)
    assert doc["ok"] is False and doc["errors"][0]["message"]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_sign_without_a_ca_says_how_to_make_one(tmp_path: Path) -> None:
    result = uccerts(tmp_path / "empty", "ca", "sign", str(make_csr(tmp_path)),
                     "-o", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "uccerts ca init" in result.stderr
    assert not (tmp_path / "empty" / "ca").exists()


def test_a_bad_time_is_a_usage_error(home: Path, tmp_path: Path) -> None:
    result = uccerts(home, "ca", "sign", str(make_csr(tmp_path)), "-o", str(tmp_path),
                     "--not-before", "next tuesday")
    assert result.returncode == 2
    assert "ISO 8601" in result.stderr and "Traceback" not in result.stderr
