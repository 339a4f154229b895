"""What the page modules share: the use cases as the logged-in user, the node a page
acts on (the node served from unless the request names another), uploaded files."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request, UploadFile

from uccerts.bootstrap import Services
from uccerts.domain.codec import MAX_FILE_BYTES
from uccerts.domain.model import Cluster, Node
from uccerts.errors import InvalidInput, NotFound
from uccerts.http.auth import app_context
from uccerts.http.security import Principal


def services_for(request: Request, principal: Principal) -> Services:
    """The use cases, audited as this user from the web console."""
    return app_context(request).services.acting_as(principal.username, "web")


@dataclass(frozen=True)
class Where:
    """The cluster, its nodes, and the node this request acts on."""

    cluster: Cluster
    nodes: list[Node]
    node: Node

    @property
    def names(self) -> list[str]:
        return [n.hostname for n in self.nodes]


def where(request: Request, services: Services, name: str | None = None) -> Where:
    """Blocking (reads the store): call from a ``def`` endpoint or a thread."""
    cluster, nodes = services.clusters.show()
    wanted = (name or app_context(request).node).strip().lower()
    for node in nodes:
        if wanted in (node.hostname.lower(), node.fqdn.lower()):
            return Where(cluster, nodes, node)
    raise NotFound(f"Unknown node '{name}'", code="unknown-node",
                   fix="Use one of: " + ", ".join(n.hostname for n in nodes))


async def read_upload(file: UploadFile | None, what: str = "file") -> bytes:
    """The bytes of an uploaded file (b"" when none was chosen); files over the size
    the codec accepts are refused here, before parsing."""
    if file is None or not file.filename:
        return b""
    data = await file.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise InvalidInput(f"The {what} is larger than 1 MiB",
                           code="file-too-large", fix="Upload one certificate file at a time")
    return data


def pasted_or_file(text: str, data: bytes) -> bytes:
    """A pasted PEM wins over a file when both are given."""
    return text.strip().encode() if text.strip() else data
