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

TOPOLOGY = """
[cluster]
name = "lab"
domain = "uc.example"
security_mode = 0
sso_enabled = false

[web_security]
orgunit = "Collaboration"
orgname = "Example"
locality = "CUCM"
state = "CDMX"
country = "MX"

[[nodes]]
name = "cucm-pub"
role = "publisher"
address = "127.0.1.1"

[[nodes]]
name = "cucm-sub1"
role = "subscriber"
address = "127.0.1.2"

[[nodes]]
name = "imp-pub"
role = "imp"
address = "127.0.1.3"

[phones]
count = 20
"""

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
