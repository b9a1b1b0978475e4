"""Staff pages of the case files (mounted at /cases/).

Ids in paths are UUIDs (a case) or row numbers (a task, an alert); nothing about her ever
appears in a URL. Searches are POSTed for the same reason.
"""

from __future__ import annotations

from django.urls import path

from himaya.cases import views, views_edit, views_evidence, views_intake, views_notices

app_name = "cases"
urlpatterns = [
    # The unit's lists and finding her again.
    path("", views.queue, name="queue"),
    path("search/", views.search, name="search"),
    path("alerts/", views.alerts, name="alerts"),
    path("alerts/<int:alert_id>/read/", views.alert_read, name="alert_read"),
    path("emergency-access/", views.break_glass, name="break_glass"),
    # The guided intake: drafts by random id, steps by fixed name (views_intake).
    path("intake/", views_intake.intake_start, name="intake_start"),
    path("intake/communes/", views_intake.intake_communes, name="intake_communes"),
    path("intake/<uuid:draft_id>/submit/", views_intake.intake_submit, name="intake_submit"),
    path("intake/<uuid:draft_id>/discard/", views_intake.intake_discard, name="intake_discard"),
    path("intake/<uuid:draft_id>/<slug:step>/", views_intake.intake_step, name="intake_step"),
    # One case file and its actions (each a POST form).
    path("<uuid:case_id>/", views.case_detail, name="case_detail"),
    path("<uuid:case_id>/notes/", views.note_add, name="note_add"),
    path("<uuid:case_id>/tasks/", views.task_add, name="task_add"),
    path(
        "<uuid:case_id>/tasks/<int:task_id>/complete/",
        views.task_complete,
        name="task_complete",
    ),
    path("<uuid:case_id>/assign/", views.assign, name="assign"),
    path("<uuid:case_id>/step/", views.transition, name="transition"),
    path("<uuid:case_id>/closure/request/", views.request_closure, name="request_closure"),
    path("<uuid:case_id>/closure/approve/", views.approve_closure, name="approve_closure"),
    path("<uuid:case_id>/closure/decline/", views.decline_closure, name="decline_closure"),
    path("<uuid:case_id>/reopen/", views.reopen, name="reopen"),
    path("<uuid:case_id>/consents/", views.consent_record, name="consent_record"),
    path(
        "<uuid:case_id>/consents/<slug:purpose>/withdraw/",
        views.consent_revoke,
        name="consent_revoke",
    ),
    path(
        "<uuid:case_id>/share-without-consent/",
        views.share_without_consent,
        name="share_without_consent",
    ),
    path(
        "<uuid:case_id>/sharing/<uuid:grant_id>/end/",
        views.grant_end,
        name="grant_end",
    ),
    # Correcting her record after intake (views_edit): her details, and each list.
    path("<uuid:case_id>/edit/her/", views_edit.survivor_edit, name="survivor_edit"),
    path("<uuid:case_id>/incidents/new/", views_edit.incident_add, name="incident_add"),
    path(
        "<uuid:case_id>/incidents/<int:incident_id>/edit/",
        views_edit.incident_edit,
        name="incident_edit",
    ),
    path("<uuid:case_id>/perpetrators/new/", views_edit.perpetrator_add, name="perpetrator_add"),
    path(
        "<uuid:case_id>/perpetrators/<uuid:perpetrator_id>/edit/",
        views_edit.perpetrator_edit,
        name="perpetrator_edit",
    ),
    path("<uuid:case_id>/dependants/new/", views_edit.dependant_add, name="dependant_add"),
    path(
        "<uuid:case_id>/dependants/<int:dependant_id>/edit/",
        views_edit.dependant_edit,
        name="dependant_edit",
    ),
    # Messages with her: her messages, the notices and their states, writing to her.
    path("<uuid:case_id>/messages/", views_notices.thread, name="notices"),
    path("<uuid:case_id>/messages/send/", views_notices.message_send, name="notices_send"),
    path("<uuid:case_id>/receipt/", views.receipt, name="receipt"),
    path("<uuid:case_id>/receipt.pdf", views.receipt_pdf, name="receipt_pdf"),
    # Evidence: upload (multipart), the list, and downloads (attachments, audited).
    path("<uuid:case_id>/evidence/", views_evidence.evidence_list, name="evidence_list"),
    path("<uuid:case_id>/evidence/add/", views_evidence.evidence_add, name="evidence_add"),
    path(
        "evidence/<uuid:evidence_id>/download/",
        views_evidence.evidence_download,
        name="evidence_download",
    ),
]
