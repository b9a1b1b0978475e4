"""Himaya's URLs plus the bench's bare endpoint (used through ``bench.bench_settings`` only).

``POST /api/bench/bare-insert`` parses the JSON body and inserts one plain row into
``bench_bare_row`` in a transaction: the cheapest write an endpoint of this server can do
on this database, through the same middleware. No authentication, no validation, no
encryption, no audit: it is the yardstick the intake is compared with, and it must never
be mounted by Himaya.
"""

from __future__ import annotations

import json

from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, URLResolver, path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

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


urlpatterns: list[URLPattern | URLResolver] = [
    # Under /api/: the staff gate leaves it to the endpoint, as it does for the API.
    path("api/bench/bare-insert", bare_insert, name="bench-bare-insert"),
    *himaya_urlpatterns,
]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
