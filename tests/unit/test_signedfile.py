"""signedfile: round trips for RSA and EC signers; any other bytes are InvalidInput."""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.pki import CA, EC_LEAF_KU, RSA_LEAF_KU, pem
from uccerts.domain.signedfile import (
    BAD_SIGNATURE,
    INVALID,
    KEY_MISMATCH,
    MAX_SIGNED_FILE_BYTES,
    SignedFile,
    canonical,
    cert_sha256,
    read_file,
    sign_file,
)
from uccerts.errors import InvalidInput

PROPERTY = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
BODY = {"version": 1, "names": ["cucm-pub", "cucm-sub"], "note": "séquence ✓", "n": None}


def identity(cn: str, key_type: str = "rsa") -> CA:
    """A self-signed leaf with its key (RSA 2048 or EC P-256), made once per process."""
    return _identity(cn, key_type)


@functools.cache
def _identity(cn: str, key_type: str) -> CA:
    usage = RSA_LEAF_KU if key_type == "rsa" else EC_LEAF_KU
    return CA.root(cn, key_type=key_type, ca=False, key_usage=usage)


@functools.cache
def signed(key_type: str = "rsa", kind: str = "TEST") -> bytes:
    who = identity(f"signer-{key_type}", key_type)
    return sign_file(kind, BODY, who.cert, who.key)


def doc_of(data: bytes) -> dict[str, Any]:
    return json.loads(data)  # type: ignore[no-any-return]


def resign(doc: dict[str, Any], who: CA) -> bytes:
    """Re-sign a hand-edited document (as an attacker with their own key could)."""
    fields = {k: v for k, v in doc.items() if k != "signature"}
    message = canonical(fields)
    if isinstance(who.key, rsa.RSAPrivateKey):
        raw = who.key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    else:
        raw = who.key.sign(message, ec.ECDSA(hashes.SHA256()))
    return canonical({**fields, "signature": base64.b64encode(raw).decode()})


def code_of(data: bytes, **kwargs: Any) -> str:
    with pytest.raises(InvalidInput) as caught:
        read_file(data, **kwargs)
    return caught.value.code


# ------------------------------------------------------------------ round trips


@pytest.mark.parametrize(("key_type", "algorithm"), [("rsa", "rsa-pkcs1v15-sha256"),
                                                     ("ec", "ecdsa-sha256")])
def test_round_trip(key_type: str, algorithm: str) -> None:
    who = identity(f"signer-{key_type}", key_type)
    data = signed(key_type)
    got = read_file(data, kind="TEST")
    assert isinstance(got, SignedFile)
    assert got.kind == "TEST"
    assert got.body == BODY
    assert got.signer == who.cert
    assert got.raw == data
    assert got.sha256 == hashlib.sha256(data).hexdigest()
    assert got.signer_sha256 == cert_sha256(who.cert) == who.cert.fingerprint(
        hashes.SHA256()).hex()
    assert doc_of(data)["algorithm"] == algorithm


def test_file_is_canonical_json() -> None:
    data = signed()
    assert data == canonical(json.loads(data))
    assert set(doc_of(data)) == {"format", "kind", "body", "signer", "algorithm",
                                 "signature"}
    assert doc_of(data)["format"] == "uccerts-signed/1"
    assert "séquence ✓".encode() in data  # UTF-8, not \\u escapes


def test_rsa_signing_is_deterministic() -> None:
    who = identity("signer-rsa")
    assert sign_file("TEST", BODY, who.cert, who.key) == signed("rsa")


def test_ec_signatures_differ_but_both_verify() -> None:
    who = identity("signer-ec", "ec")
    again = sign_file("TEST", BODY, who.cert, who.key)
    assert read_file(again).body == read_file(signed("ec")).body


def test_body_is_normalised_through_json() -> None:
    # Tuples become lists and integer keys strings: what a reader will see is signed.
    who = identity("signer-rsa")
    data = sign_file("TEST", {"t": (1, 2), "m": {10: "a", 2: "b"}}, who.cert, who.key)
    assert read_file(data).body == {"t": [1, 2], "m": {"10": "a", "2": "b"}}


