"""Shared test clusters: the demo topology, a fast key source, CSR signing helpers.

RSA key generation dominates cluster creation (one key per node and purpose), so
tests take keys from ``KeyPool``: distinct within one pool, made once per process.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from cryptography import x509

from uccerts.domain.keys import PrivateKey, generate_key
from uccerts.domain.purposes import KeyType
from uccerts.enroll.labca import LabCA, SignedBundle, SignOptions
from uccerts.resources import example_topology

# The demo cluster: a publisher, a subscriber and an IM and Presence node.
TOPOLOGY = example_topology()

_CACHE: dict[tuple[KeyType, int], list[PrivateKey]] = defaultdict(list)


@dataclass
class KeyPool:
    """A keygen for services: hands out distinct keys, reusing them across tests."""

    used: dict[tuple[KeyType, int], int] = field(default_factory=lambda: defaultdict(int))

    def __call__(self, key_type: KeyType, length: int) -> PrivateKey:
        slot = (key_type, length)
        index = self.used[slot]
        self.used[slot] += 1
        cache = _CACHE[slot]
        while len(cache) <= index:
            cache.append(generate_key(key_type, length))
        return cache[index]


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


_CA: list[LabCA] = []


def lab_ca() -> LabCA:
    if not _CA:
        _CA.append(LabCA.create(now=now()))
    return _CA[0]


def sign(csr_pem: str | bytes, **options: object) -> SignedBundle:
    """Sign a CSR PEM with the (process-wide) lab CA, with SignOptions fields."""
    from uccerts.domain.codec import load_csr

    data = csr_pem.encode() if isinstance(csr_pem, str) else csr_pem
    return lab_ca().sign(load_csr(data), SignOptions(**options), now=now())  # type: ignore[arg-type]


def pem(*certs: x509.Certificate) -> bytes:
    from uccerts.domain.codec import certificates_pem

    return certificates_pem(list(certs)).encode()
