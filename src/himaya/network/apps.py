from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NetworkConfig(AppConfig):
    name = "himaya.network"
    label = "network"
    verbose_name = _("Service network")

    def ready(self) -> None:
        from himaya.core import navigation
        from himaya.network import policies

        navigation.register(
            navigation.NavEntry(
                key="network.directory",
                label=_("Service directory"),
                description=_("Find police units, prosecution offices, shelters and services."),
                url_name="network:directory",
                allowed=policies.can_browse,
                order=40,
            )
        )
        navigation.register(
            navigation.NavEntry(
                key="network.route",
                label=_("Where to refer"),
                description=_("The nearest unit, the competent prosecutor, services that fit."),
                url_name="network:route",
                allowed=policies.can_browse,
                order=41,
            )
        )
        navigation.register(
            navigation.NavEntry(
                key="network.map",
                label=_("Network map"),
                description=_("Units, district stations and coverage on the map of Morocco."),
                url_name="network:map",
                allowed=policies.can_browse,
                order=42,
            )
        )
