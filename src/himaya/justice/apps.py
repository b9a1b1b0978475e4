from __future__ import annotations

from datetime import timedelta

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from himaya.core.actor import Actor


def _prosecutor(actor: Actor) -> bool:
    from himaya.justice import policies

    return policies.can_use_queue(actor)


def _flag_expiring() -> object:
    from himaya.justice import services

    return services.flag_expiring_measures()


class JusticeConfig(AppConfig):
    name = "himaya.justice"
    label = "justice"
    verbose_name = _("Justice chain")

    def ready(self) -> None:
        from himaya.core import navigation, schedule

        navigation.register(
            navigation.NavEntry(
                key="justice.queue",
                label=_("Complaints"),
                description=_(
                    "Complaints awaiting your decision, hearings to come, protection measures "
                    "near expiry and reported breaches."
                ),
                url_name="justice:queue",
                allowed=_prosecutor,
                order=20,
            )
        )
        schedule.register(
            "justice.flag_expiring_measures", every=timedelta(hours=1), run=_flag_expiring
        )
        # The case page's timeline shows the justice steps in words too (rows carry
        # "justice_<kind>"; cases sits below justice, so justice lends it the labels).
        from himaya.cases import views as case_views
        from himaya.justice.views import EVENT_LABELS

        for kind, label in EVENT_LABELS.items():
            case_views.TIMELINE_LABELS.setdefault(f"justice_{kind}", label)
