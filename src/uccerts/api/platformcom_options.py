"""What the certmgr API offers on this node (``/config/options``, ``/snapshot/options``):
tools ask before they generate a CSR or upload, and expect a 200 JSON answer.

Everything comes from the catalogue (domain.md §2, §4), for the purposes and trust
stores of the node's role: nothing here is a second copy of the rules.
"""

from __future__ import annotations

from typing import Any

from uccerts.domain.keys import DEFAULT_LENGTH, EC_LENGTHS, HASHES, RSA_LENGTHS
from uccerts.domain.model import Distribution
from uccerts.domain.purposes import TRUST_STORES, KeyType, Purpose, Role, purposes_for

_DISTRIBUTIONS = [Distribution.THIS_SERVER.value, Distribution.MULTI_SERVER.value]


def _service(p: Purpose) -> dict[str, Any]:
    return {"service": p.name, "keyType": p.key_type.value.lower(),
            "distributions": _DISTRIBUTIONS if p.san_scope is not None else _DISTRIBUTIONS[:1],
            "csr": not p.self_signed_only, "trustStore": p.trust_store}


def options(hostname: str, role: Role) -> dict[str, Any]:
    return {
        "server": hostname,
        "distributions": _DISTRIBUTIONS,
        "keyTypes": {
            "rsa": {"keyLengths": list(RSA_LENGTHS), "default": DEFAULT_LENGTH[KeyType.RSA]},
            "ec": {"keyLengths": list(EC_LENGTHS), "default": DEFAULT_LENGTH[KeyType.EC]},
        },
        "hashAlgorithms": [h.lower() for h in HASHES],
        "services": [_service(p) for p in purposes_for(role)],
        "trustStores": [s.name for s in TRUST_STORES if role in s.roles],
    }
