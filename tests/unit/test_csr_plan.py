"""CSR planning and building: the Generate CSR dialog's rules (domain.md §4)."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from uccerts.domain.csr import CsrOptions, build_csr, plan_csr
from uccerts.domain.keys import generate_key
from uccerts.domain.model import Distribution, Node, WebSecurity
from uccerts.domain.names import sans_of
from uccerts.domain.purposes import KeyType, Role, default_services, purpose
from uccerts.errors import InvalidInput, UsageError

WS = WebSecurity("Collaboration", "Example", "CUCM", "CDMX", "MX")


def node(name: str, role: Role, domain: str = "domain.com", **kw: object) -> Node:
    return Node(hostname=name, domain=domain, address="127.0.1.1", role=role,
                services=default_services(role), web_security=kw.get("ws", WS))  # type: ignore[arg-type]


PUB = node("pub", Role.PUBLISHER)
SUB = node("sub", Role.SUBSCRIBER)
IMP = node("imp", Role.IMP)
CLUSTER = [PUB, SUB, IMP]


def test_this_server_names_the_node_and_its_parent_domain() -> None:
    plan = plan_csr(purpose("tomcat"), SUB, CLUSTER, "domain.com", CsrOptions())
    assert plan.common_name == "sub.domain.com"
    assert plan.sans == ("domain.com", "sub.domain.com")
    assert plan.nodes == ("sub",)
    assert (plan.key_type, plan.key_length, plan.hash) == (KeyType.RSA, 2048, "SHA256")


def test_multi_server_tomcat_matches_the_seed_example() -> None:
    plan = plan_csr(purpose("tomcat"), PUB, CLUSTER, "domain.com",
                    CsrOptions(distribution=Distribution.MULTI_SERVER))
    assert plan.common_name == "pub-ms.domain.com"
    assert set(plan.sans) == {"domain.com", "sub.domain.com", "pub.domain.com",
                              "imp.domain.com"}
    assert set(plan.nodes) == {"pub", "sub", "imp"}


def test_multi_server_scopes_follow_the_purpose() -> None:
    cm = plan_csr(purpose("CallManager"), PUB, CLUSTER, "domain.com",
                  CsrOptions(distribution=Distribution.MULTI_SERVER,
                             include_parent_domain=False))
    assert set(cm.sans) == {"pub.domain.com", "sub.domain.com"}
    ec_plan = plan_csr(purpose("tomcat-ECDSA"), PUB, CLUSTER, "domain.com",
                       CsrOptions(distribution=Distribution.MULTI_SERVER))
    assert ec_plan.common_name == "pub-EC-ms.domain.com"
    assert ec_plan.key_type is KeyType.EC and ec_plan.key_length == 256
    xmpp = plan_csr(purpose("cup-xmpp"), IMP, CLUSTER, "domain.com",
                    CsrOptions(distribution=Distribution.MULTI_SERVER))
    assert set(xmpp.nodes) == {"imp"}


def test_multi_server_refuses_ip_other_domains_and_purposes_without_it() -> None:
    with pytest.raises(InvalidInput) as err:
        plan_csr(purpose("tomcat"), PUB, CLUSTER, "domain.com",
                 CsrOptions(distribution=Distribution.MULTI_SERVER, extra_sans=("10.0.0.1",)))
    assert err.value.code == "ip-not-allowed"
    with pytest.raises(UsageError) as usage:
        plan_csr(purpose("ipsec"), PUB, CLUSTER, "domain.com",
                 CsrOptions(distribution=Distribution.MULTI_SERVER))
    assert usage.value.code == "multi-server-not-supported"


def test_this_server_tomcat_takes_alternate_host_names_including_ips() -> None:
    ws = WebSecurity("OU", "O", "L", "ST", "US", ("cucm.example.net", "10.1.1.1"))
    pub = node("pub", Role.PUBLISHER, ws=ws)
    plan = plan_csr(purpose("tomcat"), pub, [pub], "domain.com",
                    CsrOptions(include_parent_domain=False))
    assert plan.sans == ("pub.domain.com", "cucm.example.net", "10.1.1.1")
    # CallManager does not take the web-security alternate names.
    cm = plan_csr(purpose("CallManager"), pub, [pub], "domain.com",
                  CsrOptions(include_parent_domain=False))
    assert cm.sans == ("pub.domain.com",)


@pytest.mark.parametrize(("name", "role", "code"), [
    ("CAPF", Role.SUBSCRIBER, "purpose-not-on-node"),
    ("CallManager", Role.IMP, "purpose-not-on-node"),
    ("cup-xmpp", Role.PUBLISHER, "purpose-not-on-node"),
])
def test_purpose_must_apply_to_the_role(name: str, role: Role, code: str) -> None:
    with pytest.raises(UsageError) as err:
        plan_csr(purpose(name), node("n", role), CLUSTER, "domain.com", CsrOptions())
    assert err.value.code == code


def test_itlrecovery_has_no_csr() -> None:
    with pytest.raises(UsageError) as err:
        plan_csr(purpose("ITLRecovery"), PUB, CLUSTER, "domain.com", CsrOptions())
    assert err.value.code == "self-signed-only"


@pytest.mark.parametrize(("name", "length", "hash_name", "ok"), [
    ("tomcat", 1024, "SHA256", True),
    ("tomcat", 4096, "SHA512", True),
    ("tomcat", 1000, "SHA256", False),
    ("tomcat", 2048, "SHA1", False),  # cryptography makes no SHA-1 signatures
    ("tomcat-ECDSA", 384, "SHA384", True),
    ("tomcat-ECDSA", 384, "SHA256", False),  # EC: hash at least as strong as the key
    ("tomcat-ECDSA", 521, "SHA512", True),
    ("tomcat-ECDSA", 2048, None, False),
    ("tomcat", 2048, "MD5", False),
])
def test_key_length_and_hash_rules(name: str, length: int, hash_name: str | None,
                                   ok: bool) -> None:
    options = CsrOptions(key_length=length, hash=hash_name)
    if ok:
        plan = plan_csr(purpose(name), PUB, CLUSTER, "domain.com", options)
        assert plan.key_length == length
    else:
        with pytest.raises(UsageError):
            plan_csr(purpose(name), PUB, CLUSTER, "domain.com", options)


def test_wildcard_common_name_is_refused() -> None:
    with pytest.raises(InvalidInput) as err:
        plan_csr(purpose("tomcat"), PUB, CLUSTER, "domain.com",
                 CsrOptions(common_name="*.domain.com"))
    assert err.value.code == "wildcard-not-supported"


def test_exact_names_mode_uses_only_common_name_and_alt_names() -> None:
    plan = plan_csr(purpose("tomcat"), PUB, CLUSTER, "domain.com",
                    CsrOptions(common_name="pub.domain.com", extra_sans=("web.domain.com",),
                               exact_names=True))
    assert plan.sans == ("pub.domain.com", "web.domain.com")


def _ext(csr: x509.CertificateSigningRequest, cls: type) -> object:
    return csr.extensions.get_extension_for_class(cls).value


def test_built_rsa_csr_requests_the_purpose_usages_and_subject() -> None:
    plan = plan_csr(purpose("ipsec"), PUB, CLUSTER, "domain.com", CsrOptions())
    key = generate_key(plan.key_type, plan.key_length)
    csr = build_csr(plan, key)
    assert csr.is_signature_valid
    subject = {a.oid: a.value for a in csr.subject}
    assert subject[NameOID.COMMON_NAME] == "pub.domain.com"
    assert subject[NameOID.ORGANIZATIONAL_UNIT_NAME] == "Collaboration"
    assert subject[NameOID.COUNTRY_NAME] == "MX"
    ku = _ext(csr, x509.KeyUsage)
    assert isinstance(ku, x509.KeyUsage)
    assert ku.digital_signature and ku.key_encipherment and ku.data_encipherment
    eku = _ext(csr, x509.ExtendedKeyUsage)
    assert isinstance(eku, x509.ExtendedKeyUsage)
    assert ExtendedKeyUsageOID.SERVER_AUTH in eku and ExtendedKeyUsageOID.CLIENT_AUTH in eku
    assert x509.ObjectIdentifier("1.3.6.1.5.5.7.3.5") in eku  # IPsec end system
    assert sans_of(csr) == ["domain.com", "pub.domain.com"]


def test_built_ec_csr_agrees_keys_instead_of_enciphering() -> None:
    plan = plan_csr(purpose("CallManager-ECDSA"), PUB, CLUSTER, "domain.com",
                    CsrOptions(key_length=384, hash="SHA384"))
    key = generate_key(plan.key_type, plan.key_length)
    csr = build_csr(plan, key)
    assert isinstance(csr.public_key(), ec.EllipticCurvePublicKey)
    ku = _ext(csr, x509.KeyUsage)
    assert isinstance(ku, x509.KeyUsage)
    assert ku.key_agreement and not ku.key_encipherment and not ku.data_encipherment


def test_capf_csr_asks_to_be_a_subordinate_ca() -> None:
    plan = plan_csr(purpose("CAPF"), PUB, CLUSTER, "domain.com", CsrOptions())
    csr = build_csr(plan, generate_key(plan.key_type, 2048))
    bc = _ext(csr, x509.BasicConstraints)
    assert isinstance(bc, x509.BasicConstraints)
    assert bc.ca and bc.path_length == 0
    ku = _ext(csr, x509.KeyUsage)
    assert isinstance(ku, x509.KeyUsage)
    assert ku.key_cert_sign and not ku.key_encipherment


def test_without_ou_the_subject_has_no_ou() -> None:
    plan = plan_csr(purpose("tomcat"), PUB, CLUSTER, "domain.com", CsrOptions(include_ou=False))
    csr = build_csr(plan, generate_key(plan.key_type, 2048))
    assert not csr.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
