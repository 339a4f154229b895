"""The cluster and its nodes: settings, security mode and CTL, SAML SSO, subject
settings (web-security), the audit trail, and the platform administrator accounts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from uccerts.api.native_auth import Caller, ReadServices, WriteServices
from uccerts.api.native_models import (
    AccountIn,
    AccountOut,
    AuditOut,
    ClusterOut,
    NodeOut,
    PasswordIn,
    SecurityModeIn,
    SecurityOut,
    SsoIn,
    SsoOut,
    WebSecurityIn,
    WebSecurityOut,
    WebSecuritySetOut,
)
from uccerts.domain.model import WebSecurity
from uccerts.http.auth import app_context
from uccerts.services.audit import audit_view
from uccerts.services.views import cluster_view, node_view

router = APIRouter()


@router.get("/ping", tags=["cluster"])
async def ping(request: Request, principal: Caller) -> dict[str, Any]:
    """A trivial authenticated answer: the API is up, who you are, where you are."""
    return {"ok": True, "node": app_context(request).node, "user": principal.username,
            "role": principal.role}


@router.get("/node", response_model=NodeOut, tags=["nodes"])
def served_node(request: Request, services: ReadServices) -> Any:
    """The node whose Cisco Tomcat serves this API."""
    return node_view(services.clusters.node(app_context(request).node))


@router.get("/cluster", response_model=ClusterOut, tags=["cluster"])
def show_cluster(services: ReadServices) -> Any:
    """Cluster settings and nodes (`cluster show`)."""
    cluster, nodes = services.clusters.show()
    return cluster_view(cluster, nodes)


@router.put("/cluster/security-mode", response_model=SecurityOut, tags=["cluster"])
def security_mode(body: SecurityModeIn, services: WriteServices) -> Any:
    """mixed builds the CTL (utils ctl set-cluster mixed-mode); non-secure withdraws it.
    `next_steps` lists the restarts that make it take effect."""
    return services.security.set_mode(body.mode).to_dict()


@router.post("/cluster/ctl/update", response_model=SecurityOut, tags=["cluster"])
def ctl_update(services: WriteServices) -> Any:
    """Rebuild the CTL from the current certificates (mixed mode; utils ctl update
    CTLFile), before restarting after a CallManager or CAPF change."""
    return services.security.update_ctl().to_dict()


@router.put("/cluster/sso", response_model=SsoOut, tags=["cluster"])
def sso(body: SsoIn, services: WriteServices) -> Any:
    """Enable or disable SAML SSO."""
    return services.security.set_sso(body.enabled).to_dict()


@router.get("/nodes", response_model=list[NodeOut], tags=["nodes"])
def list_nodes(services: ReadServices) -> Any:
    _, nodes = services.clusters.show()
    return [node_view(n) for n in nodes]


@router.get("/nodes/{node}", response_model=NodeOut, tags=["nodes"])
def show_node(node: str, services: ReadServices) -> Any:
    return node_view(services.clusters.node(node))


@router.get("/nodes/{node}/web-security", response_model=WebSecurityOut, tags=["nodes"])
def show_web_security(node: str, services: ReadServices) -> Any:
    """The subject fields of the node's certificates (show web-security)."""
    return node_view(services.clusters.node(node))["web_security"]


@router.put("/nodes/{node}/web-security", response_model=WebSecuritySetOut, tags=["nodes"])
def set_web_security(node: str, body: WebSecurityIn, services: WriteServices) -> Any:
    """Store the subject fields; a self-signed tomcat certificate is regenerated (served
    once Cisco Tomcat restarts)."""
    ws = WebSecurity(body.orgunit, body.orgname, body.locality, body.state, body.country,
                     tuple(body.alternate_hostnames))
    result = services.clusters.set_web_security(node, ws)
    return {"ok": True, "node": node_view(result.node), "regenerated": result.regenerated,
            "services_to_restart": [r.to_dict() for r in result.services_to_restart],
            "note": result.note}


@router.get("/audit", response_model=list[AuditOut], tags=["audit"])
def audit(services: ReadServices,
          limit: Annotated[int, Query(ge=1, le=10000)] = 50) -> Any:
    """Every change and refusal, newest first: who, when, from where, the outcome."""
    return [audit_view(e) for e in services.audit.entries(limit)]


# ------------------------------------------------------------------ accounts


@router.get("/accounts", response_model=list[AccountOut], tags=["accounts"])
def list_accounts(services: WriteServices) -> Any:
    """Every account and its role (read-write accounts only)."""
    return [{"user": a.username, "role": a.role} for a in services.accounts.list()]


@router.post("/accounts", response_model=AccountOut, status_code=201, tags=["accounts"])
def add_account(body: AccountIn, services: WriteServices) -> Any:
    account = services.accounts.add(body.user, body.role, body.password)
    return {"user": account.username, "role": account.role}


@router.put("/accounts/{user}/password", tags=["accounts"])
async def set_password(user: str, body: PasswordIn, request: Request,
                       services: WriteServices) -> dict[str, Any]:
    """A new password; the account's console sessions end."""
    await run_in_threadpool(services.accounts.set_password, user, body.password)
    _forget(request, user)
    return {"user": user, "password_changed": True}


@router.delete("/accounts/{user}", tags=["accounts"])
async def remove_account(user: str, request: Request, services: WriteServices
                         ) -> dict[str, Any]:
    """Remove an account (never the last read-write one); its sessions and tokens end."""
    await run_in_threadpool(services.accounts.remove, user)
    _forget(request, user)
    return {"user": user, "removed": True}


def _forget(request: Request, user: str) -> None:
    # On the event loop, where sessions and the credential cache are used.
    ctx = app_context(request)
    ctx.credentials.forget(user)
    ctx.sessions.drop_user(user)
