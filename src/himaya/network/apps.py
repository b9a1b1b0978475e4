from django.apps import AppConfig


class NetworkConfig(AppConfig):
    name = "himaya.network"
    label = "network"
