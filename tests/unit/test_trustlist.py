"""trustlist: ITL, CTL and config files — stable bytes, strict reading, has()."""

from __future__ import annotations

import dataclasses
import functools
import json
import random
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.pki import CA, EC_LEAF_KU, NOW, RSA_LEAF_KU, pem
from uccerts.domain.signedfile import INVALID, KEY_MISMATCH, cert_sha256, sign_file
from uccerts.domain.trustlist import (
    CONFIG_INVALID,
    ITL_EMPTY,
    TRUST_LIST_INVALID,
    PhoneConfig,
    TrustList,
    TrustRecord,
    TrustRole,
    build_config,
    build_ctl,
    build_itl,
    itl_records,
    read_config,
    read_trust_list,
)
from uccerts.errors import InvalidInput

PROPERTY = settings(max_examples=100, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def identity(cn: str, key_type: str = "rsa") -> CA:
    return _identity(cn, key_type)


@functools.cache
def _identity(cn: str, key_type: str) -> CA:
    usage = RSA_LEAF_KU if key_type == "rsa" else EC_LEAF_KU
    return CA.root(cn, key_type=key_type, ca=False, key_usage=usage)


CM_PUB, CM_SUB = identity("cm-pub"), identity("cm-sub")
TVS_PUB, TVS_SUB = identity("tvs-pub"), identity("tvs-sub")
CAPF, RECOVERY = identity("capf"), identity("itlrecovery")

CLUSTER = [
    ("cucm-sub", "CallManager", CM_SUB.cert),
    ("cucm-pub", "TVS", TVS_PUB.cert),
    ("cucm-pub", "tomcat", identity("tomcat").cert),
    ("cucm-pub", "ITLRecovery", RECOVERY.cert),
    ("cucm-pub", "CAPF", CAPF.cert),
    ("cucm-sub", "TVS", TVS_SUB.cert),
    ("cucm-pub", "callmanager", CM_PUB.cert),
]
ORDER = [(TrustRole.CCM_TFTP, "cucm-pub"), (TrustRole.CCM_TFTP, "cucm-sub"),
         (TrustRole.TVS, "cucm-pub"), (TrustRole.TVS, "cucm-sub"),
         (TrustRole.CAPF, "cucm-pub"), (TrustRole.SAST, "cucm-pub")]


def itl_bytes(signer: CA = CM_PUB) -> bytes:
    return build_itl(itl_records(CLUSTER), signer.cert, signer.key, issued=NOW)


def code_of(call: Any, *args: Any, **kwargs: Any) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        call(*args, **kwargs)
    return caught.value


# ------------------------------------------------------------------ records


def test_itl_records_maps_purposes_to_roles_and_ignores_others() -> None:
    records = itl_records(CLUSTER)
    assert [(r.role, r.node) for r in records] == ORDER
    assert identity("tomcat").cert not in [r.certificate for r in records]
    assert records[0].certificate == CM_PUB.cert
    assert records[0].sha256 == CM_PUB.cert.fingerprint(hashes.SHA256()).hex()


def test_itl_records_drops_duplicates() -> None:
    twice = itl_records([*CLUSTER, ("cucm-pub", "CallManager", CM_PUB.cert)])
    assert twice == itl_records(CLUSTER)


# ------------------------------------------------------------------ ITL / CTL


def test_itl_round_trip() -> None:
    data = itl_bytes()
    itl = read_trust_list(data, "ITL")
    assert itl.kind == "ITL"
    assert [(r.role, r.node) for r in itl.records] == ORDER
    assert itl.records == itl_records(CLUSTER)
    assert itl.signer == CM_PUB.cert
    assert itl.signer_sha256 == cert_sha256(CM_PUB.cert)
    assert itl.raw == data
    body = json.loads(data)["body"]
    assert body["version"] == 1
    assert body["issued"] == "2026-06-01T12:00:00Z"
    assert body["records"][0] == {"role": "CCM+TFTP", "node": "cucm-pub",
                                  "certificate": pem(CM_PUB.cert).decode()}


def test_same_records_in_any_order_give_the_same_bytes() -> None:
    shuffled = list(itl_records(CLUSTER))
    random.Random(7).shuffle(shuffled)
    assert build_itl(shuffled, CM_PUB.cert, CM_PUB.key, issued=NOW) == itl_bytes()
    assert itl_bytes() == itl_bytes()


def test_issued_naive_time_is_utc() -> None:
    naive = build_itl(itl_records(CLUSTER), CM_PUB.cert, CM_PUB.key,
                      issued=NOW.replace(tzinfo=None))
    assert naive == itl_bytes()


def test_ec_signer() -> None:
    signer = identity("cm-ec", "ec")
    data = build_itl(itl_records(CLUSTER), signer.cert, signer.key, issued=NOW)
    assert read_trust_list(data, "ITL").signer == signer.cert


def test_empty_itl_is_refused() -> None:
    error = code_of(build_itl, [], CM_PUB.cert, CM_PUB.key, issued=NOW)
    assert error.code == ITL_EMPTY


def test_key_mismatch_is_refused() -> None:
    error = code_of(build_itl, itl_records(CLUSTER), CM_PUB.cert, CM_SUB.key, issued=NOW)
    assert error.code == KEY_MISMATCH


def test_ctl_round_trip_and_kinds_are_not_interchangeable() -> None:
    records = [TrustRecord(TrustRole.SAST, "cucm-pub", RECOVERY.cert),
               TrustRecord(TrustRole.CCM_TFTP, "cucm-pub", CM_PUB.cert)]
    data = build_ctl(records, RECOVERY.cert, RECOVERY.key, issued=NOW)
    ctl = read_trust_list(data, "CTL")
    assert ctl.kind == "CTL"
    assert [r.role for r in ctl.records] == [TrustRole.CCM_TFTP, TrustRole.SAST]
    assert code_of(read_trust_list, data, "ITL").code == INVALID
    assert code_of(read_trust_list, itl_bytes(), "CTL").code == INVALID
    assert code_of(read_trust_list, itl_bytes(), "CONFIG").code == TRUST_LIST_INVALID


def test_has_with_and_without_roles() -> None:
    itl = read_trust_list(itl_bytes(), "ITL")
    tvs = cert_sha256(TVS_PUB.cert)
    assert itl.has(tvs)
    assert itl.has(tvs, {TrustRole.TVS})
    assert itl.has(tvs, [TrustRole.CAPF, TrustRole.TVS])
    assert not itl.has(tvs, {TrustRole.CCM_TFTP})
    assert not itl.has(tvs, ())
    assert not itl.has(cert_sha256(identity("tomcat").cert))
    assert not itl.has("")
    # The seed's display form (AA:BB:...) is the same fingerprint.
    colon = ":".join(f"{b:02X}" for b in TVS_PUB.cert.fingerprint(hashes.SHA256()))
    assert itl.has(colon, {TrustRole.TVS})


def test_reads_are_memoised_and_immutable() -> None:
    data = itl_bytes()
    first = read_trust_list(data, "ITL")
    assert read_trust_list(bytes(bytearray(data)), "ITL") is first
    assert isinstance(first.records, tuple)
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.records = ()  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.records[0].node = "evil"  # type: ignore[misc]


def test_trust_list_equality_ignores_the_index() -> None:
    itl = read_trust_list(itl_bytes(), "ITL")
    copy = TrustList(itl.kind, itl.records, itl.signer, itl.raw, itl.sha256)
    assert copy == itl
    assert hash(copy) == hash(itl)


def _signed_itl(body: dict[str, Any]) -> bytes:
    return sign_file("ITL", body, CM_PUB.cert, CM_PUB.key)


def _record(**change: Any) -> dict[str, Any]:
    return {"role": "TVS", "node": "cucm-pub", "certificate": pem(TVS_PUB.cert).decode(),
            **change}


def _body(**change: Any) -> dict[str, Any]:
    return {"version": 1, "issued": "2026-06-01T12:00:00Z", "records": [_record()],
            **change}


@pytest.mark.parametrize(("body", "detail"), [
    ({"version": 1, "issued": "2026-06-01T12:00:00Z"}, "has no records"),
    (_body(extra=1), "unexpected field 'extra'"),
    (_body(version=2), "version 2 is not supported"),
    (_body(version=True), "version True is not supported"),
    (_body(issued="2026-06-01 12:00"), "issued is not"),
    (_body(issued="2026-13-45T12:00:00Z"), "issued is not"),
    (_body(records={}), "records is not a list"),
    (_body(records=["x"]), "record 1 is not an object"),
    (_body(records=[_record(role="PHONE")]), "unknown role 'PHONE'"),
    (_body(records=[_record(role=["TVS"])]), "unknown role"),
    (_body(records=[_record(node="")]), "record 1 has no node name"),
    (_body(records=[_record(certificate=None)]), "has no PEM certificate"),
    (_body(records=[_record(certificate="junk")]), "the certificate cannot be read"),
    (_body(records=[_record(certificate=pem(TVS_PUB.cert, CAPF.cert).decode())]),
     "holds 2 certificates"),
    (_body(records=[_record(), _record(other=1)]), "record 2 has unexpected field"),
])
def test_bad_bodies_are_refused(body: dict[str, Any], detail: str) -> None:
    error = code_of(read_trust_list, _signed_itl(body), "ITL")
    assert error.code == TRUST_LIST_INVALID
    assert detail in error.detail


def test_tampered_itl_signature() -> None:
    data = itl_bytes().replace(b'"cucm-sub"', b'"cucm-evil"', 1)
    assert code_of(read_trust_list, data, "ITL").code == "signature-invalid"


@PROPERTY
@given(st.binary(max_size=1000))
def test_arbitrary_bytes_are_invalid_input(data: bytes) -> None:
    with pytest.raises(InvalidInput):
        read_trust_list(data, "ITL")
    with pytest.raises(InvalidInput):
        read_config(data)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=3),
    max_leaves=10,
)
_RECORD = st.fixed_dictionaries({}, optional={
    "role": st.sampled_from([r.value for r in TrustRole]) | _JSON,
    "node": st.text(max_size=8) | _JSON,
    "certificate": st.just(pem(TVS_PUB.cert).decode()) | _JSON,
}) | _JSON
_BODY = st.fixed_dictionaries({}, optional={
    "version": st.just(1) | _JSON,
    "issued": st.just("2026-06-01T12:00:00Z") | st.text(max_size=24),
    "records": st.lists(_RECORD, max_size=3) | _JSON,
    "mac": st.just("00AABBCCDDEE") | _JSON,
    "callmanager": st.fixed_dictionaries({"node": _JSON, "address": _JSON,
                                          "port": st.integers() | _JSON}) | _JSON,
    "tvs": _JSON,
    "security_mode": st.integers(-1, 2) | _JSON,
})


