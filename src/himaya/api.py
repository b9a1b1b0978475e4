"""The JSON API under /api/v1/: one NinjaAPI, one router per app, one error handler."""

from __future__ import annotations

from ninja import NinjaAPI

api = NinjaAPI(
    title="Himaya API",
    version="1",
    urls_namespace="api",
    description="Survivor-centred police and justice services. Every call is audited.",
)