def test_read_accepts_non_canonical_whitespace() -> None:
    pretty = json.dumps(doc_of(signed()), indent=2).encode()
    assert read_file(pretty).body == BODY


# ------------------------------------------------------------------ refusals


def test_key_mismatch_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        sign_file("TEST", BODY, identity("signer-rsa").cert, identity("other").key)
    assert caught.value.code == KEY_MISMATCH


@pytest.mark.parametrize("body", [{"x": object()}, {"x": float("nan")}, {"x": "\ud800"}])
def test_sign_refuses_a_body_that_is_not_json(body: dict[str, Any]) -> None:
    who = identity("signer-rsa")
    with pytest.raises(InvalidInput) as caught:
        sign_file("TEST", body, who.cert, who.key)
    assert caught.value.code == INVALID


def test_kind_mismatch() -> None:
    with pytest.raises(InvalidInput) as caught:
        read_file(signed(), kind="ITL")
    assert caught.value.code == INVALID
    assert "'TEST'" in caught.value.detail and "ITL" in caught.value.detail


@pytest.mark.parametrize("key_type", ["rsa", "ec"])
def test_tampered_body(key_type: str) -> None:
    doc = doc_of(signed(key_type))
    doc["body"]["names"].append("evil")
    assert code_of(canonical(doc)) == BAD_SIGNATURE


def test_tampered_kind() -> None:
    doc = doc_of(signed())
    doc["kind"] = "ITL"
    assert code_of(canonical(doc)) == BAD_SIGNATURE


def test_swapped_signer_same_algorithm() -> None:
    doc = doc_of(signed())
    doc["signer"] = pem(identity("other").cert).decode()
    assert code_of(canonical(doc)) == BAD_SIGNATURE


def test_signer_of_another_key_type() -> None:
    doc = doc_of(signed("rsa"))
    doc["signer"] = pem(identity("signer-ec", "ec").cert).decode()
    with pytest.raises(InvalidInput) as caught:
        read_file(canonical(doc))
    assert caught.value.code == INVALID
    assert "does not fit" in caught.value.detail


def test_attacker_signature_verifies_but_names_the_attacker() -> None:
    # The envelope proves who signed, not that the signer is trusted: that is the
    # trust lists' job (phone_trust).
    doc = doc_of(signed())
    doc["signer"] = pem(identity("attacker").cert).decode()
    got = read_file(resign(doc, identity("attacker")))
    assert got.signer_sha256 == cert_sha256(identity("attacker").cert)


def test_signature_of_wrong_length() -> None:
    doc = doc_of(signed())
    doc["signature"] = base64.b64encode(b"\x01" * 10).decode()
    assert code_of(canonical(doc)) == BAD_SIGNATURE


def _edit(change: Any) -> bytes:
    doc = doc_of(signed())
    change(doc)
    return canonical(doc)


