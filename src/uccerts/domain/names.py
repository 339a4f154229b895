"""Names: subjects, SANs, FQDN/IP parsing, wildcard detection (domain.md §4, §5)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import NameOID

from uccerts.errors import InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def parse_ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def is_fqdn(text: str) -> bool:
    name = text.strip().rstrip(".")
    if not name or len(name) > 253 or parse_ip(name) is not None:
        return False
    return all(_LABEL.match(label) for label in name.split("."))


def check_dns_name(text: str, *, what: str = "name") -> str:
    name = text.strip().rstrip(".")
    if not is_fqdn(name):
        raise InvalidInput(
            f"'{text}' is not a valid host name for {what}",
            code="invalid-name",
            fix="Use letters, digits and hyphens in dot-separated labels, e.g. pub.uc.example",
        )
    return name


@dataclass(frozen=True, order=True)
class San:
    """One subject alternative name, normalised for comparison."""

    kind: str  # "dns" | "ip"
    value: str  # DNS: lower-case; IP: canonical text

    @classmethod
    def parse(cls, text: str) -> San:
        raw = text.strip()
        for prefix in ("DNS:", "IP:", "IP Address:"):
            if raw.upper().startswith(prefix.upper()):
                raw = raw[len(prefix):].strip()
        ip = parse_ip(raw)
        if ip is not None:
            return cls("ip", str(ip))
        return cls("dns", raw.rstrip(".").lower())

    def to_general_name(self) -> x509.GeneralName:
        if self.kind == "ip":
            return x509.IPAddress(ipaddress.ip_address(self.value))
        return x509.DNSName(self.value)

    def __str__(self) -> str:
        return self.value


def sans_of(obj: x509.Certificate | x509.CertificateSigningRequest) -> list[str]:
    """The SANs as plain strings (cli.md: no ``DNS:`` prefix), in their written order."""
    try:
        ext = obj.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    out: list[str] = []
    for gn in ext:
        if isinstance(gn, x509.DNSName):
            out.append(gn.value)
        elif isinstance(gn, x509.IPAddress):
            out.append(str(gn.value))
        elif isinstance(gn, x509.RFC822Name | x509.UniformResourceIdentifier):
            out.append(gn.value)
    return out


def unique_sans(names: Iterable[str]) -> tuple[str, ...]:
    """Normalised names (DNS lower-case, IPs canonical), first occurrence kept."""
    seen: dict[San, None] = {}
    for name in names:
        seen.setdefault(San.parse(name))
    return tuple(s.value for s in seen)


def san_set(names: Iterable[str]) -> frozenset[San]:
    """DNS names compare case-insensitively, IPs by value, order ignored (§5 rule 6)."""
    return frozenset(San.parse(n) for n in names)


def is_wildcard(name: str) -> bool:
    return "*" in name


def common_name(name: x509.Name) -> str:
    attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not attrs:
        return ""
    value = attrs[0].value
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


RDN_ORDER = (
    ("CN", NameOID.COMMON_NAME),
    ("OU", NameOID.ORGANIZATIONAL_UNIT_NAME),
    ("O", NameOID.ORGANIZATION_NAME),
    ("L", NameOID.LOCALITY_NAME),
    ("ST", NameOID.STATE_OR_PROVINCE_NAME),
    ("C", NameOID.COUNTRY_NAME),
)


def rdns(name: x509.Name) -> dict[str, str]:
    """CN, OU, O, L, ST, C of a name (empty string when absent)."""
    out: dict[str, str] = {}
    for label, oid in RDN_ORDER:
        attrs = name.get_attributes_for_oid(oid)
        value = attrs[0].value if attrs else ""
        out[label] = value if isinstance(value, str) else value.decode("utf-8", "replace")
    return out


def subject_line(name: x509.Name) -> str:
    """``CN = …, OU = …, O = …, L = …, ST = …, C = …`` (present fields only, §11)."""
    return ", ".join(f"{k} = {v}" for k, v in rdns(name).items() if v)


def check_text(value: str, what: str) -> str:
    """Subject text must be UTF-8 (argv bytes that are not decode to surrogates)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"The {what} is not valid UTF-8 text: {value!r}",
                           code="invalid-subject",
                           fix="Use UTF-8 text (check the terminal's or file's encoding)"
                           ) from None
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise InvalidInput(f"The {what} contains control characters: {value!r}",
                           code="invalid-subject", fix="Use printable text only")
    return value


def build_subject(cn: str, *, ou: str = "", o: str = "", locality: str = "", st: str = "",
                  c: str = "") -> x509.Name:
    attrs = []
    for label, oid, value in (
        ("common name", NameOID.COMMON_NAME, cn),
        ("organizational unit", NameOID.ORGANIZATIONAL_UNIT_NAME, ou),
        ("organization", NameOID.ORGANIZATION_NAME, o),
        ("locality", NameOID.LOCALITY_NAME, locality),
        ("state", NameOID.STATE_OR_PROVINCE_NAME, st),
        ("country", NameOID.COUNTRY_NAME, c),
    ):
        if value:
            check_text(value, label)
            try:
                attrs.append(x509.NameAttribute(oid, value))
            except ValueError as exc:  # a country that is not two letters, a CN over 64
                raise InvalidInput(
                    f"Invalid {label} '{value}': {exc}",
                    code="invalid-subject",
                    fix="Country is a two-letter code such as US; the common name is at "
                        "most 64 characters",
                ) from exc
    return x509.Name(attrs)


def safe_filename(text: str) -> str:
    """File names in ``[A-Za-z0-9_.-]`` (domain.md §6, §12)."""
    out = re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._")[:100]
    return out or "certificate"
