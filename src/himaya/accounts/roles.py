"""The roles a staff member can hold in an agency. One membership = user x agency x role."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    UNIT_CHIEF = "unit_chief", _("Unit chief")
    UNIT_OFFICER = "unit_officer", _("Unit officer")
    FOCAL_POINT = "focal_point", _("District focal point")
    PROSECUTOR = "prosecutor", _("Prosecutor")
    HELPLINE_OPERATOR = "helpline_operator", _("Helpline operator")
    HELPLINE_SUPERVISOR = "helpline_supervisor", _("Helpline supervisor")
    SERVICE_PROVIDER = "service_provider", _("Service provider")
    TRAINER = "trainer", _("Trainer")
    NATIONAL_ANALYST = "national_analyst", _("National analyst")
    SYSTEM_ADMIN = "system_admin", _("System administrator")
    AUDITOR = "auditor", _("Auditor")
