"""The application's error hierarchy. Every domain error is one of these; one handler per
door (pages in ``core.views``, API in ``himaya.api``) turns it into an HTTP status and a
translated message. Messages never contain protected values."""

from __future__ import annotations

from collections.abc import Mapping

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class HimayaError(Exception):
    """Base of every domain error."""

    http_status = 400
    code = "invalid"
    default_message: str | Promise = _("The request could not be completed.")

    def __init__(self, message: str | Promise | None = None, **params: object) -> None:
        self.message = message if message is not None else self.default_message
        self.params = params
        super().__init__(str(self.message))


class NotFound(HimayaError):
    """Missing and not-yours look the same: outsiders cannot learn what exists."""

    http_status = 404
    code = "not_found"
    default_message = _("Not found.")


class PermissionDenied(HimayaError):
    """Only for things the actor knows exist (e.g. their own account's limits)."""

    http_status = 403
    code = "forbidden"
    default_message = _("You are not allowed to do this.")


class InvalidInput(HimayaError):
    """``fields={"name": ["message", ...]}`` names the fields at fault; nested input uses
    dotted paths (``"incidents.0.occurred_on"``)."""

    http_status = 422
    code = "invalid_input"
    default_message = _("Some fields need your attention.")

    @property
    def fields(self) -> dict[str, list[str | Promise]]:
        """The field errors passed as ``fields=``, each as a list of messages."""
        raw = self.params.get("fields")
        if not isinstance(raw, Mapping):
            return {}
        return {
            str(name): [messages] if isinstance(messages, str | Promise) else list(messages)
            for name, messages in raw.items()
        }


class Conflict(HimayaError):
    http_status = 409
    code = "conflict"
    default_message = _("This was changed by someone else. Reload and try again.")


class StepUpRequired(HimayaError):
    http_status = 403
    code = "step_up_required"
    default_message = _("Confirm your second factor to continue.")


class KeyUnavailable(HimayaError):
    """A sealed value cannot be opened (its data key was destroyed: crypto-shredded)."""

    http_status = 410
    code = "erased"
    default_message = _("This information has been erased.")
