"""Pages of the justice app (mounted at /justice/).

Complaints, hearings and measures by row number (a complaint of another office is the same
404 as a missing one), cases by their random id; nothing about her in a URL.
"""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from himaya.justice import views

app_name = "justice"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.queue, name="queue"),
    path("complaints/<int:complaint_id>/", views.complaint_detail, name="complaint"),
    path("complaints/<int:complaint_id>/decisions/", views.decision_add, name="decision_add"),
    path("complaints/<int:complaint_id>/hearings/", views.hearing_add, name="hearing_add"),
    path("complaints/<int:complaint_id>/measures/", views.measure_add, name="measure_add"),
    path("hearings/<int:hearing_id>/outcome/", views.hearing_outcome, name="hearing_outcome"),
    path("measures/<int:measure_id>/breaches/", views.breach_add, name="breach_add"),
    path("cases/<uuid:case_id>/", views.case_status, name="case_status"),
    path("cases/<uuid:case_id>/forward/", views.forward, name="forward"),
]
