"""Pages of the referrals app (mounted at /referrals/).

Ids in paths are random UUIDs (a referral, a case); nothing about her ever appears in a URL.
"""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from himaya.referrals import views

app_name = "referrals"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.queue, name="queue"),
    path("first-contact/", views.first_contact, name="first_contact"),
    path("case/<uuid:case_id>/", views.case_referrals, name="case_referrals"),
    path("<uuid:referral_id>/", views.detail, name="detail"),
    path("<uuid:referral_id>/accept/", views.accept, name="accept"),
    path("<uuid:referral_id>/decline/", views.decline, name="decline"),
    path("<uuid:referral_id>/withdraw/", views.withdraw, name="withdraw"),
    path("<uuid:referral_id>/provided/", views.provided, name="provided"),
    path("<uuid:referral_id>/complete/", views.complete, name="complete"),
    path("<uuid:referral_id>/close/", views.close, name="close"),
    path("<uuid:referral_id>/admit/", views.admit, name="admit"),
    path("<uuid:referral_id>/depart/", views.depart, name="depart"),
    path(
        "<uuid:referral_id>/consent-withdrawn/",
        views.consent_withdrawn,
        name="consent_withdrawn",
    ),
    path("<uuid:referral_id>/refer-again/", views.refer_again, name="refer_again"),
    path("<uuid:referral_id>/letter/", views.letter_page, name="letter"),
    path("<uuid:referral_id>/letter.pdf", views.letter_pdf, name="letter_pdf"),
]
