"""The manual CA: CSRs go out as files, the signed certificates come back as files.

``export_csrs`` writes one ``<name>.csr`` (PEM) per CSR into a folder that the
administrator hands to the CA. ``collect`` reads back whatever the CA returned into
that folder, whatever the files are called and however they are encoded (PEM, bundles,
DER, PKCS#7): CA replies are named ``certnew.cer``, ``reply1.p7b``, ``bundle.pem``...
so a certificate is matched to its CSR by PUBLIC KEY, never by file name, and its chain
is built from the CA certificates found in the same folder by name and signature.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path

from cryptography import x509

from uccerts.domain import codec
from uccerts.domain.chain import MAX_DEPTH, is_ca, is_self_signed, signed_by
from uccerts.domain.keys import public_key_hash
from uccerts.enroll.issued import Issued
from uccerts.errors import InvalidInput, NotFound, SystemFailure, UsageError

CSR_SUFFIX = ".csr"
# A CSR name becomes a file name: letters, digits, dot, dash, underscore; no path.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def export_csrs(folder: Path, csrs: Mapping[str, x509.CertificateSigningRequest]
                ) -> list[Path]:
    """Write ``<name>.csr`` (PEM) for each CSR, atomically; create ``folder`` first."""
    for name in csrs:
        if not _NAME.fullmatch(name):
            raise UsageError(f"'{name}' cannot be a CSR file name", code="invalid-csr-name",
                             fix="Use letters, digits, '.', '-' and '_' only, e.g. "
                                 "cucm-pub-tomcat")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return [_write_atomically(folder / f"{name}{CSR_SUFFIX}",
                                  codec.csr_pem(csr).encode("ascii"))
                for name, csr in csrs.items()]
    except OSError as exc:
        raise SystemFailure(f"Cannot write the CSRs into {folder}", code="csr-export-failed",
                            detail=str(exc),
                            fix="Choose a folder this user can create and write") from exc


def _write_atomically(path: Path, data: bytes) -> Path:
    """Readers of the folder (or the CA's drop box) never see half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)  # a CSR is public; the CA's operator must read it
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def collect(folder: Path, csrs: Mapping[str, x509.CertificateSigningRequest]
            ) -> dict[str, Issued]:
    """The certificates in ``folder`` that answer ``csrs``, by CSR name.

    Every regular file is read except ``*.csr``; files that hold no certificate
    (keys, notes, damaged or oversized files) are skipped without error. A CSR with no
    certificate in the folder is absent from the result; a certificate whose key
    matches no CSR is ignored. When several certificates answer one CSR, the most
    recently issued (latest notBefore, then latest notAfter) wins.
    """
    if not folder.is_dir():
        raise NotFound(f"The folder {folder} does not exist", code="folder-not-found",
                       fix="Give the folder the CSRs were exported to and the CA's "
                           "replies were saved in")
    pool = _certificates_in(folder)
    cas = [c for c in pool if is_ca(c)]
    wanted = {public_key_hash(csr.public_key()): name for name, csr in csrs.items()}
    best: dict[str, x509.Certificate] = {}
    for cert in pool:
        key = _key_hash(cert)
        name = wanted.get(key) if key is not None else None
        if name is not None and (name not in best or _newer(cert, best[name])):
            best[name] = cert
    return {name: _with_chain(leaf, cas) for name, leaf in best.items()}


def _certificates_in(folder: Path) -> list[x509.Certificate]:
    """Every certificate in every readable file, once each, in file-name order."""
    seen: set[bytes] = set()
    out: list[x509.Certificate] = []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() == CSR_SUFFIX:
            continue
        for cert in _read(path):
            der = codec.certificate_der(cert)
            if der not in seen:
                seen.add(der)
                out.append(cert)
    return out


def _read(path: Path) -> list[x509.Certificate]:
    try:
        # Regular files only: a FIFO or device would block or never end.
        if not path.is_file() or path.stat().st_size > codec.MAX_FILE_BYTES:
            return []
        return codec.load_certificates(path.read_bytes())
    except (OSError, InvalidInput):
        return []


def _key_hash(cert: x509.Certificate) -> str | None:
    try:
        return public_key_hash(cert.public_key())
    except (ValueError, TypeError):  # a key type cryptography cannot load
        return None


def _newer(a: x509.Certificate, b: x509.Certificate) -> bool:
    return (a.not_valid_before_utc, a.not_valid_after_utc) > (
        b.not_valid_before_utc, b.not_valid_after_utc)


def _with_chain(leaf: x509.Certificate, cas: list[x509.Certificate]) -> Issued:
    """Climb from the leaf through the folder's CA certificates that name and signed
    each step; stop at a self-signed root, a missing issuer or ``MAX_DEPTH``."""
    intermediates: list[x509.Certificate] = []
    current = leaf
    used = {codec.certificate_der(leaf)}
    for _ in range(MAX_DEPTH):
        issuer = next((ca for ca in cas if codec.certificate_der(ca) not in used
                       and signed_by(current, ca)), None)
        if issuer is None:
            break
        if is_self_signed(issuer):
            return Issued(leaf, tuple(intermediates), issuer)
        intermediates.append(issuer)
        used.add(codec.certificate_der(issuer))
        current = issuer
    return Issued(leaf, tuple(intermediates), None)
