"""How a runbook's CSR becomes a signed certificate: the manual, lab and ACME CAs
behind one small interface."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from cryptography import x509

from uccerts.domain.model import Node
from uccerts.domain.runbook_options import AcmeSettings
from uccerts.enroll.issued import Issued
from uccerts.errors import UsageError


class Waiting(Exception):
    """The CA has the CSRs and answers later (manual): the runbook pauses here."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Enrollment(Protocol):
    def issue(self, name: str, node: Node, csr: x509.CertificateSigningRequest) -> Issued:
        """The signed certificate for ``csr`` (``name`` like ``cucm-pub-tomcat``), or
        ``Waiting`` when the CA answers later."""


class LabEnrollment:
    def __init__(self, sign: Callable[[bytes], Issued]) -> None:
        self._sign = sign

    def issue(self, name: str, node: Node, csr: x509.CertificateSigningRequest) -> Issued:
        from cryptography.hazmat.primitives.serialization import Encoding

        return self._sign(csr.public_bytes(Encoding.PEM))


class ManualEnrollment:
    """CSRs written to a folder; the administrator's CA answers into the same folder
    and ``runbook import`` (or a resume) picks the answers up, matched by public key."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def issue(self, name: str, node: Node, csr: x509.CertificateSigningRequest) -> Issued:
        from uccerts.enroll.manual import collect, export_csrs

        found = collect(self.folder, {name: csr}) if self.folder.exists() else {}
        if name in found:
            return found[name]
        export_csrs(self.folder, {name: csr})
        raise Waiting(f"The CSR is in {self.folder / (name + '.csr')}: have the CA sign it, "
                      f"put its answer (certificate and CA chain, any file names) in "
                      f"{self.folder}, then run `uccerts runbook import ID {self.folder}`")


class AcmeEnrollment:
    def __init__(self, settings: AcmeSettings | None) -> None:
        self._settings = settings

    def issue(self, name: str, node: Node, csr: x509.CertificateSigningRequest) -> Issued:
        from uccerts.enroll.acme import AcmeEnroller
        from uccerts.enroll.acme import AcmeSettings as Enroller

        found = self._settings
        if found is None or not found.directory:
            raise UsageError("--ca acme needs the ACME directory URL",
                             code="acme-directory-missing",
                             fix="Give the ACME directory URL (https://…/directory)")
        # The chain an ACME CA returns usually stops below its root; without the root
        # the identity upload is refused (ca-not-in-trust-store), so fetch it when the
        # CA publishes it.
        settings = Enroller(directory=found.directory,
                            ca_bundle=Path(found.ca_bundle) if found.ca_bundle else None,
                            http01_port=found.http_port, root_url=found.root_url)
        issued: Issued = AcmeEnroller(settings).issue(csr, answer_on=[node.address])
        return issued
