"""Property tests on the whole upload path: any bytes give a uccerts error or success,
never another exception, and a refusal changes nothing."""

from __future__ import annotations

import functools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clusters import TOPOLOGY, KeyPool, lab_ca, pem, sign
from uccerts.bootstrap import Services, build_from_uow
from uccerts.domain.csr import CsrOptions
from uccerts.errors import UccertsError
from uccerts.storage.memory import MemoryStore

PURPOSES = st.sampled_from(["tomcat", "tomcat-trust", "CallManager", "ipsec-trust", "CAPF",
                            "tomcat-ECDSA", "ITLRecovery", "Phone-trust"])


@functools.cache
def _valid_files() -> tuple[bytes, ...]:
    ca = lab_ca()
    svc = _fresh()
    csr = svc.csrs.generate("cucm-pub", "tomcat", CsrOptions())
    bundle = sign(csr.pem)
    return (pem(bundle.leaf), pem(bundle.leaf, ca.intermediate, ca.root), pem(ca.root))


def _fresh() -> Services:
    svc = build_from_uow(MemoryStore().uow, keygen=KeyPool())
    svc.clusters.init(TOPOLOGY)
    return svc


@functools.cache
def _cluster() -> Services:
    svc = _fresh()
    svc.csrs.generate("cucm-pub", "tomcat", CsrOptions())
    return svc


def _state(svc: Services) -> tuple[object, ...]:
    return (tuple((v.node, v.purpose, v.sha256) for v in svc.certificates.list()),
            tuple((c.node, c.purpose, c.created) for c in svc.csrs.list()))


def _mutations() -> st.SearchStrategy[bytes]:
    def mutate(data: bytes, at: int, cut: bool, junk: bytes) -> bytes:
        at %= max(len(data), 1)
        return data[:at] + (b"" if cut else junk + data[at + len(junk):])

    return st.builds(mutate, st.sampled_from(_valid_files()), st.integers(0, 5000),
                     st.booleans(), st.binary(min_size=1, max_size=8))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.one_of(st.binary(max_size=2048), _mutations()), purpose=PURPOSES,
       node=st.sampled_from(["cucm-pub", "cucm-sub1", "imp-pub"]))
def test_any_bytes_on_any_purpose_fail_cleanly_or_succeed(data: bytes, purpose: str,
                                                          node: str) -> None:
    svc = _cluster()
    before = _state(svc)
    try:
        svc.certificates.upload(node, purpose, data)
    except UccertsError as err:
        assert err.message and err.code
        assert 1 <= err.exit_code <= 2
        assert _state(svc) == before
    else:
        # Only a well-formed CA certificate into a trust store can get through here.
        assert purpose.endswith("-trust")
