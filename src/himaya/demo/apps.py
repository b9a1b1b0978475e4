from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Synthetic demonstration data: clearly marked, never real people or places."""

    name = "himaya.demo"
    label = "demo"
