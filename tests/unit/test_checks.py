"""Upload checks (domain.md §5) on real certificates, one built for each finding."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import pki
from tests.pki import CA, NOW, make_csr
from uccerts.domain import chain
from uccerts.domain.checks import UploadVerdict, check_identity_upload, pick_leaf
from uccerts.domain.findings import Severity
from uccerts.domain.model import SanMatch
from uccerts.domain.purposes import purpose

TOMCAT = purpose("tomcat")
SEED_CSR_SANS = ["domain.com", "sub.domain.com", "pub.domain.com", "imp.domain.com"]

MESSAGES = {
    "invalid-certificate-file": "Invalid certificate file provided",
    "certificate-expired": "Certificate has expired and cannot be uploaded",
    "wildcard-not-supported": "Wildcard certificates are not supported",
    "csr-key-mismatch": "CSR public key and certificate public key do not match",
    "csr-san-mismatch": "CSR subject alternate name (SAN) and certificate SAN do not match",
    "ca-not-in-trust-store": "CA certificate is not available in the trust-store",
    "key-type-mismatch": "Certificate key type does not match the certificate purpose",
}


@pytest.fixture(scope="module")
def root() -> CA:
    return CA.root("Example Root CA")


@pytest.fixture(scope="module")
def issuing(root: CA) -> CA:
    return root.intermediate("Example Issuing CA")


def run(certs: Sequence[x509.Certificate], csr: x509.CertificateSigningRequest | None,
        trusted: Sequence[x509.Certificate], *, purpose_name: str = "tomcat",
        **kw: object) -> UploadVerdict:
    return check_identity_upload(purpose(purpose_name), certs, csr, pki.lookup(*trusted),
                                 now=NOW, **kw)  # type: ignore[arg-type]


def codes(verdict: UploadVerdict) -> list[str]:
    return [f.code for f in verdict.findings]


def assert_messages(verdict: UploadVerdict) -> None:
    for f in verdict.findings:
        if f.code in MESSAGES:
            assert f.message == MESSAGES[f.code]
        assert f.fix, f.code


# --- the good case and the file shape -----------------------------------------------


def test_clean_upload_with_trusted_chain(issuing: CA) -> None:
    csr, _ = make_csr("pub.uc.example", ["pub.uc.example"])
    cert = issuing.sign_csr(csr)
    verdict = run([cert], csr, issuing.chain)
    assert verdict.ok and verdict.findings == ()
    assert verdict.leaf == cert
    assert verdict.chain == (cert, *issuing.chain)
    assert verdict.ca_certificates == ()


def test_chain_inside_the_file_in_shuffled_order(issuing: CA) -> None:
    csr, _ = make_csr("pub.uc.example", ["pub.uc.example"])
    cert = issuing.sign_csr(csr)
    files = [issuing.root_cert, cert, issuing.cert]
    random.Random(7).shuffle(files)
    verdict = run(files, csr, [])
    assert verdict.ok, verdict.findings
    assert verdict.leaf == cert
    assert verdict.chain == (cert, issuing.cert, issuing.root_cert)
    assert verdict.ca_certificates == (issuing.root_cert, issuing.cert)  # root first


def test_unrelated_and_duplicate_extras_are_not_imported(issuing: CA) -> None:
    other_root = CA.root("Unrelated Root")
    csr, _ = make_csr("pub.uc.example", ["pub.uc.example"])
    cert = issuing.sign_csr(csr)
    verdict = run([cert, issuing.cert, other_root.cert, issuing.cert], csr, [issuing.root_cert])
    assert verdict.ok
    assert verdict.ca_certificates == (issuing.cert,)


@pytest.mark.parametrize("certs", [[], "only-cas"])
def test_no_leaf_is_an_invalid_file(issuing: CA, certs: object) -> None:
    files = list(issuing.chain) if certs == "only-cas" else []
    verdict = run(files, None, [])
    assert codes(verdict) == ["invalid-certificate-file"]
    assert "tomcat-trust" in verdict.findings[0].fix
    assert verdict.leaf is None and not verdict.ok
    assert_messages(verdict)


def test_leaf_is_the_certificate_that_issued_nothing(issuing: CA) -> None:
    a = issuing.issue("a.uc.example")
    b = issuing.issue("b.uc.example")
    files = [issuing.root_cert, issuing.cert, a.cert, b.cert]
    assert pick_leaf(files) == a.cert  # ties: the first
    csr_b, _ = make_csr("b.uc.example", key=b.key)
    assert pick_leaf(files, csr_b) == b.cert  # the CSR's key decides


# --- §5 rules one by one -------------------------------------------------------------


@pytest.fixture(scope="module")
def old_issuing() -> CA:
    """CAs from long ago, as real ones are: they predate the leaves they issued."""
    return CA.root("Old Root", not_before=NOW - 2000 * pki.DAY).intermediate(
        "Old Issuing CA", not_before=NOW - 1500 * pki.DAY)


def test_expired_certificate(old_issuing: CA) -> None:
    csr, _ = make_csr("pub.uc.example", ["pub.uc.example"])
    cert = old_issuing.sign_csr(csr, not_before=NOW - 400 * pki.DAY, days=30)
    verdict = run([cert], csr, old_issuing.chain)
    # Only the dates are wrong: the path is judged within the leaf's validity.
    assert codes(verdict) == ["certificate-expired"]
    assert_messages(verdict)


def test_not_yet_valid_certificate_is_accepted(issuing: CA) -> None:
    csr, _ = make_csr("pub.uc.example", ["pub.uc.example"])
    cert = issuing.sign_csr(csr, not_before=NOW + 10 * pki.DAY)
    assert run([cert], csr, issuing.chain).ok


def test_wildcard_refused_except_for_xmpp_s2s(issuing: CA) -> None:
    csr, _ = make_csr("*.uc.example", ["*.uc.example"])
    cert = issuing.sign_csr(csr)
    verdict = run([cert], csr, issuing.chain)
    assert codes(verdict) == ["wildcard-not-supported"]
    assert verdict.findings[0].detail["names"] == ["*.uc.example", "*.uc.example"]
    assert_messages(verdict)
    assert run([cert], csr, issuing.chain, purpose_name="cup-xmpp-s2s").ok


def test_no_pending_csr(issuing: CA) -> None:
    cert = issuing.issue("pub.uc.example").cert
    verdict = run([cert], None, issuing.chain, purpose_name="CallManager")
    assert codes(verdict) == ["csr-not-found"]
    assert verdict.findings[0].message == (
        "The file /usr/local/platform/.security/CallManager/keys/CallManager.csr does not exist")


def test_certificate_of_another_node(issuing: CA) -> None:
    csr, _ = make_csr("pub.uc.example", ["pub.uc.example"])
    other = issuing.issue("sub.uc.example", sans=["sub.uc.example"]).cert
    verdict = run([other], csr, issuing.chain)
    assert codes(verdict) == ["csr-key-mismatch", "csr-san-mismatch"]
    assert_messages(verdict)
    detail = verdict.findings[0].detail
    assert detail["certificate_key_sha256"] != detail["csr_key_sha256"]


def test_csr_regenerated_after_it_was_sent_to_the_ca(issuing: CA) -> None:
    sent, _ = make_csr("pub.uc.example", ["pub.uc.example"])
    cert = issuing.sign_csr(sent)
    pending, _ = make_csr("pub.uc.example", ["pub.uc.example"])  # replaced the old one
    verdict = run([cert], pending, issuing.chain)
    assert codes(verdict) == ["csr-key-mismatch"]
    assert "generated again" in verdict.findings[0].fix


def test_seed_san_example(issuing: CA) -> None:
    csr, _ = make_csr("domain.com", SEED_CSR_SANS)
    cert = issuing.sign_csr(csr, add_sans=["sub-ms.domain.com", "*.domain.com"])
    verdict = run([cert], csr, issuing.chain)
    assert codes(verdict) == ["wildcard-not-supported", "csr-san-mismatch"]
    assert_messages(verdict)
    san = verdict.findings[1]
    assert san.detail["added"] == ["sub-ms.domain.com", "*.domain.com"]
    assert san.detail["dropped"] == []
    assert "exactly the CSR's names" in san.fix
    assert "drop the parent domain" in san.fix and "drop -ms" in san.fix


def test_san_dropped_by_the_ca_and_superset_mode(issuing: CA) -> None:
    csr, _ = make_csr("domain.com", SEED_CSR_SANS)
    added = issuing.sign_csr(csr, add_sans=["sub-ms.domain.com"])
    assert run([added], csr, issuing.chain, san_match=SanMatch.SUPERSET).ok
    dropped = issuing.sign_csr(csr, drop_sans=["domain.com"], add_sans=["sub-ms.domain.com"])
    for mode in SanMatch:
        verdict = run([dropped], csr, issuing.chain, san_match=mode)
        assert codes(verdict) == ["csr-san-mismatch"]
        assert verdict.findings[0].detail["dropped"] == ["domain.com"]
        assert verdict.findings[0].detail["added"] == ["sub-ms.domain.com"]


def test_san_comparison_ignores_case_order_and_ip_spelling(issuing: CA) -> None:
    csr, _ = make_csr("pub.uc.example", ["pub.uc.example", "2001:db8::1", "imp.uc.example"])
    cert = issuing.sign_csr(csr, sans=["IMP.uc.example", "2001:db8:0:0:0:0:0:1",
                                       "Pub.UC.example"])
    assert run([cert], csr, issuing.chain).ok


def test_root_missing_from_the_trust_store(issuing: CA) -> None:
    csr, _ = make_csr("pub.uc.example", ["pub.uc.example"])
    cert = issuing.sign_csr(csr)
    verdict = run([cert, issuing.cert], csr, [])
    assert codes(verdict) == ["ca-not-in-trust-store"]
    assert_messages(verdict)
    assert "Example Root CA" in verdict.findings[0].detail["reason"]
    assert "tomcat-trust" in verdict.findings[0].fix
    assert verdict.chain == ()


def test_sha1_ca_chain_is_reported_clearly() -> None:
    legacy = CA.root("Legacy Root", key_type="rsa", sha1=True)  # SHA-1 self-signed: fine
    sha1_issuing = legacy.intermediate("Legacy Issuing CA", sha1=True)
    csr, _ = make_csr("pub.uc.example", ["pub.uc.example"])
    cert = sha1_issuing.sign_csr(csr)
    verdict = run([cert, sha1_issuing.cert], csr, [legacy.cert])
    assert codes(verdict) == ["chain-invalid"]
    finding = verdict.findings[0]
    assert "'CN=Legacy Issuing CA' is signed with SHA-1" in finding.message
    assert finding.detail["sha1"] is True and "SHA-256" in finding.fix
    # The same root re-issuing its intermediate with SHA-256 is accepted.
    modern = CA(legacy.cert, legacy.key).intermediate("Legacy Issuing CA 2")
    good = modern.sign_csr(csr)
    assert run([good, modern.cert], csr, [legacy.cert]).ok


def test_sha1_signed_leaf_is_reported_clearly() -> None:
    rsa_issuing = CA.root("RSA Root", key_type="rsa").intermediate("RSA Issuing", key_type="rsa")
    csr, _ = make_csr("pub.uc.example", ["pub.uc.example"])
    cert = rsa_issuing.sign_csr(csr, sha1=True)
    verdict = run([cert], csr, rsa_issuing.chain)
    assert codes(verdict) == ["chain-invalid"]
    assert "'CN=pub.uc.example' is signed with SHA-1" in verdict.findings[0].message


def test_broken_path_other_than_a_missing_issuer(root: CA) -> None:
    not_a_ca = root.intermediate("Not A CA", ca=False, pathlen=None, key_usage=pki.CA_KU)
    csr, _ = make_csr("pub.uc.example", ["pub.uc.example"])
    cert = not_a_ca.sign_csr(csr)
    verdict = run([cert, not_a_ca.cert], csr, [root.cert])
    assert codes(verdict) == ["chain-invalid"]
    assert "CA" in verdict.findings[0].message
    assert verdict.findings[0].detail["sha1"] is False


@pytest.mark.parametrize(("purpose_name", "key_type"),
                         [("tomcat", "ec"), ("tomcat-ECDSA", "rsa"), ("CallManager-ECDSA", "rsa")])
def test_key_type_must_fit_the_purpose(issuing: CA, purpose_name: str, key_type: str) -> None:
    csr, _ = make_csr("pub.uc.example", ["pub.uc.example"], key_type=key_type)
    cert = issuing.sign_csr(csr, key_usage=None)  # no KeyUsage: only the key type is wrong
    verdict = run([cert], csr, issuing.chain, purpose_name=purpose_name)
    assert codes(verdict) == ["key-type-mismatch"]
    assert_messages(verdict)


def test_ec_purpose_with_ec_key(issuing: CA) -> None:
    csr, _ = make_csr("pub.uc.example", ["pub.uc.example"], key_type="ec", size=384)
    assert run([issuing.sign_csr(csr)], csr, issuing.chain, purpose_name="tomcat-ECDSA").ok


def test_missing_key_usage_is_a_warning_or_a_strict_error(issuing: CA) -> None:
    csr, _ = make_csr("pub.uc.example", ["pub.uc.example"])
    cert = issuing.sign_csr(csr, key_usage={"digital_signature"},
                            eku=[ExtendedKeyUsageOID.SERVER_AUTH])
    verdict = run([cert], csr, issuing.chain)
    assert verdict.ok and codes(verdict) == ["key-usage-missing"]
    warning = verdict.warnings[0]
    assert warning.severity is Severity.WARNING
    assert warning.message == ("Certificate is missing key usage required for tomcat: "
                               "keyEncipherment, dataEncipherment, clientAuth")
    strict = run([cert], csr, issuing.chain, strict=True)
    assert not strict.ok and [f.code for f in strict.errors] == ["key-usage-missing"]


def test_absent_extensions_restrict_nothing(issuing: CA) -> None:
    csr, _ = make_csr("pub.uc.example", ["pub.uc.example"])
    cert = issuing.sign_csr(csr, key_usage=None, eku=None)
    assert run([cert], csr, issuing.chain, strict=True).findings == ()


def test_ipsec_needs_ipsec_end_system_and_ec_needs_key_agreement(issuing: CA) -> None:
    csr, _ = make_csr("pub.uc.example", ["pub.uc.example"])
    verdict = run([issuing.sign_csr(csr)], csr, issuing.chain, purpose_name="ipsec")
    assert verdict.warnings[0].message.endswith("for ipsec: IPsec end system")
    assert run([issuing.sign_csr(csr, eku=pki.IPSEC_EKU)], csr, issuing.chain,
               purpose_name="ipsec").findings == ()
    ec_csr, _ = make_csr("pub.uc.example", ["pub.uc.example"], key_type="ec")
    cert = issuing.sign_csr(ec_csr, key_usage={"digital_signature"})
    verdict = run([cert], ec_csr, issuing.chain, purpose_name="tomcat-ECDSA")
    assert verdict.warnings[0].message.endswith("for tomcat-ECDSA: keyAgreement")


def test_capf_needs_a_subordinate_ca_certificate(root: CA) -> None:
    csr, _ = make_csr("cucm-pub.uc.example", ["cucm-pub.uc.example"])
    capf_ku = {"digital_signature", "key_cert_sign"}
    good = root.sign_csr(csr, ca=True, pathlen=0, key_usage=capf_ku)
    verdict = run([good], csr, [root.cert], purpose_name="CAPF")
    assert verdict.ok and verdict.findings == (), verdict.findings
    plain = root.sign_csr(csr, key_usage=capf_ku)
    verdict = run([plain], csr, [root.cert], purpose_name="CAPF")
    assert [f.message for f in verdict.warnings] == [
        "Certificate is missing key usage required for CAPF: basicConstraints CA:TRUE pathlen:0"]
    assert not run([plain], csr, [root.cert], purpose_name="CAPF", strict=True).ok


def test_every_finding_is_reported_at_once(issuing: CA) -> None:
    csr, _ = make_csr("domain.com", SEED_CSR_SANS)
    other_key = pki.make_key("ec")
    stranger = CA.root("Stranger Root").intermediate("Stranger CA")
    cert = stranger.issue("domain.com", key=other_key, sans=["*.domain.com", "sub-ms.domain.com"],
                          not_before=NOW - 400 * pki.DAY, days=30,
                          key_usage={"digital_signature"}).cert
    verdict = run([cert], csr, issuing.chain, strict=True)
    assert codes(verdict) == [
        "certificate-expired", "wildcard-not-supported", "csr-key-mismatch",
        "csr-san-mismatch", "ca-not-in-trust-store", "key-type-mismatch", "key-usage-missing"]
    assert all(f.is_error for f in verdict.findings)
    assert_messages(verdict)
    assert verdict.findings[3].detail["dropped"] == SEED_CSR_SANS


# --- chain.py: bounded candidate gathering ------------------------------------------


def test_issuer_lookup_asks_only_for_the_names_on_the_path(issuing: CA) -> None:
    asked: list[x509.Name] = []
    store = {c.subject: [c] for c in issuing.chain}

    def lookup(name: x509.Name) -> list[x509.Certificate]:  # a 10,000-entry store, by name
        asked.append(name)
        return store.get(name, [])

    csr, _ = make_csr("pub.uc.example", ["pub.uc.example"])
    cert = issuing.sign_csr(csr)
    verdict = check_identity_upload(TOMCAT, [cert], csr, lookup, now=NOW)
    assert verdict.ok
    assert asked == [issuing.cert.subject, issuing.root_cert.subject]


def test_issuer_gathering_is_bounded_on_hostile_input(root: CA) -> None:
    ca = root
    for n in range(chain.MAX_DEPTH + 4):  # deeper than any path is allowed to be
        ca = ca.intermediate(f"Level {n}", pathlen=None)
    leaf = ca.issue("deep.uc.example").cert
    intermediates, roots = chain.find_issuer_path(leaf, pki.lookup(), ca.chain)
    assert len(intermediates) == chain.MAX_DEPTH and roots == []
    many = [root.intermediate("Same Name").cert for _ in range(chain.MAX_PER_NAME + 5)]
    target = CA(many[0], root.key).issue("x.uc.example").cert
    intermediates, _ = chain.find_issuer_path(target, pki.lookup(*many), [])
    assert len(intermediates) == chain.MAX_PER_NAME


# --- never raises -----------------------------------------------------------------


@pytest.fixture(scope="module")
def pool(issuing: CA) -> list[x509.Certificate]:
    legacy = CA.root("Legacy", sha1=True)
    odd = issuing.issue("odd", key_type="ec", sans=[], key_usage=None, eku=None,
                        basic_constraints=False).cert
    return [*issuing.chain, legacy.cert, legacy.intermediate("L2", sha1=True).cert, odd,
            issuing.issue("a.uc.example", key_type="ec").cert,
            issuing.issue("*.uc.example", key_type="ec", not_after=NOW - pki.DAY).cert,
            CA(issuing.cert, issuing.key).issue("sub-ca", key_type="ec", ca=True).cert,
            CA.root("self-signed leaf", ca=False).cert]


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_check_identity_upload_never_raises(pool: list[x509.Certificate],
                                            data: st.DataObject) -> None:
    certs = data.draw(st.lists(st.sampled_from(pool), max_size=6))
    trusted = data.draw(st.lists(st.sampled_from(pool), max_size=4))
    csr = None
    if data.draw(st.booleans()):
        csr, _ = make_csr("a.uc.example", data.draw(st.lists(
            st.sampled_from(["a.uc.example", "*.uc.example", "10.0.0.1"]), max_size=3)),
            key_type="ec")
    name = data.draw(st.sampled_from(["tomcat", "tomcat-ECDSA", "CAPF", "cup-xmpp-s2s"]))
    verdict = check_identity_upload(
        purpose(name), certs, csr, pki.lookup(*trusted),
        now=NOW + data.draw(st.integers(-4000, 4000)) * pki.DAY,
        san_match=data.draw(st.sampled_from(list(SanMatch))), strict=data.draw(st.booleans()))
    assert verdict.ok == (not verdict.errors)
    assert verdict.leaf is not None or codes(verdict) == ["invalid-certificate-file"]


def test_a_leaf_without_authority_key_identifier_is_accepted(issuing: CA) -> None:
    # OpenSSL 1.1's `x509 -req` issues leaves without AKI; the issuer is found by name.
    csr, _ = make_csr("pub.uc.example", ["pub.uc.example"])
    cert = issuing.sign_csr(csr, aki=False)
    assert not any(isinstance(e.value, x509.AuthorityKeyIdentifier) for e in cert.extensions)
    verdict = run([cert], csr, issuing.chain)
    assert verdict.ok, verdict.findings


# --- the expiry boundary, to the second (clock injected) ----------------------------

SECOND = dt.timedelta(seconds=1)


@pytest.mark.parametrize(("not_after", "expired"), [
    (NOW - SECOND, True),        # ran out one second ago: no grace of any length
    (NOW, False),                # not_valid_after == now: still valid
    (NOW + SECOND, False),
])
def test_identity_expiry_boundary(issuing: CA, not_after: dt.datetime,
                                  expired: bool) -> None:
    csr, _ = make_csr("pub.uc.example", ["pub.uc.example"])
    cert = issuing.sign_csr(csr, not_before=NOW - 30 * pki.DAY, not_after=not_after)
    verdict = run([cert], csr, issuing.chain)
    assert codes(verdict) == (["certificate-expired"] if expired else [])
    assert verdict.ok is not expired
    assert_messages(verdict)
