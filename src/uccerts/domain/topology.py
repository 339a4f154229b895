"""The cluster topology file (cli.md "Cluster"): TOML text to validated values."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from typing import Any

from uccerts.domain.model import Cluster, Node, SanMatch, WebSecurity
from uccerts.domain.names import check_dns_name, parse_ip
from uccerts.domain.purposes import SERVICES, Role, default_services, service
from uccerts.errors import InvalidInput

_SERVICE_KEYS = {s.key for s in SERVICES}
MAX_PHONES = 100_000


@dataclass(frozen=True)
class Topology:
    cluster: Cluster
    nodes: tuple[Node, ...]


def _bad(where: str, why: str, fix: str) -> InvalidInput:
    return InvalidInput(f"Topology {where}: {why}", code="invalid-topology", fix=fix)


def _text(table: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = table.get(key, default)
    if not isinstance(value, str) or (default is None and not value.strip()):
        raise _bad(where, f"'{key}' must be a non-empty string", f"Set {key} = \"…\"")
    return value.strip()


def _web_security(table: Any, base: WebSecurity, where: str) -> WebSecurity:
    if table is None:
        return base
    if not isinstance(table, dict):
        raise _bad(where, "web_security must be a table", "Use [web_security] with text keys")
    fields = {}
    for key in ("orgunit", "orgname", "locality", "state", "country"):
        value = table.get(key, getattr(base, key))
        if not isinstance(value, str):
            raise _bad(where, f"web_security {key} must be text", f'{key} = "…"')
        fields[key] = value
    alt = table.get("alternate_hostnames", list(base.alternate_hostnames))
    if not isinstance(alt, list) or not all(isinstance(a, str) for a in alt):
        raise _bad(where, "alternate_hostnames must be a list of names",
                   "alternate_hostnames = [\"name\", …]")
    try:
        return WebSecurity(**fields, alternate_hostnames=tuple(alt)).validated(required=False)
    except InvalidInput as err:
        raise _bad(where, err.message, err.fix or "") from None


def _node(raw: Any, index: int, domain: str, ws: WebSecurity) -> Node:
    where = f"node #{index + 1}"
    if not isinstance(raw, dict):
        raise _bad(where, "each [[nodes]] entry must be a table", "See the example topology")
    name = _text(raw, "name", where)
    check_dns_name(name, what=f"{where} name")
    if "." in name:
        raise _bad(where, f"name '{name}' must be a host name without the domain",
                   "Put the domain in [cluster] domain")
    if len(f"{name}.{domain}") > 64:
        # The FQDN is the common name of the node's certificates: at most 64 characters.
        raise _bad(where, f"{name}.{domain} is longer than 64 characters",
                   "Use a shorter host name or domain")
    role_text = _text(raw, "role", where)
    try:
        role = Role(role_text.lower())
    except ValueError:
        raise _bad(where, f"role '{role_text}' is unknown",
                   "role = \"publisher\" | \"subscriber\" | \"imp\"") from None
    address = _text(raw, "address", where)
    if parse_ip(address) is None:
        raise _bad(where, f"address '{address}' is not an IP address",
                   "Use a loopback address such as 127.0.1.1 in the lab")
    services = raw.get("services")
    if services is None:
        names = default_services(role)
    elif isinstance(services, list) and all(isinstance(s, str) for s in services):
        names = tuple(service(s).name for s in services)
    else:
        raise _bad(where, "services must be a list of service names",
                   "services = [\"Cisco Tomcat\", …]")
    ports_raw = raw.get("ports", {})
    if not isinstance(ports_raw, dict):
        raise _bad(where, "ports must be a table", "ports = { tomcat = 8443 }")
    ports = []
    for key, port in ports_raw.items():
        if key.lower() not in _SERVICE_KEYS:
            raise _bad(where, f"unknown port key '{key}'",
                       "Use one of: " + ", ".join(sorted(_SERVICE_KEYS)))
        if not isinstance(port, int) or not 0 < port < 65536:
            raise _bad(where, f"port '{port}' for {key} is out of range", "Use 1-65535")
        ports.append((key.lower(), port))
    return Node(hostname=name.lower(), domain=domain, address=str(parse_ip(address)),
                role=role, services=names,
                web_security=_web_security(raw.get("web_security"), ws, where),
                ports=tuple(sorted(ports)))


def parse_topology(text: str) -> Topology:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"The topology is not valid TOML: {exc}", code="invalid-topology",
                           fix="Fix the TOML syntax at the position shown") from exc
    head = data.get("cluster")
    if not isinstance(head, dict):
        raise _bad("[cluster]", "the [cluster] table is missing",
                   "Start with [cluster] name = …, domain = …")
    name = _text(head, "name", "[cluster]")
    if len(name) > 64 or not all(ch.isprintable() for ch in name):
        raise _bad("[cluster]", "name must be 1 to 64 printable characters",
                   'name = "lab"')
    domain = check_dns_name(_text(head, "domain", "[cluster]"), what="the cluster domain").lower()
    mode = head.get("security_mode", 0)
    if mode not in (0, 1) or isinstance(mode, bool):
        raise _bad("[cluster]", f"security_mode {mode!r} is not 0 or 1",
                   "0 = non-secure, 1 = mixed")
    sso = head.get("sso_enabled", False)
    if not isinstance(sso, bool):
        raise _bad("[cluster]", "sso_enabled must be true or false", "sso_enabled = false")
    try:
        san_match = SanMatch(str(head.get("san_match", "exact")))
    except ValueError:
        raise _bad("[cluster]", "san_match must be exact or superset",
                   "san_match = \"exact\"") from None
    phones = data.get("phones", {})
    count = phones.get("count", 0) if isinstance(phones, dict) else -1
    if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= MAX_PHONES:
        raise _bad("[phones]", f"count must be a whole number from 0 to {MAX_PHONES}",
                   "[phones] count = 20")
    ws = _web_security(data.get("web_security"), WebSecurity(), "[web_security]")
    raw_nodes = data.get("nodes")
    if not isinstance(raw_nodes, list) or not raw_nodes:
        raise _bad("[[nodes]]", "no nodes are listed", "Add [[nodes]] tables")
    nodes = tuple(_node(raw, i, domain, ws) for i, raw in enumerate(raw_nodes))
    _check_nodes(nodes)
    cluster = Cluster(name=name, domain=domain, security_mode=mode, sso_enabled=sso,
                      san_match=san_match, phone_count=count)
    return Topology(cluster, nodes)


def _check_nodes(nodes: tuple[Node, ...]) -> None:
    publishers = [n for n in nodes if n.role is Role.PUBLISHER]
    if len(publishers) != 1:
        raise _bad("[[nodes]]", f"{len(publishers)} publishers; a cluster has exactly one",
                   "Mark exactly one node role = \"publisher\"")
    names = [n.hostname for n in nodes]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise _bad("[[nodes]]", f"duplicate node names: {', '.join(dupes)}",
                   "Give every node its own name")
    addresses = [n.address for n in nodes]
    dup_addr = sorted({a for a in addresses if addresses.count(a) > 1})
    if dup_addr:
        raise _bad("[[nodes]]", f"duplicate addresses: {', '.join(dup_addr)}",
                   "Give every node its own address")
