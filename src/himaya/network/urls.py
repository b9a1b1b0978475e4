"""Staff pages of the service network (mounted at /network/)."""

from __future__ import annotations

from django.urls import path

from himaya.network import views

app_name = "network"
urlpatterns = [
    path("", views.directory, name="directory"),
    path("route/", views.route, name="route"),
    path("map/", views.network_map, name="map"),
    path("coverage/", views.coverage, name="coverage"),
    path("agencies/new/", views.agency_new, name="agency_new"),
    path("agencies/<int:pk>/", views.agency_page, name="agency"),
    path("agencies/<int:pk>/edit/", views.agency_edit, name="agency_edit"),
    path("agencies/<int:pk>/address/", views.reveal_address, name="reveal_address"),
    path("agencies/<int:pk>/availability/", views.set_availability, name="availability"),
]
