"""The native REST API under ``/api/v1`` (placeholder until its routes land)."""

from __future__ import annotations

from fastapi import FastAPI

from uccerts.api.context import AppContext


def create_native(ctx: AppContext) -> FastAPI:
    app = FastAPI(title="uccerts API", version="1")
    app.state.ctx = ctx
    return app
