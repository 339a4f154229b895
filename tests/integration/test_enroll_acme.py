"""The ACME enroller against Debian's pebble, with REAL http-01 validation.

Pebble's validator resolves the names through pebble-challtestsrv (mock DNS whose A
records each test sets) and fetches ``/.well-known/acme-challenge/<token>`` from the
enroller's own responder on loopback; nothing is short-circuited with
``PEBBLE_VA_ALWAYS_VALID`` (see tests/pebble.py). A name without an A record resolves
where nobody listens, and its order fails: that is what proves the validation is real.

Skipped without pebble on a developer's machine; under CI (``CI`` set) they fail
instead, so CI cannot silently skip them.
"""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, Store

from pebble import HOST, Pebble, free_port, run_pebble
from pki import make_csr, make_key
from uccerts.domain.keys import same_public_key
from uccerts.enroll.acme import AcmeEnroller, AcmeSettings
from uccerts.enroll.acme_http01 import Http01Responder
from uccerts.errors import Refused, SystemFailure, UsageError

DOMAIN = "uc.example"


@pytest.fixture(scope="module")
def pebble(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pebble]:
    with run_pebble(tmp_path_factory.mktemp("pebble")) as server:
        yield server


@pytest.fixture
def enroller(pebble: Pebble) -> Iterator[AcmeEnroller]:
    with AcmeEnroller(pebble.settings()) as made:
        yield made


def _names(prefix: str) -> list[str]:
    """Names unique to one test: the module's pebble is shared."""
    return [f"{prefix}.{DOMAIN}", f"{prefix}-alt.{DOMAIN}"]


