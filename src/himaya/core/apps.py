from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "himaya.core"
    label = "core"

    def ready(self) -> None:
        from himaya.core import i18n

        i18n.register_languages()
