from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from himaya.core.actor import Actor


def _unit_staff(actor: Actor) -> bool:
    from himaya.cases import policies

    return actor.agency_id is not None and policies.is_unit_staff(actor, actor.agency_id)


def _unit_chief(actor: Actor) -> bool:
    from himaya.cases import policies

    return _unit_staff(actor) and policies.may_read_alerts(actor)


def _may_break_glass(actor: Actor) -> bool:
    from himaya.cases import policies

    return actor.agency_id is not None and actor.role in policies.BREAK_GLASS_ROLES


def _register_notice_delivery() -> None:
    """Queued notices go out when her safe time comes (docs/architecture/notices.md)."""
    from datetime import timedelta

    from himaya.cases import notices
    from himaya.core import schedule

    schedule.register("cases.deliver_notices", every=timedelta(minutes=1), run=notices.deliver_due)


def _register_notice_labels() -> None:
    from himaya.cases import views, views_notices

    for kind, label in views_notices.TIMELINE_LABELS.items():
        views.TIMELINE_LABELS.setdefault(kind, label)


def _register_sweeps() -> None:
    """The case file's time-based promises: an interview nobody finished is erased after
    ``HIMAYA_INTAKE_DRAFT_MAX_AGE_DAYS``; an encrypted evidence file no row names (a crash
    between writing it and committing its row) is removed. Both idempotent and batched."""
    from datetime import timedelta

    from himaya.cases import evidence, services
    from himaya.core import schedule

    schedule.register(
        "cases.intake_drafts_expire",
        every=timedelta(hours=1),
        run=services.intake_draft_sweep_abandoned,
    )
    schedule.register(
        "cases.evidence_sweep_orphans",
        every=timedelta(hours=6),
        run=evidence.evidence_sweep_orphans,
    )


class CasesConfig(AppConfig):
    name = "himaya.cases"
    label = "cases"
    verbose_name = _("Case files")

    def ready(self) -> None:
        from himaya.core import navigation

        navigation.register(
            navigation.NavEntry(
                key="cases.queue",
                label=_("Case files"),
                description=_("The unit's work lists: new cases, yours, overdue tasks, closures."),
                url_name="cases:queue",
                allowed=_unit_staff,
                order=10,
            )
        )
        navigation.register(
            navigation.NavEntry(
                key="cases.intake",
                label=_("New intake"),
                description=_(
                    "Hear her once, step by step: saved as you go, every question can be declined."
                ),
                url_name="cases:intake_start",
                allowed=_unit_staff,
                order=11,
            )
        )
        navigation.register(
            navigation.NavEntry(
                key="cases.search",
                label=_("Find her file"),
                description=_("Is she already known? Search by phone, CIN or name."),
                url_name="cases:search",
                allowed=_unit_staff,
                order=11,
            )
        )
        navigation.register(
            navigation.NavEntry(
                key="cases.alerts",
                label=_("Alerts"),
                description=_(
                    "Emergency access, sharing without consent, repeat perpetrators, "
                    "earlier contact elsewhere, closures to approve."
                ),
                url_name="cases:alerts",
                allowed=_unit_chief,
                order=12,
            )
        )
        navigation.register(
            navigation.NavEntry(
                key="cases.break_glass",
                label=_("Emergency access"),
                description=_("Open another unit's file in an emergency, with a written reason."),
                url_name="cases:break_glass",
                allowed=_may_break_glass,
                order=90,
            )
        )
        _register_notice_delivery()
        _register_notice_labels()
        _register_sweeps()
