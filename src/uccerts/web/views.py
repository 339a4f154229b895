"""The console's pages (placeholder until the pages land)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from uccerts.api.context import AppContext


def create_console(ctx: AppContext) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.state.ctx = ctx

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        return f"<h1>uccerts on {ctx.node}</h1>"

    return app
