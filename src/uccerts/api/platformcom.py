"""The appliance-compatible certmgr API (domain.md §13) (placeholder)."""

from __future__ import annotations

from fastapi import FastAPI

from uccerts.api.context import AppContext

COMPAT_BASE = "/platformcom/api/v1/certmgr/config"


def create_compat(ctx: AppContext) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.state.ctx = ctx
    return app
