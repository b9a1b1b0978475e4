"""Himaya's URLs plus the bench's two yardsticks (used through ``bench.bench_settings`` only).

``POST /api/bench/bare-insert`` parses the JSON body and inserts one plain row into
``bench_bare_row`` in a transaction: the cheapest write an endpoint of this server can do
on this database, through the same middleware. No authentication, no validation, no
encryption, no audit: it is the yardstick the intake is compared with.

``POST /api/bench/v1/intake-validate`` is the intake endpoint with nothing written: the same
API machinery (``HimayaAPI``), the same token authentication with the ``cases:write``
scope, the same input schema, ``Idempotency-Key`` check and ``validate_intake``, then an
answer of the same shape. What it costs is the part of an intake that is not writing the
case: the floor under the intake's throughput, measured in the same run.

Neither must ever be mounted by Himaya.
"""

from __future__ import annotations

import json

from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, URLResolver, path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from ninja import P
from ninja.params import HeaderEx

from himaya.accounts.api_auth import api_actor
from himaya.api import HimayaAPI
from himaya.cases.api import WRITE
from himaya.cases.intake import clean_idempotency_key, intake_from_dict, validate_intake
from himaya.cases.schemas import IntakeIn
from himaya.urls import handler400, handler403, handler404, handler500
from himaya.urls import urlpatterns as himaya_urlpatterns

BARE_TABLE = "bench_bare_row"


@csrf_exempt
@require_POST
def bare_insert(request: HttpRequest) -> HttpResponse:
    payload = json.loads(request.body)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {BARE_TABLE} (created_at, channel, size) VALUES (%s, %s, %s)",  # noqa: S608  # nosec B608
            [timezone.now(), str(payload.get("channel", ""))[:16], len(request.body)],
        )
    return JsonResponse({"ok": True}, status=201)


bench_api = HimayaAPI(title="Himaya bench", urls_namespace="bench-api", docs_url=None)


@bench_api.post("/intake-validate", auth=WRITE)
def intake_validate(
    request: HttpRequest,
    payload: IntakeIn,
    idempotency_key: HeaderEx[str, P(alias="Idempotency-Key")],
) -> dict[str, object]:
    api_actor(request)
    clean_idempotency_key(idempotency_key)
    validate_intake(intake_from_dict(payload.model_dump()))
    return {"id": None, "reference": "", "state": "open", "replayed": False}


urlpatterns: list[URLPattern | URLResolver] = [
    # Under /api/: the staff gate leaves it to the endpoint, as it does for the API.
    path("api/bench/bare-insert", bare_insert, name="bench-bare-insert"),
    path("api/bench/v1/", bench_api.urls),
    *himaya_urlpatterns,
]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
