"""x509-limbo through ``uccerts.domain.chain``: never accept what the suite rejects.

The suite (shared/vectors/x509-limbo, see its README) is looked up next to the
repository. Every case runs through ``verify_server`` / ``verify_client`` (the
standard policies); the cases they accept although the suite expects a failure are
listed below with the reason, and nothing else may be accepted. The upload policy
(``verify_path``) is checked too: it is relaxed on purpose for the leaf (no EKU, KU,
name or SAN demand; a CAPF leaf is a CA), and only for the cases listed for that.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import warnings
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.utils import CryptographyDeprecationWarning

from uccerts.domain.chain import ChainResult, verify_client, verify_path, verify_server

LIMBO = Path(__file__).resolve().parents[2] / ".." / "shared" / "vectors" / "x509-limbo" / \
    "limbo.json"
# Cases without a validation time are valid from 1970 to 2969: any fixed instant works.
DEFAULT_TIME = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)

_CRL = "revocation is not checked: cryptography's verifier has no CRL support and " \
       "uccerts does not fetch or store CRLs"
_CN = "the CN must repeat a SAN in the Web PKI; cryptography ignores the CN for name " \
      "matching, so a CN that differs from the SANs cannot mislead it"
_ROOT_AKI = "trust anchors are taken as given: cryptography 44 stopped checking a root's " \
            "AKI because real roots carry such AKIs"
_PEDANTIC = "a CA/B Forum issuance rule (tagged pedantic by the suite), not a path-validation " \
            "rule; cryptography does not enforce it"
_KEY_IDS = "AKI/SKI presence is an RFC 5280 rule for issuing CAs; cryptography, like most " \
           "validators, builds paths without requiring them"

# Cases the standard policies accept although the suite expects a failure.
DEVIATIONS: dict[str, str] = {
    "crl::revoked-certificate-with-crl": _CRL,
    "crl::crlnumber-missing": _CRL,
    "crl::crlnumber-critical": _CRL,
    "crl::issuer-missing-crlsign": _CRL,
    **{f"webpki::cn::{c}": _CN for c in (
        "ipv4-hex-mismatch", "ipv4-leading-zeros-mismatch", "ipv6-uppercase-mismatch",
        "ipv6-uncompressed-mismatch", "ipv6-non-rfc5952-mismatch", "punycode-not-in-san",
        "utf8-vs-punycode-mismatch", "not-in-san", "case-mismatch")},
    **{f"webpki::aki::root-with-aki-{c}": _ROOT_AKI for c in (
        "authoritycertissuer", "authoritycertserialnumber", "all-fields", "ski-mismatch")},
    "webpki::eku::ee-anyeku": _PEDANTIC,
    "webpki::eku::ee-without-eku": _PEDANTIC,
    "webpki::eku::root-has-eku": _PEDANTIC,
    "webpki::san::public-suffix-wildcard-san": _PEDANTIC + " (public suffix list)",
    "webpki::san::public-suffix-multi-label-wildcard-san": _PEDANTIC + " (public suffix list)",
    "webpki::san::public-suffix-private-namespace-wildcard-san":
        _PEDANTIC + " (public suffix list)",
    "webpki::forbidden-p192-leaf": _PEDANTIC + " (subscriber key)",
    "webpki::forbidden-dsa-leaf": _PEDANTIC + " (subscriber key)",
    "webpki::forbidden-weak-rsa-in-leaf": _PEDANTIC + " (subscriber key)",
    "webpki::forbidden-rsa-key-not-divisible-by-8-in-leaf": _PEDANTIC + " (subscriber key)",
    "webpki::forbidden-rsa-not-divisible-by-8-in-root":
        "trust anchors are taken as given: a root's key size is not judged",
    "rfc5280::serial::zero": _PEDANTIC + " (cryptography warns on a zero serial)",
    "rfc5280::aki::cross-signed-root-missing-aki": _KEY_IDS,
    "rfc5280::aki::intermediate-missing-aki": _KEY_IDS,
    "rfc5280::ski::root-missing-ski": _KEY_IDS,
    "rfc5280::ski::intermediate-missing-ski": _KEY_IDS,
    "rfc5280::nc::permitted-dns-match-noncritical":
        "RFC 5280 wants name constraints critical, the Web PKI allows them non-critical; "
        "cryptography follows the Web PKI",
    "rfc5280::pc::ica-noncritical-pc": "policy constraints are not processed by cryptography",
}

# Cases the standard policies refuse although the suite expects success: stricter is
# safe, listed so that a change in behaviour is noticed.
STRICTER = {
    "crl::issuer-no-keyusage-extension",  # a CA without KeyUsage is refused (Web PKI)
    "pathlen::validation-ignores-pathlen-in-leaf",  # a CA leaf is refused by the server policy
    "rfc5280::ca-as-leaf",  # same
    "pathlen::self-issued-certs-pathlen",  # self-issued re-keys are not walked
    "pathlen::max-chain-depth-1-self-issued",  # same
}

# Server cases without an expected peer name cannot run through the server policy.
NO_PEER_NAME = {"rfc5280::nc::permitted-dn-match"}

_LEAF_PURPOSE = "the upload policy leaves the leaf's EKU/KU to the purpose checks (domain.md §3)"
_LEAF_NAME = "an upload names no peer: its SANs are compared with the CSR's instead (§5 rule 6)"
_LEAF_CA = "a CAPF leaf is a CA (CA:TRUE, pathlen:0), so the upload policy allows a CA leaf"
# Cases ``verify_path`` (uploads) accepts beyond DEVIATIONS, all of them on purpose.
UPLOAD_RELAXED: dict[str, str] = {
    "rfc5280::aki::leaf-missing-aki": ("uploads accept a leaf without AKI: older tools "
                                       "(OpenSSL 1.1 x509 -req) issue such leaves and the "
                                       "issuer is found by name and signature"),
    "rfc5280::eku::ee-wrong-eku": _LEAF_PURPOSE,
    "rfc5280::eku::ee-eku-empty": _LEAF_PURPOSE,
    "webpki::eku::ee-critical-eku": _LEAF_PURPOSE,
    "rfc5280::leaf-ku-keycertsign": _LEAF_PURPOSE,
    "webpki::ee-basicconstraints-ca": _LEAF_CA,
    "webpki::ca-as-leaf": _LEAF_CA,
    "rfc5280::ca-as-leaf-wrong-san": _LEAF_CA + "; " + _LEAF_NAME,
    **{f"rfc5280::san::{c}": _LEAF_NAME for c in (
        "noncritical-with-empty-subject", "underscore-dns", "ip-in-dns")},
    **{f"webpki::san::{c}": _LEAF_NAME for c in (
        "mismatch-domain-san", "mismatch-subdomain-san", "mismatch-subdomain-apex-san",
        "mismatch-apex-subdomain-san", "wildcard-embedded-leftmost-san",
        "wildcard-not-in-leftmost-san", "wildcard-match-across-labels-san",
        "wildcard-embedded-ulabel-san", "unicode-emoji-san", "no-san",
        "san-critical-with-nonempty-subject", "san-wildcard-only", "san-wildcard-only-tld")},
    "pathlen::max-chain-depth-0-exhausted": "uploads use the fixed depth limit of chain.py "
                                            "(8), not the case's smaller one",
    "pathlen::max-chain-depth-1-exhausted": "same: the case's depth limit is not applied",
    "pathological::nc-dos-3": "the constraints are on directory names, which cryptography "
                              "does not check; the server policy only refuses the case "
                              "because the leaf has no SAN",
}


@dataclass(frozen=True)
class Case:
    id: str
    expected_ok: bool
    server: bool
    peer: x509.Certificate
    intermediates: list[x509.Certificate]
    roots: list[x509.Certificate]
    at: dt.datetime
    name: str | ipaddress.IPv4Address | ipaddress.IPv6Address | None
    max_depth: int | None


def _case(raw: dict[str, Any]) -> Case:
    def load(pems: list[str]) -> list[x509.Certificate]:
        return [x509.load_pem_x509_certificate(p.encode()) for p in pems]

    peer_name = raw["expected_peer_name"]
    name: str | ipaddress.IPv4Address | ipaddress.IPv6Address | None = None
    if peer_name is not None:
        value = peer_name["value"]
        name = ipaddress.ip_address(value) if peer_name["kind"] == "IP" else value
    at = raw["validation_time"]
    return Case(raw["id"], raw["expected_result"] == "SUCCESS",
                raw["validation_kind"] == "SERVER", load([raw["peer_certificate"]])[0],
                load(raw["untrusted_intermediates"]), load(raw["trusted_certs"]),
                dt.datetime.fromisoformat(at) if at else DEFAULT_TIME, name,
                raw["max_chain_depth"])


@cache
def _cases() -> tuple[Case, ...]:
    if not LIMBO.is_file():
        pytest.skip(f"x509-limbo vectors not found at {LIMBO} (shared/vectors next to the "
                    "repository)")
    raw = json.loads(LIMBO.read_text())["testcases"]
    with warnings.catch_warnings():  # rfc5280::serial::zero makes cryptography warn
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        return tuple(_case(tc) for tc in raw)


def _standard(case: Case) -> ChainResult | None:
    if case.server:
        if case.name is None:
            return None
        return verify_server(case.peer, case.intermediates, case.roots, at=case.at,
                             name=case.name, max_depth=case.max_depth)
    return verify_client(case.peer, case.intermediates, case.roots, at=case.at,
                         max_depth=case.max_depth)


@cache
def _standard_outcomes() -> dict[str, bool | None]:
    return {c.id: (r.ok if (r := _standard(c)) is not None else None) for c in _cases()}


def test_suite_size() -> None:
    cases = _cases()
    assert len(cases) == 208
    assert Counter((c.server, c.expected_ok) for c in cases) == {
        (True, True): 58, (True, False): 140, (False, True): 5, (False, False): 5}


def test_standard_policies_never_accept_an_expected_failure_unless_listed() -> None:
    outcomes = _standard_outcomes()
    accepted_bad = {c.id for c in _cases() if not c.expected_ok and outcomes[c.id]}
    assert accepted_bad == set(DEVIATIONS), (
        f"new: {sorted(accepted_bad - set(DEVIATIONS))}, "
        f"no longer: {sorted(set(DEVIATIONS) - accepted_bad)}")


def test_standard_policies_counts() -> None:
    outcomes = _standard_outcomes()
    cases = _cases()
    agree = sum(1 for c in cases if outcomes[c.id] is c.expected_ok)
    refused_good = {c.id for c in cases if c.expected_ok and outcomes[c.id] is False}
    not_run = {c.id for c in cases if outcomes[c.id] is None}
    assert refused_good == STRICTER
    assert not_run == NO_PEER_NAME
    assert agree == 208 - len(DEVIATIONS) - len(STRICTER) - len(NO_PEER_NAME) == 167


def test_upload_policy_relaxes_only_the_leaf() -> None:
    accepted_bad = set()
    for case in _cases():
        result = verify_path(case.peer, case.intermediates, case.roots, at=case.at)
        if result.ok and not case.expected_ok:
            accepted_bad.add(case.id)
    extra = accepted_bad - set(DEVIATIONS)
    assert extra == set(UPLOAD_RELAXED), (
        f"new: {sorted(extra - set(UPLOAD_RELAXED))}, "
        f"no longer: {sorted(set(UPLOAD_RELAXED) - extra)}")


def test_upload_policy_accepts_what_the_standard_policies_accept() -> None:
    outcomes = _standard_outcomes()
    for case in _cases():
        if outcomes[case.id]:
            result = verify_path(case.peer, case.intermediates, case.roots, at=case.at)
            assert result.ok, (case.id, result.reason)


def test_every_listed_deviation_has_a_reason() -> None:
    for table in (DEVIATIONS, UPLOAD_RELAXED):
        assert all(reason.strip() for reason in table.values())
