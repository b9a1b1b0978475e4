from datetime import timedelta

from django.apps import AppConfig


def _expire_form_submissions() -> object:
    from himaya.core import submissions

    return submissions.expire()


class CoreConfig(AppConfig):
    name = "himaya.core"
    label = "core"

    def ready(self) -> None:
        from himaya.core import i18n, schedule

        i18n.register_languages()
        schedule.register(
            "core.form_submissions_expire", every=timedelta(hours=6), run=_expire_form_submissions
        )
