from django.apps import AppConfig


class GeoConfig(AppConfig):
    name = "himaya.geo"
    label = "geo"
