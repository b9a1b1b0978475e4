"""Domain errors of the case file (mapped to HTTP and a translated message by the core
handlers). Messages never carry anything about her: no name, no number, no reference."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from himaya.core.errors import Conflict, PermissionDenied


class ConsentMissing(PermissionDenied):
    """She has not agreed (or no longer agrees) to this sharing."""

    code = "consent_missing"
    default_message = _(
        "She has not agreed to share her file with this kind of agency, or she withdrew her "
        "agreement. Record her consent first, or share on a legal basis."
    )


class TransitionRefused(Conflict):
    """The case is not in a state from which this step is possible (or someone moved it)."""

    code = "transition_refused"
    default_message = _("This case cannot go to that step from where it is now. Reload it.")
