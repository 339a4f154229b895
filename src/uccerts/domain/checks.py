"""Upload checks of domain.md §5: small checks combined into a per-purpose profile.

Each check reads one ``UploadContext`` and returns its findings (none when it is
satisfied); ``identity_profile`` lists the checks of a purpose in §5's order and
``check_identity_upload`` runs all of them, so every finding is reported at once,
never only the first. Messages are the appliance's exact words; ``fix`` says what to
do and ``detail`` carries the data (the SANs a CA added or dropped, key hashes, …).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from uccerts.domain import extensions
from uccerts.domain.chain import ChainResult, Lookup, find_issuer_path, is_ca, verify_path
from uccerts.domain.codec import INVALID_FILE, INVALID_FILE_MESSAGE
from uccerts.domain.extensions import IPSEC_END_SYSTEM
from uccerts.domain.findings import Finding, Severity
from uccerts.domain.keys import public_key_hash, same_public_key
from uccerts.domain.model import SanMatch
from uccerts.domain.names import San, common_name, is_wildcard, san_set, sans_of
from uccerts.domain.purposes import NO_USAGE, KeyType, Purpose
from uccerts.domain.truststore import EXPIRED_CODE, EXPIRED_MESSAGE, order_root_first

MAX_RSA_BITS = 4096
CSR_PATH = "/usr/local/platform/.security/{p}/keys/{p}.csr"


@dataclass(frozen=True)
class UploadVerdict:
    """Everything ``check_identity_upload`` found about one uploaded file."""

    leaf: x509.Certificate | None
    ca_certificates: tuple[x509.Certificate, ...]  # the file's CA certificates, root first
    chain: tuple[x509.Certificate, ...]  # verified path leaf..root, () when none
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.is_error)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if not f.is_error)


@dataclass(frozen=True)
class UploadContext:
    """What every check may read: the leaf, the rest of the file, the CSR, the path."""

    purpose: Purpose
    leaf: x509.Certificate
    others: tuple[x509.Certificate, ...]
    csr: x509.CertificateSigningRequest | None
    path: ChainResult
    now: datetime
    san_match: SanMatch = SanMatch.EXACT
    strict: bool = False


Check = Callable[[UploadContext], list[Finding]]


# --- the checks, in §5's order ------------------------------------------------------


def not_expired(ctx: UploadContext) -> list[Finding]:
    """Rule 2: an expired leaf is refused; one not yet valid is accepted."""
    if ctx.leaf.not_valid_after_utc >= ctx.now:
        return []
    return [Finding(EXPIRED_CODE, EXPIRED_MESSAGE,
                    fix="Generate a new CSR, have the CA sign it and upload the new certificate",
                    detail={"not_after": ctx.leaf.not_valid_after_utc.isoformat()})]


def no_wildcard(ctx: UploadContext) -> list[Finding]:
    """Rule 3: no ``*`` in the CN or a SAN (the profile leaves it out for cup-xmpp-s2s)."""
    names = [common_name(ctx.leaf.subject), *_sans(ctx.leaf)]
    wild = [n for n in names if is_wildcard(n)]
    if not wild:
        return []
    return [Finding("wildcard-not-supported", "Wildcard certificates are not supported",
                    fix="Ask the CA for a certificate that lists each host name of the CSR "
                        "instead of a wildcard (only cup-xmpp-s2s accepts wildcards)",
                    detail={"names": wild})]


def csr_present(ctx: UploadContext) -> list[Finding]:
    """Rule 4: a CA-signed certificate is only accepted for a pending CSR."""
    if ctx.csr is not None:
        return []
    name = ctx.purpose.name
    return [Finding("csr-not-found", f"The file {CSR_PATH.format(p=name)} does not exist",
                    fix=f"Generate a CSR for {name}, have the CA sign it, then upload the "
                        "certificate it returns",
                    detail={"purpose": name})]


def csr_key_matches(ctx: UploadContext) -> list[Finding]:
    """Rule 5: the certificate certifies the CSR's key (the node keeps that key)."""
    if ctx.csr is None:
        return []
    cert_key, csr_key = _public_key(ctx.leaf), _public_key(ctx.csr)
    if cert_key is not None and csr_key is not None and same_public_key(cert_key, csr_key):
        return []
    return [Finding(
        "csr-key-mismatch", "CSR public key and certificate public key do not match",
        fix="This certificate was not issued for the pending CSR. Check that it is the "
            "certificate of this node and purpose; if the CSR was generated again after it "
            "was sent to the CA, send the current CSR to the CA and upload what it returns",
        detail={"certificate_key_sha256": _key_hash(cert_key),
                "csr_key_sha256": _key_hash(csr_key)},
    )]


