"""What every CA adapter hands back: a leaf and the CA certificates above it.

The manual CA (files), the lab CA and ACME all end in an ``Issued``, so the runbook
that uploads the result does not care which ``--ca`` signed it.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509

from uccerts.domain import codec
from uccerts.enroll.labca import SignedBundle


@dataclass(frozen=True)
class Issued:
    """A signed leaf, the intermediates above it (nearest first) and the root when
    known (the lab CA's, a self-signed CA found in the manual folder, pebble's)."""

    leaf: x509.Certificate
    intermediates: tuple[x509.Certificate, ...] = ()
    root: x509.Certificate | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "intermediates", tuple(self.intermediates))

    @property
    def chain(self) -> tuple[x509.Certificate, ...]:
        """Leaf first, root last (when known): the order of a TLS chain."""
        top = (self.root,) if self.root is not None else ()
        return (self.leaf, *self.intermediates, *top)

    @property
    def ca_certificates(self) -> tuple[x509.Certificate, ...]:
        """Root first, then down to the leaf's issuer: the order to upload them into
        ``<purpose>-trust`` (domain.md §10)."""
        return tuple(reversed(self.chain[1:]))

    def chain_pem(self) -> bytes:
        return codec.certificates_pem(list(self.chain)).encode("ascii")

    @classmethod
    def from_bundle(cls, bundle: SignedBundle) -> Issued:
        """The lab CA's answer in the shared shape."""
        return cls(bundle.leaf, (bundle.intermediate,), bundle.root)
