from django.apps import AppConfig


class SealedAppConfig(AppConfig):
    name = "tests.sealedapp"
    label = "sealedapp"
    default_auto_field = "django.db.models.BigAutoField"
