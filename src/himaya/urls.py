"""Top-level routes. Each app owns its own ``urls.py`` (pages) and ``api.py`` (API router)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from himaya.api import api

urlpatterns = [
    path("", include("himaya.core.urls")),
    path("accounts/", include("himaya.accounts.urls")),
    path("network/", include("himaya.network.urls")),
    path("cases/", include("himaya.cases.urls")),
    path("referrals/", include("himaya.referrals.urls")),
    path("justice/", include("himaya.justice.urls")),
    # The survivor portal: public, no trace (its own middleware rules, see portal/).
    path("p/", include("himaya.portal.urls")),
    # Behind the staff gate (verified sign-in) and open only to system administrators.
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
]

handler400 = "himaya.core.views.bad_request"
handler403 = "himaya.core.views.permission_denied"
handler404 = "himaya.core.views.page_not_found"
handler500 = "himaya.core.views.server_error"
