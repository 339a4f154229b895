"""Use cases of the lab CA kept in the home folder (cli.md "Lab CA").

Layout of ``Settings.ca_dir`` (``<home>/ca/``)::

    root.pem                  intermediate.pem          certificates, PEM
    root.key.sealed           intermediate.key.sealed   PKCS#8 keys sealed with the
                                                        home's master key

The folder is written whole or not at all: it is assembled in a temporary folder
beside it and renamed into place, so a crash never leaves half a CA, and a second
``init`` (even a concurrent one) finds the first CA instead of replacing it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography import x509

from uccerts.config import Settings
from uccerts.domain import codec
from uccerts.domain.names import subject_line
from uccerts.enroll.labca import LabCA, SignedBundle, SignOptions
from uccerts.errors import InvalidInput, NotFound, SystemFailure
from uccerts.services.views import sha256_of
from uccerts.storage.secrets import Sealer, load_or_create_master_key

ROOT_PEM = "root.pem"
INTERMEDIATE_PEM = "intermediate.pem"
ROOT_KEY = "root.key.sealed"
INTERMEDIATE_KEY = "intermediate.key.sealed"
# Sealing contexts bind each blob to its role: a root key blob cannot pass as another.
ROOT_KEY_CONTEXT = "lab-ca/root-key"
INTERMEDIATE_KEY_CONTEXT = "lab-ca/intermediate-key"
BUNDLE_FILES = ("root.pem", "intermediate.pem", "leaf.pem", "chain.p7b")


@dataclass(frozen=True)
class CaCertInfo:
    subject: str  # ``CN = …, O = …`` as ``uccerts decode`` writes it
    serial: int
    not_after: datetime
    sha256: str  # of the DER certificate, lower-case hex

    @classmethod
    def of(cls, cert: x509.Certificate) -> CaCertInfo:
        return cls(subject_line(cert.subject), cert.serial_number,
                   cert.not_valid_after_utc, sha256_of(cert))


@dataclass(frozen=True)
class CaInfo:
    folder: Path
    created: bool  # False: the CA already existed and was left as it was
    root: CaCertInfo
    intermediate: CaCertInfo


class LabCaService:
    def __init__(self, settings: Settings, clock: Callable[[], datetime]) -> None:
        self._settings = settings
        self._clock = clock

    @property
    def folder(self) -> Path:
        return self._settings.ca_dir

    def init(self) -> CaInfo:
        """Create the lab CA, or describe the existing one (never replaced)."""
        if self.folder.exists():
            return self._info(self.load(), created=False)
        ca = LabCA.create(now=self._clock())
        if not self._install(ca):
            return self._info(self.load(), created=False)  # another init won the race
        return self._info(ca, created=True)

    def load(self) -> LabCA:
        if not self.folder.exists():
            raise NotFound("There is no lab CA in this home", code="lab-ca-missing",
                           fix="Create the lab CA first")
        try:
            blobs = {n: (self.folder / n).read_bytes()
                     for n in (ROOT_PEM, INTERMEDIATE_PEM, ROOT_KEY, INTERMEDIATE_KEY)}
        except OSError as exc:
            raise self._damaged(f"cannot read {exc.filename}: {exc.strerror}") from exc
        sealer = self._sealer()
        try:
            return LabCA.from_bytes(
                blobs[ROOT_PEM], blobs[INTERMEDIATE_PEM],
                sealer.open(blobs[ROOT_KEY], ROOT_KEY_CONTEXT),
                sealer.open(blobs[INTERMEDIATE_KEY], INTERMEDIATE_KEY_CONTEXT),
            )
        except InvalidInput as exc:
            raise self._damaged(exc.message) from exc

    def sign(self, csr_pem: bytes, options: SignOptions) -> SignedBundle:
        if not csr_pem.strip():
            raise InvalidInput("The CSR file is empty", code="invalid-csr",
                               fix="Give the file holding BEGIN CERTIFICATE REQUEST")
        csr = codec.load_csr(csr_pem)
        return self.load().sign(csr, options, now=self._clock())

    def write_bundle(self, bundle: SignedBundle, out_dir: Path) -> list[Path]:
        """Write root.pem, intermediate.pem, leaf.pem and chain.p7b into ``out_dir``.

        Every file is written under a temporary name first and only then renamed, so a
        failure part-way leaves the folder's earlier files as they were.
        """
        contents = {
            "root.pem": codec.certificate_pem(bundle.root).encode("ascii"),
            "intermediate.pem": codec.certificate_pem(bundle.intermediate).encode("ascii"),
            "leaf.pem": codec.certificate_pem(bundle.leaf).encode("ascii"),
            "chain.p7b": bundle.p7b_der(),
        }
        out_dir.mkdir(parents=True, exist_ok=True)
        staged: list[tuple[Path, Path]] = []
        try:
            for name in BUNDLE_FILES:
                tmp = out_dir / f".{name}.tmp-{os.getpid()}"
                tmp.write_bytes(contents[name])
                staged.append((tmp, out_dir / name))
            for tmp, final in staged:
                tmp.replace(final)
        finally:
            for tmp, _ in staged:
                tmp.unlink(missing_ok=True)
        return [final for _, final in staged]

    # --- internals ----------------------------------------------------------------

    def _sealer(self) -> Sealer:
        self._settings.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = load_or_create_master_key(self._settings.master_key_path,
                                        self._settings.master_key_b64)
        return Sealer(key)

    def _install(self, ca: LabCA) -> bool:
        """Write the CA folder in one rename; False when a CA appeared meanwhile."""
        sealer = self._sealer()
        root_pem, int_pem = ca.certificate_pems()
        root_key, int_key = ca.private_key_bytes()
        files = {
            ROOT_PEM: root_pem,
            INTERMEDIATE_PEM: int_pem,
            ROOT_KEY: sealer.seal(root_key, ROOT_KEY_CONTEXT),
            INTERMEDIATE_KEY: sealer.seal(int_key, INTERMEDIATE_KEY_CONTEXT),
        }
        staging = Path(tempfile.mkdtemp(prefix=".ca-", dir=self._settings.home))
        try:
            for name, data in files.items():
                (staging / name).write_bytes(data)
                (staging / name).chmod(0o600)
            try:
                staging.rename(self.folder)
            except OSError:
                if self.folder.exists():
                    return False
                raise
            return True
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _info(self, ca: LabCA, *, created: bool) -> CaInfo:
        return CaInfo(self.folder, created, CaCertInfo.of(ca.root),
                      CaCertInfo.of(ca.intermediate))

    def _damaged(self, why: str) -> SystemFailure:
        return SystemFailure(f"The lab CA in {self.folder} is damaged: {why}",
                             code="lab-ca-damaged",
                             fix=f"Move {self.folder} aside and create a new lab CA")
