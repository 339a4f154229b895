"""ITL, CTL and phone config files (domain.md §9), as signed files (``signedfile``).

- The **ITL** of a TFTP node lists the CallManager certificates of the TFTP nodes (role
  CCM+TFTP), every TVS certificate and the CAPF certificate; the TFTP node signs it
  with its CallManager key.
- The **CTL** (mixed mode) lists CallManager/TFTP and CAPF certificates; the
  ITLRecovery certificate signs it and is listed as SAST.
- A **config** file tells one phone its CallManager and TVS; signed like the ITL.

Records are written in a stable order (role CCM+TFTP, TVS, CAPF, SAST, then node name)
so the same inputs give the same bytes. ``read_trust_list`` is memoised on the bytes:
every phone of a cluster reads the same ITL, and a ``TrustList`` is immutable.
Formats: docs/trust-lists.md.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NoReturn, TypeAlias

from cryptography import x509

from uccerts.domain.codec import certificate_pem, load_certificates
from uccerts.domain.inspect import iso_utc
from uccerts.domain.keys import PrivateKey
from uccerts.domain.signedfile import cert_sha256, read_file, sign_file
from uccerts.errors import InvalidInput

ITL = "ITL"
CTL = "CTL"
CONFIG = "CONFIG"
VERSION = 1

TRUST_LIST_INVALID = "trust-list-invalid"
CONFIG_INVALID = "config-invalid"
ITL_EMPTY = "itl-empty"

_ISSUED = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_MAC = re.compile(r"[0-9A-F]{12}")
_MAC_SEPARATORS = re.compile(r"[:.\-]")

_Fail: TypeAlias = Callable[[str], NoReturn]


class TrustRole(StrEnum):
    CCM_TFTP = "CCM+TFTP"  # CallManager certificate of a TFTP node
    TVS = "TVS"
    CAPF = "CAPF"
    SAST = "SAST"  # the CTL's signer (ITLRecovery certificate)


_ROLE_ORDER = {role: i for i, role in enumerate(TrustRole)}
_PURPOSE_ROLES = {"callmanager": TrustRole.CCM_TFTP, "tvs": TrustRole.TVS,
                  "capf": TrustRole.CAPF, "itlrecovery": TrustRole.SAST}


@dataclass(frozen=True)
class TrustRecord:
    role: TrustRole
    node: str  # host name the certificate belongs to
    certificate: x509.Certificate

    @property
    def sha256(self) -> str:
        return cert_sha256(self.certificate)


def _normal_sha256(sha256: str) -> str:
    # Accept the seed's display form (AA:BB:...) as well as plain hex.
    return sha256.replace(":", "").lower()


@dataclass(frozen=True)
class TrustList:
    kind: str  # "ITL" or "CTL"
    records: tuple[TrustRecord, ...]
    signer: x509.Certificate
    raw: bytes
    sha256: str  # of raw
    # (fingerprint, role) of every record: has() is called for every phone.
    _index: frozenset[tuple[str, TrustRole]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index",
                           frozenset((r.sha256, r.role) for r in self.records))

    def has(self, sha256: str, roles: Collection[TrustRole] | None = None) -> bool:
        """Is a certificate with this fingerprint listed (with one of ``roles``)?"""
        wanted = _normal_sha256(sha256)
        candidates = TrustRole if roles is None else roles
        return any((wanted, role) in self._index for role in candidates)

    @property
    def signer_sha256(self) -> str:
        return cert_sha256(self.signer)


def _sort_key(record: TrustRecord) -> tuple[int, str, str]:
    return (_ROLE_ORDER[record.role], record.node, record.sha256)


def _ordered(records: Iterable[TrustRecord]) -> tuple[TrustRecord, ...]:
    unique = {(r.role, r.node, r.sha256): r for r in records}
    return tuple(sorted(unique.values(), key=_sort_key))


def itl_records(certs: Iterable[tuple[str, str, x509.Certificate]]
                ) -> tuple[TrustRecord, ...]:
    """Records from (node, purpose, certificate): CallManager → CCM+TFTP, TVS, CAPF,
    ITLRecovery → SAST (purpose names case-insensitive); other purposes are ignored."""
    return _ordered(TrustRecord(_PURPOSE_ROLES[purpose.lower()], node, cert)
                    for node, purpose, cert in certs
                    if purpose.lower() in _PURPOSE_ROLES)


def build_itl(records: Sequence[TrustRecord], signer: x509.Certificate, key: PrivateKey,
              *, issued: dt.datetime) -> bytes:
    if not records:
        raise InvalidInput("An ITL needs at least one certificate", code=ITL_EMPTY,
                           fix="List the CallManager, TVS and CAPF certificates of the "
                               "cluster")
    return _build(ITL, records, signer, key, issued)


def build_ctl(records: Sequence[TrustRecord], signer: x509.Certificate, key: PrivateKey,
              *, issued: dt.datetime) -> bytes:
    return _build(CTL, records, signer, key, issued)


def _build(kind: str, records: Sequence[TrustRecord], signer: x509.Certificate,
           key: PrivateKey, issued: dt.datetime) -> bytes:
    body = {"version": VERSION, "issued": iso_utc(issued),
            "records": [{"role": r.role.value, "node": r.node,
                         "certificate": certificate_pem(r.certificate)}
                        for r in _ordered(records)]}
    return sign_file(kind, body, signer, key)


def read_trust_list(data: bytes, kind: str) -> TrustList:
    """Verify and read an ITL or CTL; the same bytes give the same (immutable) value."""
    if kind not in (ITL, CTL):
        _bad_list(f"{kind!r} is not a trust list kind (ITL or CTL)")
    return _read_trust_list(bytes(data), kind)


@functools.lru_cache(maxsize=16)
def _read_trust_list(data: bytes, kind: str) -> TrustList:
    signed = read_file(data, kind=kind)
    body = signed.body
    _check_keys(body, {"version", "issued", "records"}, "the body", _bad_list)
    if type(body["version"]) is not int or body["version"] != VERSION:
        _bad_list(f"version {body['version']!r} is not supported (only {VERSION})")
    if not _is_issued(body["issued"]):
        _bad_list("issued is not an ISO 8601 UTC time (YYYY-MM-DDTHH:MM:SSZ)")
    if not isinstance(body["records"], list):
        _bad_list("records is not a list")
    records = tuple(_record(i, item) for i, item in enumerate(body["records"]))
    return TrustList(kind=signed.kind, records=records, signer=signed.signer,
                     raw=signed.raw, sha256=signed.sha256)


def _is_issued(value: object) -> bool:
    if not isinstance(value, str) or not _ISSUED.fullmatch(value):
        return False
    try:
        dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:  # 2026-13-45T...
        return False
    return True


def _record(index: int, item: object) -> TrustRecord:
    where = f"record {index + 1}"
    if not isinstance(item, dict):
        _bad_list(f"{where} is not an object")
    _check_keys(item, {"role", "node", "certificate"}, where, _bad_list)
    role, node, pem = item["role"], item["node"], item["certificate"]
    if role not in tuple(TrustRole):
        _bad_list(f"{where} has an unknown role {str(role)[:40]!r}")
    if not isinstance(node, str) or not node:
        _bad_list(f"{where} has no node name")
    if not isinstance(pem, str):
        _bad_list(f"{where} has no PEM certificate")
    return TrustRecord(TrustRole(role), node, _certificate(pem, where, _bad_list))


def _bad_list(why: str) -> NoReturn:
    raise InvalidInput("The trust list is not valid", code=TRUST_LIST_INVALID,
                       fix="Rebuild the file (utils itl regenerate, utils ctl update "
                           "CTLFile) or download it again", detail=why)


def _check_keys(obj: Mapping[str, Any], keys: set[str], where: str,
                fail: _Fail) -> None:
    missing = sorted(keys - obj.keys())
    extra = sorted(obj.keys() - keys)
    if missing:
        fail(f"{where} has no {', '.join(missing)}")
    if extra:
        fail(f"{where} has unexpected field {', '.join(repr(k[:40]) for k in extra)}")


def _certificate(pem: str, where: str, fail: _Fail) -> x509.Certificate:
    try:
        certs = load_certificates(pem.encode("utf-8"))
    except UnicodeError:
        fail(f"{where}: the certificate is not PEM text")
    except InvalidInput as exc:
        fail(f"{where}: the certificate cannot be read: {exc.detail}")
    if len(certs) != 1:
        fail(f"{where}: the certificate field holds {len(certs)} certificates, not one")
    return certs[0]


# --------------------------------------------------------------------------- configs


@dataclass(frozen=True)
class PhoneConfig:
    mac: str
    callmanager: tuple[str, str, int]  # (node host name, address, port)
    tvs: tuple[str, str, int]  # TVS the phone asks
    security_mode: int  # 0 non-secure, 1 mixed
    signer: x509.Certificate


def normal_mac(mac: str) -> str:
    """12 upper-case hex digits, as in ``SEP<MAC>.cnf.xml.sgn``; separators dropped."""
    compact = _MAC_SEPARATORS.sub("", mac).upper() if isinstance(mac, str) else ""
    if not _MAC.fullmatch(compact):
        raise InvalidInput(f"{str(mac)[:40]!r} is not a MAC address", code="invalid-mac",
                           fix="Give 12 hex digits, e.g. 00AABBCCDDEE or 00:AA:BB:CC:DD:EE")
    return compact


def build_config(mac: str, callmanager: tuple[str, str, int], tvs: tuple[str, str, int],
                 security_mode: int, signer: x509.Certificate, key: PrivateKey) -> bytes:
    """The signed config of one phone (kind CONFIG)."""
    body = {"version": VERSION, "mac": normal_mac(mac),
            "callmanager": _endpoint_json(callmanager, "callmanager", _bad_config_arg),
            "tvs": _endpoint_json(tvs, "tvs", _bad_config_arg),
            "security_mode": _security_mode(security_mode, _bad_config_arg)}
    return sign_file(CONFIG, body, signer, key)


def read_config(data: bytes) -> PhoneConfig:
    signed = read_file(data, kind=CONFIG)
    body = signed.body
    _check_keys(body, {"version", "mac", "callmanager", "tvs", "security_mode"},
                "the body", _bad_config)
    if type(body["version"]) is not int or body["version"] != VERSION:
        _bad_config(f"version {body['version']!r} is not supported (only {VERSION})")
    mac = body["mac"]
    if not isinstance(mac, str) or not _MAC.fullmatch(mac):
        _bad_config("mac is not 12 upper-case hex digits")
    return PhoneConfig(mac=mac,
                       callmanager=_endpoint(body["callmanager"], "callmanager"),
                       tvs=_endpoint(body["tvs"], "tvs"),
                       security_mode=_security_mode(body["security_mode"], _bad_config),
                       signer=signed.signer)


def _endpoint_json(endpoint: tuple[str, str, int], where: str, fail: _Fail) -> dict[str, Any]:
    if not isinstance(endpoint, tuple | list) or len(endpoint) != 3:
        fail(f"{where} is not (node, address, port)")
    node, address, port = endpoint
    if not isinstance(node, str) or not node:
        fail(f"{where}: the node name is empty")
    if not isinstance(address, str) or not address:
        fail(f"{where}: the address is empty")
    if type(port) is not int or not 0 < port < 65536:
        fail(f"{where}: the port {port!r:.20} is not 1 to 65535")
    return {"node": node, "address": address, "port": port}


def _endpoint(obj: object, where: str) -> tuple[str, str, int]:
    if not isinstance(obj, dict):
        _bad_config(f"{where} is not an object")
    _check_keys(obj, {"node", "address", "port"}, where, _bad_config)
    checked = _endpoint_json((obj["node"], obj["address"], obj["port"]), where, _bad_config)
    return (checked["node"], checked["address"], checked["port"])


def _security_mode(mode: object, fail: _Fail) -> int:
    if type(mode) is not int or mode not in (0, 1):
        fail(f"security mode {mode!r:.20} is not 0 (non-secure) or 1 (mixed)")
    return mode


def _bad_config(why: str) -> NoReturn:
    raise InvalidInput("The phone config file is not valid", code=CONFIG_INVALID,
                       fix="Download the file again from the TFTP server", detail=why)


def _bad_config_arg(why: str) -> NoReturn:
    raise InvalidInput(f"Cannot build the phone config: {why}", code=CONFIG_INVALID,
                       fix="Give the node host name, address and port (1-65535), and "
                           "security mode 0 or 1")