def assert_free(host: str, port: int) -> None:
    """Nothing listens on the port (connections the validator closed may linger in
    TIME_WAIT, which SO_REUSEADDR allows; a listener it does not)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, port))


def _sans(cert: x509.Certificate) -> list[str]:
    ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return sorted(ext.get_values_for_type(x509.DNSName))


def test_issue_validates_over_http01_and_returns_the_chain_to_pebbles_root(
        pebble: Pebble, enroller: AcmeEnroller) -> None:
    names = _names("pub")
    for name in names:
        pebble.add_a(name)
    csr, _ = make_csr(names[0], names)  # a tomcat-like CSR: CN and two DNS SANs

    issued = enroller.issue(csr, [pebble.responder_ip])

    assert same_public_key(issued.leaf.public_key(), csr.public_key())
    assert _sans(issued.leaf) == sorted(names)
    assert issued.root is not None and issued.root.subject == issued.root.issuer
    assert len(issued.intermediates) >= 1
    assert issued.chain == (issued.leaf, *issued.intermediates, issued.root)
    # The chain verifies up to pebble's root as a TLS server chain for both names.
    verifier = (PolicyBuilder().store(Store([issued.root]))
                .build_server_verifier(x509.DNSName(names[1])))
    path = verifier.verify(issued.leaf, list(issued.intermediates))
    assert path[-1] == issued.root
    # The responder is gone once the order is done: its port is free again.
    assert_free(pebble.responder_ip, pebble.http01_port)


def test_a_second_issue_reuses_the_account(pebble: Pebble, enroller: AcmeEnroller) -> None:
    first, second = _names("sub1"), _names("sub2")
    for name in first + second:
        pebble.add_a(name)
    enroller.issue(make_csr(first[0], first)[0], [pebble.responder_ip])
    account = enroller.account_uri
    assert account is not None
    enroller.issue(make_csr(second[0], second)[0], [pebble.responder_ip])
    assert enroller.account_uri == account
    # Another enroller with the same key finds the same account (RFC 8555 §7.3.1).
    with AcmeEnroller(pebble.settings(), enroller.account_key) as again:
        issued = again.issue(make_csr(first[0], first)[0], [pebble.responder_ip])
        assert again.account_uri == account
        assert _sans(issued.leaf) == sorted(first)


def test_an_rsa_account_key_works_too(pebble: Pebble) -> None:
    names = _names("imp")
    for name in names:
        pebble.add_a(name)
    key = make_key("rsa")
    with AcmeEnroller(pebble.settings(), key) as rsa_enroller:
        issued = rsa_enroller.issue(make_csr(names[0], names)[0], [pebble.responder_ip])
    assert _sans(issued.leaf) == sorted(names)


def test_a_name_that_does_not_resolve_to_the_node_fails_validation(
        pebble: Pebble, enroller: AcmeEnroller) -> None:
    resolved, unresolved = _names("half")
    pebble.add_a(resolved)  # the other one resolves to where nobody answers
    with pytest.raises(Refused) as caught:
        enroller.issue(make_csr(resolved, [resolved, unresolved])[0], [pebble.responder_ip])
    error = caught.value
    assert error.code == "acme-order-invalid"
    assert unresolved in error.message and "connection refused" in error.message
    assert error.fix


def test_a_name_pebble_refuses_is_refused_with_the_servers_detail(
        pebble: Pebble, enroller: AcmeEnroller) -> None:
    bad = f"bad_name.{DOMAIN}"
    with pytest.raises(Refused) as caught:
        enroller.issue(make_csr(bad, [bad])[0], [pebble.responder_ip])
    error = caught.value
    assert error.code == "acme-order-invalid"
    # Pebble's own words (a malformed problem document), not a paraphrase.
    assert "illegal character" in error.message
    assert "malformed" in error.detail
    assert error.fix


def test_a_wildcard_is_refused_for_want_of_http01(
        pebble: Pebble, enroller: AcmeEnroller) -> None:
    with pytest.raises(Refused) as caught:
        enroller.issue(make_csr(f"*.{DOMAIN}", [f"*.{DOMAIN}"])[0], [pebble.responder_ip])
    assert caught.value.code == "acme-order-invalid"
    assert f"*.{DOMAIN}" in caught.value.message and "dns-01" in caught.value.detail


def test_an_unreachable_directory_fails_fast() -> None:
    settings = AcmeSettings(directory=f"https://{HOST}:{free_port()}/dir", http01_port=80)
    started = time.monotonic()
    with AcmeEnroller(settings) as nowhere, pytest.raises(SystemFailure) as caught:
        nowhere.issue(make_csr("pub.uc.example", ["pub.uc.example"])[0], [HOST])
    assert time.monotonic() - started < 5
    assert caught.value.code == "acme-unreachable"
    assert caught.value.fix and "does not answer" in caught.value.message


def test_a_server_whose_tls_is_not_trusted_is_unreachable(pebble: Pebble) -> None:
    with AcmeEnroller(pebble.settings(ca_bundle=None)) as untrusting, \
            pytest.raises(SystemFailure) as caught:
        untrusting.issue(make_csr("pub.uc.example", ["pub.uc.example"])[0],
                         [pebble.responder_ip])
    assert caught.value.code == "acme-unreachable"
    assert "not trusted" in caught.value.message


@pytest.mark.parametrize(("field", "value"), [
    ("directory", "ftp://127.0.0.1/dir"), ("http01_port", 0), ("timeout_s", 0.0),
    ("contact", "not-an-address")])
def test_settings_are_checked(field: str, value: object) -> None:
    values: dict[str, object] = {"directory": "https://127.0.0.1:14000/dir", field: value}
    with pytest.raises(UsageError):
        AcmeSettings(**values)  # type: ignore[arg-type]


# --- the http-01 responder alone (no pebble needed) -----------------------------------


def _get(url: str) -> tuple[int, bytes]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=5) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, b""


def test_the_responder_answers_only_published_tokens_and_stops() -> None:
    port = free_port()
    base = f"http://{HOST}:{port}/.well-known/acme-challenge/"
    with Http01Responder([HOST], port) as responder:
        responder.publish("tok-1", "tok-1.thumbprint")
        assert _get(base + "tok-1") == (200, b"tok-1.thumbprint")
        assert _get(base + "tok-2")[0] == 404
        assert _get(f"http://{HOST}:{port}/")[0] == 404
    assert_free(HOST, port)  # stopped


def test_the_responder_reports_a_port_it_cannot_bind() -> None:
    with socket.socket() as busy:
        busy.bind((HOST, 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(SystemFailure) as caught, Http01Responder([HOST], port):
            pass
    assert caught.value.code == "acme-http01-bind"


def test_the_responder_wants_ip_addresses() -> None:
    with pytest.raises(UsageError):
        Http01Responder(["pub.uc.example"], 80)
    with pytest.raises(UsageError):
        Http01Responder([], 80)
