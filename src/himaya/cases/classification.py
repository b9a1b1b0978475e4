"""Classification of an incident: Law 103-13 forms of violence and the GBVIMS core type.

The law's forms are recorded as observed (several may apply). The GBVIMS core type is derived,
exactly one per incident, by the standard's order of precedence. Classification never changes
the services a survivor receives: nothing in Himaya routes or prioritises care on it.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import models
from django.utils.translation import gettext_lazy as _


class ViolenceForm(models.TextChoices):
    """Law 103-13's four forms, plus technology-facilitated violence counted by the police."""

    PHYSICAL = "physical", _("Physical")
    SEXUAL = "sexual", _("Sexual")
    PSYCHOLOGICAL = "psychological", _("Psychological")
    ECONOMIC = "economic", _("Economic")
    TECHNOLOGY = "technology", _("Technology-facilitated")


class IncidentAct(models.TextChoices):
    """What happened, in the GBVIMS vocabulary that the core type is derived from."""

    RAPE = "rape", _("Rape (penetration without consent)")
    SEXUAL_ASSAULT = "sexual_assault", _("Sexual assault without penetration")
    PHYSICAL_ASSAULT = "physical_assault", _("Physical assault")
    FORCED_MARRIAGE = "forced_marriage", _("Forced marriage")
    DENIAL = "denial", _("Denial of resources, opportunities or services")
    PSYCHOLOGICAL = "psychological", _("Psychological or emotional abuse")


class GbvimsType(models.TextChoices):
    RAPE = "rape", _("Rape")
    SEXUAL_ASSAULT = "sexual_assault", _("Sexual assault")
    PHYSICAL_ASSAULT = "physical_assault", _("Physical assault")
    FORCED_MARRIAGE = "forced_marriage", _("Forced marriage")
    DENIAL = "denial", _("Denial of resources, opportunities or services")
    PSYCHOLOGICAL = "psychological", _("Psychological / emotional abuse")
    NON_GBV = "non_gbv", _("Non-GBV")


class CaseContext(models.TextChoices):
    """Context labels of an incident (GBVIMS "case context"), several may apply; plus where
    it happened, as Moroccan statistics report it."""

    INTIMATE_PARTNER = "intimate_partner", _("Intimate partner violence")
    CHILD_SEXUAL_ABUSE = "child_sexual_abuse", _("Child sexual abuse")
    EARLY_MARRIAGE = "early_marriage", _("Early marriage")
    SEXUAL_EXPLOITATION = "sexual_exploitation", _("Possible sexual exploitation")
    SEXUAL_SLAVERY = "sexual_slavery", _("Possible sexual slavery")
    HARMFUL_PRACTICE = "harmful_practice", _("Harmful traditional practice")
    FAMILY = "family", _("In the family")
    WORKPLACE = "workplace", _("At work")
    EDUCATION = "education", _("In a place of education")
    PUBLIC_SPACE = "public_space", _("In a public space")
    ONLINE = "online", _("Online")


#: GBVIMS order of precedence: the first act present gives the core type.
PRECEDENCE: tuple[tuple[IncidentAct, GbvimsType], ...] = (
    (IncidentAct.RAPE, GbvimsType.RAPE),
    (IncidentAct.SEXUAL_ASSAULT, GbvimsType.SEXUAL_ASSAULT),
    (IncidentAct.PHYSICAL_ASSAULT, GbvimsType.PHYSICAL_ASSAULT),
    (IncidentAct.FORCED_MARRIAGE, GbvimsType.FORCED_MARRIAGE),
    (IncidentAct.DENIAL, GbvimsType.DENIAL),
    (IncidentAct.PSYCHOLOGICAL, GbvimsType.PSYCHOLOGICAL),
)


def gbvims_core_type(acts: Iterable[str]) -> GbvimsType:
    """Exactly one core type for an incident, by order of precedence; none → non-GBV."""
    present = set(acts)
    for act, core_type in PRECEDENCE:
        if act in present:
            return core_type
    return GbvimsType.NON_GBV


#: Acts implied by the law's forms when the officer records only the form. A form maps to
#: the least severe act it certainly contains; the officer records more specific acts.
FORM_DEFAULT_ACT: dict[str, IncidentAct] = {
    ViolenceForm.PHYSICAL: IncidentAct.PHYSICAL_ASSAULT,
    ViolenceForm.SEXUAL: IncidentAct.SEXUAL_ASSAULT,
    ViolenceForm.PSYCHOLOGICAL: IncidentAct.PSYCHOLOGICAL,
    ViolenceForm.ECONOMIC: IncidentAct.DENIAL,
    ViolenceForm.TECHNOLOGY: IncidentAct.PSYCHOLOGICAL,
}


def classify(*, forms: Iterable[str], acts: Iterable[str] = ()) -> GbvimsType:
    """The core type from the specific acts recorded, completed by the forms' default acts."""
    all_acts = set(acts) | {FORM_DEFAULT_ACT[form] for form in forms if form in FORM_DEFAULT_ACT}
    return gbvims_core_type(all_acts)