@pytest.mark.parametrize(("change", "detail"), [
    (lambda d: d.pop("signature"), "signature is missing"),
    (lambda d: d.pop("body"), "body is missing"),
    (lambda d: d.update(extra=1), "unexpected field 'extra'"),
    (lambda d: d.update(format="uccerts-signed/2"), "format is 'uccerts-signed/2'"),
    (lambda d: d.update(algorithm="md5"), "unknown algorithm 'md5'"),
    (lambda d: d.update(kind=""), "kind is empty"),
    (lambda d: d.update(kind=7), "kind is not a string"),
    (lambda d: d.update(body=[1]), "body is not a JSON object"),
    (lambda d: d.update(signature="not base64!"), "signature is not base64"),
    (lambda d: d.update(signature=""), "signature is empty"),
    (lambda d: d.update(signer="hello"), "signer is not a PEM certificate"),
    (lambda d: d.update(signer=d["signer"][:200] + "\n-----END CERTIFICATE-----\n"),
     "signer certificate cannot be read"),
    (lambda d: d.update(signer=d["signer"] * 2), "holds 2 certificates"),
])
def test_malformed_envelope(change: Any, detail: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        read_file(_edit(change))
    assert caught.value.code == INVALID
    assert detail in caught.value.detail


@pytest.mark.parametrize(("data", "detail"), [
    (b"", "empty"),
    (b"  \n", "empty"),
    (b"\xff\xfe{}", "not UTF-8 JSON"),
    (b"not json", "not UTF-8 JSON"),
    (b"[1, 2]", "not an object"),
    (b'{"format": NaN}', "not UTF-8 JSON"),
    (b'{"a": 1, "a": 2}', "repeats the key 'a'"),
    (b"[" * 200_000 + b"]" * 200_000, "not UTF-8 JSON"),
    (b'{"x": ' + b"9" * 5000 + b"}", "not UTF-8 JSON"),
])
def test_not_an_envelope(data: bytes, detail: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        read_file(data)
    assert caught.value.code == INVALID
    assert detail in caught.value.detail


def test_truncated() -> None:
    data = signed()
    for cut in (1, 10, len(data) // 2, len(data) - 1):
        assert code_of(data[:cut]) == INVALID


def test_lone_surrogate_in_a_signed_field() -> None:
    doc = doc_of(signed())
    text = canonical(doc).replace(b'"cucm-pub"', b'"\\ud800"')
    assert code_of(text) == INVALID


def test_huge_file_is_refused_before_parsing() -> None:
    data = b" " * (MAX_SIGNED_FILE_BYTES + 1)
    with pytest.raises(InvalidInput) as caught:
        read_file(data)
    assert caught.value.code == INVALID
    assert "too large" in caught.value.detail


# ------------------------------------------------------------------ properties


def _only_invalid_input(data: bytes) -> SignedFile | None:
    try:
        return read_file(data)
    except InvalidInput as exc:
        assert exc.code in (INVALID, BAD_SIGNATURE)
        return None


@PROPERTY
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_are_invalid_input(data: bytes) -> None:
    assert _only_invalid_input(data) is None


@PROPERTY
@given(st.data())
def test_mutated_files_are_invalid_input(data: st.DataObject) -> None:
    original = signed(data.draw(st.sampled_from(["rsa", "ec"])))
    mutated = bytearray(original)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, max(0, len(mutated) - 1)))
        action = data.draw(st.sampled_from(["flip", "delete", "insert"]))
        if action == "flip" and mutated:
            mutated[at] ^= data.draw(st.integers(1, 255))
        elif action == "delete" and mutated:
            del mutated[at]
        else:
            mutated[at:at] = data.draw(st.binary(min_size=1, max_size=8))
    got = _only_invalid_input(bytes(mutated))
    # A mutation may only add JSON whitespace; then the content is the original's.
    assert got is None or got.body == BODY


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=12,
)
_FIELD_VALUES = {
    "format": st.just("uccerts-signed/1") | _JSON,
    "kind": st.text(max_size=8) | _JSON,
    "body": st.dictionaries(st.text(max_size=8), _JSON, max_size=3) | _JSON,
    "signer": st.just(pem(identity("signer-rsa").cert).decode()) | st.text() | _JSON,
    "algorithm": st.sampled_from(["rsa-pkcs1v15-sha256", "ecdsa-sha256"]) | _JSON,
    "signature": st.binary(max_size=300).map(lambda b: base64.b64encode(b).decode())
    | st.text() | _JSON,
}


@PROPERTY
@given(st.fixed_dictionaries({}, optional=_FIELD_VALUES))
def test_arbitrary_envelopes_are_invalid_input(doc: dict[str, Any]) -> None:
    assert _only_invalid_input(json.dumps(doc).encode()) is None


@PROPERTY
@given(st.fixed_dictionaries(_FIELD_VALUES))
def test_complete_envelopes_with_arbitrary_values_are_invalid_input(doc: dict[str, Any]
                                                                    ) -> None:
    # Every field present: these reach the certificate loader and the verifier.
    assert _only_invalid_input(json.dumps(doc).encode()) is None
