"""Referrals: district focal point → unit, unit → services; deadlines, consent scopes."""

from datetime import timedelta

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from himaya.core.actor import Actor


def _has_pages(actor: Actor) -> bool:
    from himaya.referrals import policies

    return policies.has_referral_pages(actor)


def _focal_point(actor: Actor) -> bool:
    from himaya.referrals import policies

    return policies.is_focal_point(actor)


class ReferralsConfig(AppConfig):
    name = "himaya.referrals"
    label = "referrals"
    verbose_name = _("Referrals")

    def ready(self) -> None:
        from himaya.core import navigation, schedule
        from himaya.referrals import escalation

        navigation.register(
            navigation.NavEntry(
                key="referrals.queue",
                label=_("Referrals"),
                description=_(
                    "Referrals waiting for your answer and those you sent, with their deadlines."
                ),
                url_name="referrals:queue",
                allowed=_has_pages,
                order=20,
            )
        )
        navigation.register(
            navigation.NavEntry(
                key="referrals.first_contact",
                label=_("New first contact"),
                description=_("Record her first contact at the station and refer her to the unit."),
                url_name="referrals:first_contact",
                allowed=_focal_point,
                order=19,
            )
        )
        schedule.register(
            "referrals.escalate_overdue", every=timedelta(minutes=5), run=escalation.run
        )
        # The case page's timeline names the referral steps too (rows carry
        # "referral_<step>"; cases sits below referrals, so referrals lends it the words).
        from django.utils.text import format_lazy

        from himaya.cases import views as case_views
        from himaya.referrals.views import EVENT_LABELS

        steps = {
            **EVENT_LABELS,
            "received": _("Received from a district station"),
            "consent_withdrawn": _("She withdrew her consent"),
            "overdue": _("Not answered in time"),
        }
        for step, label in steps.items():
            case_views.TIMELINE_LABELS.setdefault(
                f"referral_{step}", format_lazy("{}: {}", _("Referral"), label)
            )