def csr_sans_match(ctx: UploadContext) -> list[Finding]:
    """Rule 6: the same SAN set (DNS case-insensitive, IPs by value, order ignored);
    with ``san_match = superset`` names the CA added are accepted, dropped ones not."""
    if ctx.csr is None:
        return []
    cert_sans, csr_sans = _sans(ctx.leaf), _sans(ctx.csr)
    added = _missing_from(cert_sans, csr_sans)
    dropped = _missing_from(csr_sans, cert_sans)
    if not dropped and (not added or ctx.san_match is SanMatch.SUPERSET):
        return []
    return [Finding(
        "csr-san-mismatch", "CSR subject alternate name (SAN) and certificate SAN do not match",
        fix=_san_fix(added, dropped, csr_sans, ctx.san_match),
        detail={"added": added, "dropped": dropped, "csr_sans": csr_sans,
                "certificate_sans": cert_sans, "san_match": ctx.san_match.value},
    )]


def chain_trusted(ctx: UploadContext) -> list[Finding]:
    """Rule 7: a valid path to a root of the trust store or of the file. A missing
    issuer is ``ca-not-in-trust-store``; any other broken path (SHA-1, a bad
    signature, a CA without CA rights, an expired CA) says what is wrong."""
    path, store = ctx.path, ctx.purpose.trust_store or "the trust store"
    if path.ok:
        return []
    findings: list[Finding] = []
    if path.missing_issuer:
        findings.append(Finding(
            "ca-not-in-trust-store", "CA certificate is not available in the trust-store",
            fix=f"Upload the root CA certificate, then any intermediate, to {store} first, "
                "or upload a file that holds the whole chain with the certificate",
            detail={"trust_store": store, "reason": path.reason},
        ))
    if path.sha1 or not path.missing_issuer:
        fix = ("Ask the CA for certificates signed with SHA-256 or stronger: SHA-1 "
               "signatures are no longer accepted" if path.sha1 else
               "Check the CA certificates in the file and in the trust store: each must be "
               "a valid CA certificate (CA:TRUE, keyCertSign) that signed the one below it")
        findings.append(Finding(
            "chain-invalid", f"The certificate chain is not valid: {path.reason}", fix=fix,
            detail={"trust_store": store, "reason": path.reason, "sha1": path.sha1},
        ))
    return findings


def key_type_fits(ctx: UploadContext) -> list[Finding]:
    """Rule 8: RSA purposes need RSA ≤ 4096 bits, -ECDSA purposes an EC key."""
    key = _public_key(ctx.leaf)
    want = ctx.purpose.key_type
    if want is KeyType.RSA and isinstance(key, rsa.RSAPublicKey) and key.key_size <= MAX_RSA_BITS:
        return []
    if want is KeyType.EC and isinstance(key, ec.EllipticCurvePublicKey):
        return []
    need = "an RSA key of at most 4096 bits" if want is KeyType.RSA else "an EC key"
    return [Finding("key-type-mismatch",
                    "Certificate key type does not match the certificate purpose",
                    fix=f"{ctx.purpose.name} needs {need}: upload the certificate to the "
                        "purpose whose CSR it was issued for",
                    detail={"expected": want.value, "found": _describe_key(key)})]


