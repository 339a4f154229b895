"""``uccerts decode`` and ``uccerts match`` through the real CLI process (cli.md).

Each test runs the command as a user would, in a fresh interpreter with no home, and
looks at exit codes, stdout and stderr. The last tests compare decode with what
OpenSSL prints for the same files.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID

from cli_runner import Result, run_uccerts

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
PEM = serialization.Encoding.PEM
DER = serialization.Encoding.DER
OPENSSL = shutil.which("openssl")


@dataclass
class Files:
    folder: Path
    cert: Path          # RSA leaf, PEM, UTF-8 subject, DNS + IPv4 + IPv6 SANs
    cert_der: Path
    key: Path           # its private key
    csr: Path           # a CSR for the same key (PEM)
    csr_der: Path
    other_key: Path     # an unrelated EC key
    other_csr: Path     # a CSR for the unrelated key
    chain_p7b: Path     # root and leaf, root first, DER PKCS#7
    root: Path


def _name(**attrs: str) -> x509.Name:
    oids = {"CN": NameOID.COMMON_NAME, "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
            "O": NameOID.ORGANIZATION_NAME, "L": NameOID.LOCALITY_NAME,
            "ST": NameOID.STATE_OR_PROVINCE_NAME, "C": NameOID.COUNTRY_NAME,
            "DC": NameOID.DOMAIN_COMPONENT}
    return x509.Name([x509.NameAttribute(oids[k.rstrip("_")], v) for k, v in attrs.items()])


SUBJECT = _name(C="MX", ST="CDMX", L="Zürich", O="Société Générale", OU="Collaboration",
                CN="pub-ms.uc.example")
ISSUER = _name(DC="mx", DC_="collab", CN="Collab CA")
SANS = ["pub-ms.uc.example", "uc.example", "10.0.0.1", "2001:db8::1"]


def _general_names(names: list[str]) -> list[x509.GeneralName]:
    out: list[x509.GeneralName] = []
    for n in names:
        try:
            out.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            out.append(x509.DNSName(n))
    return out


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    folder = tmp_path_factory.mktemp("tools")
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = (x509.CertificateBuilder().subject_name(ISSUER).issuer_name(ISSUER)
            .public_key(root_key.public_key()).serial_number(1)
            .not_valid_before(NOW).not_valid_after(NOW + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(root_key, hashes.SHA256()))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaf = (x509.CertificateBuilder().subject_name(SUBJECT).issuer_name(ISSUER)
            .public_key(key.public_key())
            .serial_number(0x9A00_0000_2D5A_92EB_EA9A_8565_C400_0000_002D)  # high bit set
            .not_valid_before(NOW).not_valid_after(NOW + dt.timedelta(days=730))
            .add_extension(x509.SubjectAlternativeName(_general_names(SANS)), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(root_key, hashes.SHA256()))
    other = ec.generate_private_key(ec.SECP256R1())

    def request(k: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
                ) -> x509.CertificateSigningRequest:
        return (x509.CertificateSigningRequestBuilder().subject_name(SUBJECT)
                .add_extension(x509.SubjectAlternativeName(_general_names(SANS[:2])),
                               critical=False)
                .sign(k, hashes.SHA256()))

    def write(name: str, data: bytes) -> Path:
        path = folder / name
        path.write_bytes(data)
        return path

    def key_pem(k: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
        return k.private_bytes(PEM, serialization.PrivateFormat.PKCS8,
                               serialization.NoEncryption())

    return Files(
        folder=folder,
        cert=write("leaf.pem", leaf.public_bytes(PEM)),
        cert_der=write("leaf.der", leaf.public_bytes(DER)),
        key=write("leaf.key", key_pem(key)),
        csr=write("leaf.csr", request(key).public_bytes(PEM)),
        csr_der=write("leaf.csr.der", request(key).public_bytes(DER)),
        other_key=write("other.key", key_pem(other)),
        other_csr=write("other.csr", request(other).public_bytes(PEM)),
        chain_p7b=write("chain.p7b", pkcs7.serialize_certificates([root, leaf], DER)),
        root=write("root.pem", root.public_bytes(PEM)),
    )


def uccerts(*args: str | Path, stdin: bytes | None = None, cwd: Path | None = None
            ) -> Result:
    # The offline tools need no home: run them without one.
    return run_uccerts(None, *args, stdin=stdin, cwd=cwd, timeout=60)


# --------------------------------------------------------------------------- decode


def test_decode_certificate_text(files: Files) -> None:
    r = uccerts("decode", files.cert, cwd=files.folder)
    assert r.code == 0, r.err
    assert r.err == ""
    lines = r.out.splitlines()
    assert lines[0] == "Certificate Summary"
    assert "  Organization (O): Société Générale" in lines
    assert "  Issuer: CN = Collab CA, DC = collab, DC = mx" in lines
    assert "  CA cert: No" in lines
    assert "  Key Size: 2048 bits" in lines
    assert "  SANs: pub-ms.uc.example, uc.example, 10.0.0.1, 2001:db8::1" in lines


def test_decode_certificate_json_pem_der_and_stdin(files: Files) -> None:
    by_path = uccerts("decode", files.cert, "--json", cwd=files.folder)
    assert by_path.code == 0, by_path.err
    doc = by_path.json
    assert isinstance(doc, dict)
    assert doc["kind"] == "certificate"
    assert set(doc) == {"kind", "subject", "rdns", "key_type", "key_size", "sha1", "md5",
                        "sans", "public_key_sha256", "issuer", "not_before", "not_after",
                        "serial_hex", "serial_decimal", "is_ca"}
    assert doc["sans"] == SANS
    assert doc["key_type"] == "RSA" and doc["is_ca"] is False
    assert str(doc["not_before"]).endswith("Z")
    assert uccerts("decode", files.cert_der, "--json", cwd=files.folder).json == doc
    piped = uccerts("decode", "-", "--json", stdin=files.cert.read_bytes(), cwd=files.folder)
    assert piped.code == 0 and piped.json == doc


def test_decode_csr(files: Files) -> None:
    r = uccerts("decode", files.csr_der, "--json", cwd=files.folder)
    assert r.code == 0, r.err
    doc = r.json
    assert isinstance(doc, dict)
    assert doc["kind"] == "csr"
    assert "issuer" not in doc and "serial_hex" not in doc
    assert doc["sans"] == SANS[:2]
    text = uccerts("decode", files.csr, cwd=files.folder)
    assert text.code == 0 and text.out.startswith("CSR Summary\n")


def test_decode_pkcs7_bundle_gives_every_certificate(files: Files) -> None:
    r = uccerts("decode", files.chain_p7b, "--json", cwd=files.folder)
    assert r.code == 0, r.err
    docs = r.json
    assert isinstance(docs, list) and len(docs) == 2
    assert sorted(d["is_ca"] for d in docs) == [False, True]
    text = uccerts("decode", files.chain_p7b, cwd=files.folder)
    assert "# Certificate 1 of 2" in text.out and "# Certificate 2 of 2" in text.out
    assert text.out.count("Certificate Summary") == 2


@pytest.mark.parametrize(("content", "detail"), [
    ("key", "private key"),
    (b"\x8f\xff\x00junk that is not UTF-8 \xc3\x28", "binary data"),
    (b"", "empty"),
    ("truncated", "truncated"),
    (b"just some text\n", "text without"),
])
def test_decode_bad_files(files: Files, content: bytes | str, detail: str) -> None:
    if content == "key":
        data = files.key.read_bytes()
    elif content == "truncated":
        data = files.cert.read_bytes()[:300]
    else:
        assert isinstance(content, bytes)
        data = content
    bad = files.folder / "bad.bin"
    bad.write_bytes(data)
    r = uccerts("decode", bad, cwd=files.folder)
    assert r.code == 1
    assert r.out == ""
    assert "Invalid certificate file provided" in r.err
    assert detail in r.err
    assert "Traceback" not in r.err
    assert "PRIVATE KEY" not in r.err
    j = uccerts("decode", bad, "--json", cwd=files.folder)
    assert j.code == 1
    doc = j.json
    assert isinstance(doc, dict) and doc["ok"] is False
    assert doc["errors"][0]["code"] == "invalid-certificate-file"
    assert detail in doc["errors"][0]["detail"]["reason"]


def test_decode_missing_file_is_an_error_not_a_traceback(files: Files) -> None:
    r = uccerts("decode", files.folder / "nope.pem", cwd=files.folder)
    assert r.code in (1, 2)
    assert "nope.pem" in r.err and "Traceback" not in r.err


# --------------------------------------------------------------------------- match


def test_match_key(files: Files) -> None:
    r = uccerts("match", "--cert", files.cert, "--key", files.key, cwd=files.folder)
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines[0] == "The certificate and private key match!"
    assert lines[1].startswith("Certificate Hash: ") and lines[2].startswith("Key Hash: ")
    assert lines[1].split(": ")[1] == lines[2].split(": ")[1]
    assert "PRIVATE" not in r.out + r.err


def test_match_key_mismatch(files: Files) -> None:
    r = uccerts("match", "--cert", files.cert, "--key", files.other_key, cwd=files.folder)
    assert r.code == 1
    assert "The certificate and private key do NOT match!" in r.err
    assert "Certificate Hash: " in r.out and "Key Hash: " in r.out
    j = uccerts("match", "--cert", files.cert, "--key", files.other_key, "--json",
                cwd=files.folder)
    assert j.code == 1
    doc = j.json
    assert isinstance(doc, dict)
    assert set(doc) == {"match", "certificate_hash", "key_hash"}
    assert doc["match"] is False and doc["certificate_hash"] != doc["key_hash"]
    assert len(str(doc["key_hash"])) == 64


def test_match_csr_json_and_stdin(files: Files) -> None:
    r = uccerts("match", "--cert", "-", "--csr", files.csr, "--json",
                stdin=files.cert.read_bytes(), cwd=files.folder)
    assert r.code == 0, r.err
    doc = r.json
    assert isinstance(doc, dict)
    assert doc == {"match": True, "certificate_hash": doc["certificate_hash"],
                   "csr_hash": doc["certificate_hash"]}
    text = uccerts("match", "--cert", files.chain_p7b, "--csr", files.csr, cwd=files.folder)
    assert text.code == 0 and text.out.startswith("The certificate and CSR match!\n")
    bad = uccerts("match", "--cert", files.cert, "--csr", files.other_csr, cwd=files.folder)
    assert bad.code == 1 and "The certificate and CSR do NOT match!" in bad.err


@pytest.mark.parametrize("extra", [[], ["--key", "K", "--csr", "C"]])
def test_match_needs_exactly_one_of_key_and_csr(files: Files, extra: list[str]) -> None:
    args = [a.replace("K", str(files.key)).replace("C", str(files.csr)) for a in extra]
    r = uccerts("match", "--cert", files.cert, *args, cwd=files.folder)
    assert r.code == 2
    assert "--key" in r.err and "--csr" in r.err


def test_match_with_a_key_given_as_certificate(files: Files) -> None:
    r = uccerts("match", "--cert", files.key, "--key", files.key, cwd=files.folder)
    assert r.code == 1
    assert "private key" in r.err and "Traceback" not in r.err
    assert "BEGIN" not in r.out + r.err


# --------------------------------------------------------------------------- vs OpenSSL


def openssl(*args: str | Path) -> str:
    assert OPENSSL is not None
    return subprocess.run([OPENSSL, *map(str, args)], check=True, capture_output=True,
                          timeout=30).stdout.decode("utf-8")


def openssl_name(output: str, field: str) -> list[tuple[str, str]]:
    """(short name, value) pairs of ``field=`` in sep_multiline form, one per line."""
    pairs: list[tuple[str, str]] = []
    inside = False
    for line in output.splitlines():
        if not line.startswith(" "):
            inside = line.startswith(f"{field}=")
            continue
        if inside:
            key, _, value = line.strip().partition(" = ")
            pairs.append((key, value))
    return pairs


def openssl_value(output: str, prefix: str) -> str:
    for line in output.splitlines():
        if line.lower().startswith(prefix.lower()):
            return line.split("=", 1)[1].strip()
    raise AssertionError(f"{prefix} not in {output!r}")


def openssl_sans(output: str) -> list[str]:
    lines = output.splitlines()
    for i, line in enumerate(lines):
        if "Subject Alternative Name" in line:
            names = [n.strip() for n in lines[i + 1].split(",")]
            return [str(ipaddress.ip_address(n.split(":", 1)[1])) if n.startswith("IP")
                    else n.split(":", 1)[1] for n in names]
    return []


def openssl_time(text: str) -> str:
    parsed = dt.datetime.strptime(" ".join(text.split()), "%b %d %H:%M:%S %Y %Z")
    return parsed.strftime("%Y-%m-%dT%H:%M:%SZ")


def decode_pairs(subject_line: str) -> list[tuple[str, str]]:
    """Our ``CN = a, O = b`` line as pairs (the test values hold no ", ")."""
    return [(key, value) for key, _, value in
            (part.partition(" = ") for part in subject_line.split(", "))]


NAMEOPT = ["-nameopt", "sep_multiline,sname,space_eq,utf8"]


def compare_certificate(path: Path, folder: Path) -> None:
    ours = uccerts("decode", path, "--json", cwd=folder).json
    assert isinstance(ours, dict)
    out = openssl("x509", "-in", path, "-noout", "-subject", "-issuer", "-serial", "-dates",
                  "-fingerprint", "-sha1", "-ext", "subjectAltName", *NAMEOPT)
    md5 = openssl("x509", "-in", path, "-noout", "-fingerprint", "-md5")
    subject = openssl_name(out, "subject")
    assert sorted(subject) == sorted(decode_pairs(ours["subject"]))
    assert {k: v for k, v in subject if k in ours["rdns"]} == {
        k: v for k, v in ours["rdns"].items() if v}
    assert sorted(openssl_name(out, "issuer")) == sorted(decode_pairs(ours["issuer"]))
    assert openssl_value(out, "serial=") == ours["serial_hex"]
    assert int(ours["serial_hex"], 16) == int(ours["serial_decimal"])
    assert openssl_time(openssl_value(out, "notBefore=")) == ours["not_before"]
    assert openssl_time(openssl_value(out, "notAfter=")) == ours["not_after"]
    assert openssl_value(out, "sha1 Fingerprint=") == ours["sha1"]
    assert openssl_value(md5, "md5 Fingerprint=") == ours["md5"]
    assert openssl_sans(out) == ours["sans"]


@pytest.mark.skipif(OPENSSL is None, reason="needs the openssl command")
def test_decode_agrees_with_openssl_on_our_certificate(files: Files) -> None:
    compare_certificate(files.cert, files.folder)
    compare_certificate(files.root, files.folder)


@pytest.mark.skipif(OPENSSL is None, reason="needs the openssl command")
def test_decode_agrees_with_openssl_on_an_openssl_certificate(files: Files) -> None:
    key, cert, req = (files.folder / n for n in ("ossl.key", "ossl.pem", "ossl.csr"))
    subj = "/C=MX/ST=CDMX/L=Zürich/O=Collab Lab/OU=Voice/CN=sub.uc.example"
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", key, "-out", cert, "-subj", subj, "-utf8", "-days", "30",
            "-addext", "subjectAltName=DNS:sub.uc.example,IP:10.0.0.2,IP:2001:db8::2")
    openssl("req", "-new", "-key", key, "-out", req, "-subj", subj, "-utf8")
    compare_certificate(cert, files.folder)

    ours = uccerts("decode", req, "--json", cwd=files.folder).json
    assert isinstance(ours, dict) and ours["kind"] == "csr"
    theirs = openssl_name(openssl("req", "-in", req, "-noout", "-subject", *NAMEOPT),
                          "subject")
    assert sorted(theirs) == sorted(decode_pairs(ours["subject"]))
    matched = uccerts("match", "--cert", cert, "--key", key, cwd=files.folder)
    assert matched.code == 0, matched.err
    assert uccerts("match", "--cert", cert, "--csr", req, cwd=files.folder).code == 0