@PROPERTY
@given(_BODY)
def test_validly_signed_arbitrary_bodies_are_invalid_input_or_read(body: dict[str, Any]
                                                                   ) -> None:
    signer = identity("cm-ec", "ec")  # EC signs fast
    for kind, reader in (("ITL", lambda d: read_trust_list(d, "ITL")),
                         ("CONFIG", read_config)):
        data = sign_file(kind, body, signer.cert, signer.key)
        try:
            reader(data)
        except InvalidInput as exc:
            assert exc.code in (TRUST_LIST_INVALID, CONFIG_INVALID)


# ------------------------------------------------------------------ configs


def config_bytes(mac: str = "00:aa:bb:cc:dd:ee", mode: int = 1) -> bytes:
    return build_config(mac, ("cucm-pub", "127.0.1.1", 5061), ("cucm-sub", "127.0.1.2", 2445),
                        mode, CM_PUB.cert, CM_PUB.key)


def test_config_round_trip() -> None:
    config = read_config(config_bytes())
    assert config == PhoneConfig(mac="00AABBCCDDEE",
                                 callmanager=("cucm-pub", "127.0.1.1", 5061),
                                 tvs=("cucm-sub", "127.0.1.2", 2445), security_mode=1,
                                 signer=CM_PUB.cert)
    assert json.loads(config_bytes())["kind"] == "CONFIG"
    assert config_bytes("00AA.BBCC.DDEE") == config_bytes()