def key_usage_present(ctx: UploadContext) -> list[Finding]:
    """Rule 9: the KU/EKU bits of domain.md §3 (and CAPF's CA:TRUE, pathlen:0).
    A warning unless ``strict``; an absent extension restricts nothing (RFC 5280)."""
    missing = _missing_usage(ctx.leaf, ctx.purpose)
    if not missing:
        return []
    name = ctx.purpose.name
    return [Finding(
        "key-usage-missing",
        f"Certificate is missing key usage required for {name}: {', '.join(missing)}",
        Severity.ERROR if ctx.strict else Severity.WARNING,
        fix=f"Ask the CA to sign with a template that keeps what the {name} CSR requests: "
            + ", ".join(missing),
        detail={"missing": missing},
    )]


def identity_profile(purpose: Purpose) -> tuple[Check, ...]:
    """The checks of an identity purpose, in the order of domain.md §5."""
    wildcard: tuple[Check, ...] = () if purpose.wildcard_allowed else (no_wildcard,)
    return (not_expired, *wildcard, csr_present, csr_key_matches, csr_sans_match,
            chain_trusted, key_type_fits, key_usage_present)


# --- the entry point -----------------------------------------------------------------


def check_identity_upload(
    purpose: Purpose,
    certificates: Sequence[x509.Certificate],
    pending_csr: x509.CertificateSigningRequest | None,
    trusted: Lookup,
    *,
    now: datetime,
    san_match: SanMatch = SanMatch.EXACT,
    strict: bool = False,
) -> UploadVerdict:
    """Run every check of ``purpose`` on an uploaded file (already parsed)."""
    certs = list(dict.fromkeys(certificates))  # a CA listed twice counts once
    leaf = pick_leaf(certs, pending_csr, allow_ca=purpose.usage.ca_pathlen0)
    if leaf is None:
        return UploadVerdict(None, (), (), (_no_leaf(purpose, certs),))
    others = tuple(c for c in certs if c != leaf)
    path = _verify_chain(leaf, others, trusted, now)
    ctx = UploadContext(purpose, leaf, others, pending_csr, path, now, san_match, strict)
    findings = tuple(f for check in identity_profile(purpose) for f in check(ctx))
    chain = path.chain if path.ok else ()
    return UploadVerdict(leaf, _file_cas(others, chain), chain, findings)


def pick_leaf(certs: Sequence[x509.Certificate],
              csr: x509.CertificateSigningRequest | None = None,
              *, allow_ca: bool = False) -> x509.Certificate | None:
    """The certificate of the node: one that issued nothing else in the file.

    Non-CA certificates come first, then (``allow_ca``: CAPF, whose certificate is a
    subordinate CA) CA certificates that are not self-issued, then self-signed non-CA
    ones; roots never. Among those, the one holding the CSR's key wins, else the first.
    """
    issuers = {c.issuer for c in certs if c.subject != c.issuer}
    ends = [c for c in certs if c.subject not in issuers]
    tiers = (
        [c for c in ends if c.subject != c.issuer and not is_ca(c)],
        [c for c in ends if c.subject != c.issuer and is_ca(c) and allow_ca],
        [c for c in ends if c.subject == c.issuer and not is_ca(c)],
    )
    candidates = [c for tier in tiers for c in tier]
    csr_key = _public_key(csr) if csr is not None else None
    if csr_key is not None:
        for cert in candidates:
            key = _public_key(cert)
            if key is not None and same_public_key(key, csr_key):
                return cert
    return candidates[0] if candidates else None


# --- helpers -------------------------------------------------------------------------


def _verify_chain(leaf: x509.Certificate, others: Sequence[x509.Certificate],
                  trusted: Lookup, now: datetime) -> ChainResult:
    intermediates, roots = find_issuer_path(leaf, trusted, others)
    # The leaf's own dates are rule 2's business (not-yet-valid is even allowed):
    # verify at an instant inside its validity so only the path itself is judged.
    at = min(max(now, leaf.not_valid_before_utc), leaf.not_valid_after_utc)
    return verify_path(leaf, intermediates, roots, at=at)


