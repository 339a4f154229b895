"""Trust-store rules (domain.md §6): same-CN rule, root-first order, file names."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from tests import pki
from tests.pki import CA, NOW
from uccerts.domain.model import TrustEntry
from uccerts.domain.names import common_name
from uccerts.domain.truststore import (
    decide_trust_upload,
    order_root_first,
    trust_filename,
)

STORE = "tomcat-trust"


def entry(cert: x509.Certificate, filename: str = "Example_Root_CA.pem") -> TrustEntry:
    return TrustEntry("cucm-pub", STORE, filename, cert, "Trust Certificate")


def store_of(*entries: TrustEntry) -> Callable[[str], TrustEntry | None]:
    """The store's lookup by common name, over ``entries``."""
    by_cn = {common_name(e.certificate.subject): e for e in entries}
    return by_cn.get


def root_from(days_ago: int, cn: str = "Example Root CA", days: int = 3650) -> CA:
    return CA.root(cn, not_before=NOW - days_ago * pki.DAY, days=days)


def test_new_cn_is_added() -> None:
    root = root_from(10)
    [decision] = decide_trust_upload(STORE, [root.cert], store_of(), now=NOW)
    assert decision.action == "add" and decision.replaces is None and decision.finding is None


def test_same_serial_is_unchanged() -> None:
    root = root_from(10)
    [decision] = decide_trust_upload(STORE, [root.cert], store_of(entry(root.cert)), now=NOW)
    assert decision.action == "unchanged" and decision.finding is None


def test_later_from_replaces() -> None:
    old, new = root_from(100), root_from(10)
    [decision] = decide_trust_upload(STORE, [new.cert], store_of(entry(old.cert)), now=NOW)
    assert decision.action == "replace"
    assert decision.replaces == "Example_Root_CA.pem"


@pytest.mark.parametrize("days_ago", [100, 50])  # older, and the very same "From"
def test_older_or_equal_from_is_refused(days_ago: int) -> None:
    existing, upload = root_from(50), root_from(days_ago)
    [decision] = decide_trust_upload(STORE, [upload.cert], store_of(entry(existing.cert)),
                                     now=NOW)
    assert decision.action == "refuse" and decision.finding is not None
    assert decision.finding.code == "trust-not-newer"
    assert decision.finding.message == ("A certificate with the same common name and a later "
                                        "validity start already exists in tomcat-trust")
    assert decision.finding.detail["existing_filename"] == "Example_Root_CA.pem"
    assert decision.finding.fix


def test_expired_is_refused_even_when_new() -> None:
    expired = root_from(400, days=30)
    [decision] = decide_trust_upload(STORE, [expired.cert], store_of(), now=NOW)
    assert decision.action == "refuse" and decision.finding is not None
    assert decision.finding.code == "certificate-expired"
    assert decision.finding.message == "Certificate has expired and cannot be uploaded"


def test_same_cn_twice_in_one_upload_keeps_the_latest() -> None:
    old, new = root_from(100), root_from(10)
    decisions = decide_trust_upload(STORE, [old.cert, new.cert, new.cert], store_of(), now=NOW)
    assert [d.action for d in decisions] == ["refuse", "add", "unchanged"]
    assert decisions[0].finding is not None
    assert decisions[0].finding.code == "trust-not-newer"
    assert decisions[0].finding.detail["same_upload"] is True


def test_bundle_is_decided_root_first() -> None:
    root = root_from(10)
    issuing = root.intermediate("Example Issuing CA")
    sub = issuing.intermediate("Example Sub CA", pathlen=None)
    decisions = decide_trust_upload(STORE, [sub.cert, root.cert, issuing.cert], store_of(),
                                    now=NOW)
    assert [d.certificate for d in decisions] == [root.cert, issuing.cert, sub.cert]
    assert {d.action for d in decisions} == {"add"}


def test_order_root_first_in_any_order_and_keeps_strangers() -> None:
    root = root_from(10)
    chain = [root.cert]
    ca = root
    for n in range(4):
        ca = ca.intermediate(f"Level {n}", pathlen=None)
        chain.append(ca.cert)
    stranger = root_from(10, cn="Stranger").intermediate("Orphan").cert
    for seed in range(5):
        shuffled = [*chain, stranger]
        random.Random(seed).shuffle(shuffled)
        ordered = order_root_first(shuffled)
        assert ordered[:5] == chain
        assert ordered[5] == stranger  # its issuer is not in the file: last


def test_trust_filename() -> None:
    root = CA.root("Example Root CA / Lab*2")
    assert trust_filename(root.cert, set()) == "Example_Root_CA_Lab_2.pem"
    serial = f"{root.cert.serial_number:x}"
    assert trust_filename(root.cert, {"example_root_ca_lab_2.pem"}) == \
        f"Example_Root_CA_Lab_2_{serial}.pem"
    taken = {"Example_Root_CA_Lab_2.pem", f"Example_Root_CA_Lab_2_{serial}.pem"}
    assert trust_filename(root.cert, taken) == f"Example_Root_CA_Lab_2_{serial}_2.pem"


def test_trust_filename_without_a_common_name() -> None:
    key = pki.make_key("ec")
    subject = x509.Name([x509.NameAttribute(x509.NameOID.ORGANIZATION_NAME, "Old Corp"),
                         x509.NameAttribute(x509.NameOID.COUNTRY_NAME, "US")])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(NOW - pki.DAY).not_valid_after(NOW + pki.DAY)
            .sign(key, hashes.SHA256()))
    name = trust_filename(cert, [])
    assert name.endswith(".pem") and set(name) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
    assert "Old_Corp" in name


@pytest.mark.parametrize(("seconds", "expired"), [(-1, True), (0, False), (1, False)])
def test_expiry_boundary_to_the_second(seconds: int, expired: bool) -> None:
    # not_valid_after one second before now is expired; equal to now is still valid.
    ca = CA.root("Edge Root CA", not_before=NOW - 30 * pki.DAY,
                 not_after=NOW + dt.timedelta(seconds=seconds))
    [decision] = decide_trust_upload(STORE, [ca.cert], store_of(), now=NOW)
    if expired:
        assert decision.finding is not None
        assert decision.finding.code == "certificate-expired"
    else:
        assert decision.finding is None and decision.action == "add"
