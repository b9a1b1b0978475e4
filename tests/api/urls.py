"""The site's URLs plus a small test-only API built exactly like the real one (same class,
same auth, same handler), for what no real endpoint does yet: crash, or need a scope."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import path
from ninja import Schema
from pydantic import Field

from himaya.accounts.api_auth import api_actor, api_auth, require_scope
from himaya.accounts.scopes import Scope
from himaya.api import HimayaAPI
from himaya.core.errors import Conflict
from himaya.urls import urlpatterns as site_urlpatterns

test_api = HimayaAPI(title="Test API", version="test", urls_namespace="test-api", auth=api_auth())


class EchoIn(Schema):
    title: str = Field(max_length=10)
    count: int = Field(ge=1)


class EchoOut(Schema):
    title: str
    count: int


@test_api.post("/echo", response=EchoOut)
def echo(request: HttpRequest, payload: EchoIn) -> EchoOut:
    return EchoOut(title=payload.title, count=payload.count)


@test_api.get("/boom")
def boom(request: HttpRequest) -> dict[str, str]:
    raise RuntimeError("secret detail: /srv/himaya/settings.py line 42")


@test_api.get("/conflict")
def conflict(request: HttpRequest) -> dict[str, str]:
    raise Conflict(fields={"version": ["stale"]})


@test_api.get("/cases", auth=require_scope(Scope.CASES_READ))
def cases(request: HttpRequest) -> dict[str, object]:
    return {"user_id": api_actor(request).user_id}


@test_api.post("/cases", auth=require_scope(Scope.CASES_WRITE))
def case_create(request: HttpRequest) -> dict[str, object]:
    return {"created_by": api_actor(request).user_id}


urlpatterns = [path("api/test/", test_api.urls), *site_urlpatterns]