def _file_cas(others: Sequence[x509.Certificate], chain: Sequence[x509.Certificate]
              ) -> tuple[x509.Certificate, ...]:
    """CA certificates of the file that the verified path uses, root first: unrelated
    extras are not imported into the trust store."""
    return tuple(order_root_first([c for c in others if c in chain and is_ca(c)]))


def _no_leaf(purpose: Purpose, certs: Sequence[x509.Certificate]) -> Finding:
    why = "the file holds only CA certificates" if certs else "the file holds no certificate"
    return Finding(INVALID_FILE, INVALID_FILE_MESSAGE,
                   fix=f"Upload the certificate the CA issued for the {purpose.name} CSR; "
                       f"CA certificates go to {purpose.trust_store or 'a trust store'}",
                   detail={"reason": why})


def _public_key(obj: x509.Certificate | x509.CertificateSigningRequest) -> object | None:
    try:
        return obj.public_key()
    except (ValueError, UnsupportedAlgorithm):
        return None


def _key_hash(key: object | None) -> str:
    return public_key_hash(key) if key is not None else ""


def _describe_key(key: object | None) -> str:
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA {key.key_size}"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"EC {key.curve.key_size}"
    return "unsupported" if key is None else type(key).__name__


def _sans(obj: x509.Certificate | x509.CertificateSigningRequest) -> list[str]:
    try:
        return sans_of(obj)
    except ValueError:  # malformed extensions: no usable SAN
        return []


def _missing_from(names: list[str], other: list[str]) -> list[str]:
    """Names of ``names`` absent from ``other`` (compared as §5 says), in their order."""
    have = san_set(other)
    out: list[str] = []
    for n in names:
        if San.parse(n) not in have and n not in out:
            out.append(n)
    return out


def _san_fix(added: list[str], dropped: list[str], csr_sans: list[str],
             san_match: SanMatch) -> str:
    what = []
    if added:
        what.append("added " + ", ".join(added))
    if dropped:
        what.append("dropped " + ", ".join(dropped))
    fix = (f"The CA {' and '.join(what)}. Either ask the CA to issue the certificate "
           f"with exactly the CSR's names ({', '.join(csr_sans) or 'none'}), or generate a "
           "new CSR that matches what the CA issues (for example drop the parent domain, "
           "drop -ms) and have it signed again")
    if added and not dropped and san_match is SanMatch.EXACT:
        fix += "; or set san_match = superset to accept names the CA adds"
    return fix


_KU_LABELS = {"digital_signature": "digitalSignature", "key_encipherment": "keyEncipherment",
              "data_encipherment": "dataEncipherment", "key_agreement": "keyAgreement",
              "key_cert_sign": "keyCertSign"}
_EKU_LABELS = {ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth",
               ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth",
               IPSEC_END_SYSTEM: "IPsec end system"}


def _missing_usage(cert: x509.Certificate, purpose: Purpose) -> list[str]:
    """The bits the CSR asked for (extensions.py, domain.md §3) that the certificate
    lacks; an absent extension restricts nothing (RFC 5280)."""
    if purpose.usage == NO_USAGE:
        return []
    missing: list[str] = []
    requested = extensions.key_usage(purpose)
    ku = _extension(cert, x509.KeyUsage)
    if isinstance(ku, x509.KeyUsage):
        missing += [label for attr, label in _KU_LABELS.items()
                    if getattr(requested, attr) and not getattr(ku, attr)]
    wanted = extensions.extended_key_usage(purpose)
    eku = _extension(cert, x509.ExtendedKeyUsage)
    if wanted and isinstance(eku, x509.ExtendedKeyUsage) and \
            ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE not in eku:
        missing += [_EKU_LABELS[oid] for oid in wanted if oid not in eku]
    if purpose.usage.ca_pathlen0:
        bc = _extension(cert, x509.BasicConstraints)
        if not (isinstance(bc, x509.BasicConstraints) and bc.ca and bc.path_length == 0):
            missing.append("basicConstraints CA:TRUE pathlen:0")
    return missing


def _extension(cert: x509.Certificate, kind: type[x509.ExtensionType]
               ) -> x509.ExtensionType | None:
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except (x509.ExtensionNotFound, ValueError):
        return None
