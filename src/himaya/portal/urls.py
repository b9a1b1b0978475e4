"""Pages of the portal app: ``/p/<language>/...``. No URL carries anything about her: the
language is the only variable part, and every answer she gives travels in a POST body."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path, re_path

from himaya.portal import views

app_name = "portal"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.root, name="root"),
    path("exit/", views.quick_exit, name="exit"),
    path("<str:lang>/", views.start, name="start"),
    path("<str:lang>/safety/", views.safety, name="safety"),
    path("<str:lang>/nearby/", views.nearby, name="nearby"),
    path("<str:lang>/form/", views.report, name="report"),
    path("<str:lang>/receipt/", views.receipt, name="receipt"),
    path("<str:lang>/follow/", views.follow, name="follow"),
    path("<str:lang>/mine/", views.case, name="case"),
    path("<str:lang>/mine/messages/", views.messages, name="messages"),
    path("<str:lang>/mine/files/", views.evidence, name="evidence"),
    path("<str:lang>/mine/breach/", views.breach, name="breach"),
    path("<str:lang>/mine/opened/", views.access, name="access"),
    path("<str:lang>/mine/end/", views.sign_out, name="sign_out"),
    # Anything else under /p/ is answered by the portal, never by the staff error pages.
    re_path(r"^(?P<rest>.*)$", views.not_found, name="not_found"),
]