@pytest.mark.parametrize(("args", "code"), [
    ({"mac": "00AABBCCDD"}, "invalid-mac"),
    ({"mac": "00AABBCCDDZZ"}, "invalid-mac"),
    ({"callmanager": ("cucm-pub", "127.0.1.1", 0)}, CONFIG_INVALID),
    ({"callmanager": ("cucm-pub", "127.0.1.1", True)}, CONFIG_INVALID),
    ({"tvs": ("", "127.0.1.1", 2445)}, CONFIG_INVALID),
    ({"tvs": ("cucm-pub", "127.0.1.1")}, CONFIG_INVALID),
    ({"security_mode": 2}, CONFIG_INVALID),
])
def test_build_config_refuses_bad_values(args: dict[str, Any], code: str) -> None:
    values: dict[str, Any] = {"mac": "00AABBCCDDEE",
                              "callmanager": ("cucm-pub", "127.0.1.1", 5061),
                              "tvs": ("cucm-pub", "127.0.1.1", 2445), "security_mode": 0,
                              **args}
    error = code_of(build_config, values["mac"], values["callmanager"], values["tvs"],
                    values["security_mode"], CM_PUB.cert, CM_PUB.key)
    assert error.code == code


def test_config_is_not_a_trust_list() -> None:
    assert code_of(read_config, itl_bytes()).code == INVALID
    assert code_of(read_trust_list, config_bytes(), "ITL").code == INVALID


@pytest.mark.parametrize(("change", "detail"), [
    ({"mac": "00aabbccddee"}, "mac is not"),
    ({"security_mode": "1"}, "security mode '1'"),
    ({"callmanager": {"node": "a", "address": "b"}}, "callmanager has no port"),
    ({"tvs": ["a", "b", 1]}, "tvs is not an object"),
    ({"tvs": {"node": "a", "address": "b", "port": 70000}}, "port 70000"),
])
def test_bad_config_bodies_are_refused(change: dict[str, Any], detail: str) -> None:
    body = {"version": 1, "mac": "00AABBCCDDEE", "security_mode": 0,
            "callmanager": {"node": "a", "address": "b", "port": 1},
            "tvs": {"node": "a", "address": "b", "port": 2}, **change}
    error = code_of(read_config, sign_file("CONFIG", body, CM_PUB.cert, CM_PUB.key))
    assert error.code == CONFIG_INVALID
    assert detail in error.detail

