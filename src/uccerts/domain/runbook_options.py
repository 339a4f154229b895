"""What a runbook keeps beside its plan, as frozen values, and the mappers to and from
the JSON object the store keeps (the key names are the stored ones: runbooks stored
before these types existed read back unchanged)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from uccerts.domain.model import Distribution
from uccerts.domain.runbook import CaKind, Override


@dataclass(frozen=True)
class AcmeSettings:
    """An ACME CA: its directory, the CA bundle that verifies it (None: the system's),
    the port http-01 answers on, and where its root is published (its chain usually
    stops below the root, which the identity upload needs trusted)."""

    directory: str
    ca_bundle: str | None = None
    http_port: int = 80
    root_url: str | None = None


@dataclass(frozen=True)
class RunbookOptions:
    nodes: tuple[str, ...] = ()
    distribution: Distribution = Distribution.THIS_SERVER
    ca: CaKind = CaKind.LAB
    overrides: frozenset[Override] = field(default_factory=frozenset)
    folder: str | None = None  # manual CA: where CSRs go and answers come back
    acme: AcmeSettings | None = None
    phones_before: int | None = None  # registered phones when the runbook started
    started_by: str | None = None  # the console job that started it


def options_to_json(options: RunbookOptions) -> dict[str, Any]:
    out: dict[str, Any] = {
        "nodes": list(options.nodes), "distribution": options.distribution.value,
        "ca": options.ca.value, "overrides": sorted(o.value for o in options.overrides)}
    if options.folder is not None:
        out["folder"] = options.folder
    if options.acme is not None:
        out.update(acme_directory=options.acme.directory,
                   acme_ca_bundle=options.acme.ca_bundle or "",
                   acme_http_port=options.acme.http_port,
                   acme_root_url=options.acme.root_url or "")
    if options.phones_before is not None:
        out["phones_before"] = options.phones_before
    if options.started_by is not None:
        out["web_start"] = options.started_by
    return out


def options_from_json(raw: Mapping[str, Any]) -> RunbookOptions:
    directory = raw.get("acme_directory")
    port = raw.get("acme_http_port")
    acme = AcmeSettings(str(directory), str(raw.get("acme_ca_bundle") or "") or None,
                        port if isinstance(port, int) else 80,
                        str(raw.get("acme_root_url") or "") or None) if directory else None
    before, folder, started = raw.get("phones_before"), raw.get("folder"), raw.get("web_start")
    return RunbookOptions(
        tuple(str(n) for n in raw.get("nodes") or ()),
        Distribution(raw.get("distribution") or Distribution.THIS_SERVER.value),
        CaKind(raw.get("ca") or CaKind.LAB.value),
        frozenset(Override(o) for o in raw.get("overrides") or ()),
        str(folder) if folder else None, acme,
        int(before) if isinstance(before, int) else None,
        str(started) if started else None)
