"""How the JSON API answers when something goes wrong: one handler, one body shape.

Every error answer is::

    {"error": {"code": "not_found", "message": "<translated>", "fields": {"name": ["..."]}}}

``fields`` is empty unless the request had something wrong with named fields. An unexpected
failure answers 500 with only a ``request_id`` to quote: the stack stays in the server log.

Domain errors (``himaya.core.errors.HimayaError`` and its subclasses) keep their own status,
code and message; a message may use ``%(name)s`` placeholders filled from the error's
keyword arguments, and ``fields={"name": ["message", ...]}`` names the fields at fault.
The exceptions below are the API's own, for what only the API door can go wrong with.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import (
    ObjectDoesNotExist,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError

from himaya.core import errors
from himaya.core.request_context import current_request_id

logger = logging.getLogger("himaya.api")


class Unauthenticated(errors.HimayaError):
    """One answer for a missing, wrong, expired or revoked token and a disabled account,
    so that a caller learns nothing about which tokens or accounts exist."""

    http_status = 401
    code = "unauthenticated"
    default_message = _("Authentication failed. Send a valid API token or sign in again.")


class InsufficientScope(errors.PermissionDenied):
    code = "insufficient_scope"
    default_message = _("This token does not have the scope %(scope)s needed here.")


class CsrfFailed(errors.PermissionDenied):
    code = "csrf_failed"
    default_message = _("The security check of your session failed. Reload the page and retry.")


class TooManyAttempts(errors.HimayaError):
    http_status = 429
    code = "too_many_attempts"
    default_message = _(
        "Too many failed authentication attempts from your address. Try again in a few minutes."
    )


class TooManyRequests(errors.HimayaError):
    """A rate limit on an endpoint (ninja throttles), not on failed authentication."""

    http_status = 429
    code = "too_many_requests"
    default_message = _("Too many requests. Wait a moment and try again.")


class MalformedBody(errors.HimayaError):
    http_status = 400
    code = "malformed_body"
    default_message = _("The request body is not valid JSON. Send a JSON object in UTF-8.")


class BodyTooLarge(errors.HimayaError):
    http_status = 413
    code = "body_too_large"
    default_message = _("The request body is too large. The limit is %(limit)s kilobytes.")


class MethodNotAllowed(errors.HimayaError):
    http_status = 405
    code = "method_not_allowed"
    default_message = _("This method is not allowed on this address.")


_SERVER_ERROR_MESSAGE = _(
    "Something went wrong on our side. Quote the reference %(request_id)s if you report it."
)


# --- Validation messages ------------------------------------------------------------------
# Pydantic's messages are English only. Each error type maps to a translated sentence; where
# Django already ships the same sentence its catalogues translate it.

_VALIDATION_MESSAGES: dict[str, tuple[str | Promise, str | None]] = {
    # error type: (message, the ctx entry that fills %(limit_value)s)
    "missing": (_("This field is required."), None),
    "int_parsing": (_("Enter a whole number."), None),
    "int_type": (_("Enter a whole number."), None),
    "int_from_float": (_("Enter a whole number."), None),
    "float_parsing": (_("Enter a number."), None),
    "float_type": (_("Enter a number."), None),
    "decimal_parsing": (_("Enter a number."), None),
    "bool_parsing": (_("Enter true or false."), None),
    "bool_type": (_("Enter true or false."), None),
    "string_type": (_("Enter text."), None),
    "string_too_short": (_("Enter at least %(limit_value)s characters."), "min_length"),
    "string_too_long": (_("Enter at most %(limit_value)s characters."), "max_length"),
    "too_short": (_("Give at least %(limit_value)s items."), "min_length"),
    "too_long": (_("Give at most %(limit_value)s items."), "max_length"),
    "greater_than_equal": (
        _("Ensure this value is greater than or equal to %(limit_value)s."),
        "ge",
    ),
    "less_than_equal": (_("Ensure this value is less than or equal to %(limit_value)s."), "le"),
    "greater_than": (_("Ensure this value is greater than %(limit_value)s."), "gt"),
    "less_than": (_("Ensure this value is less than %(limit_value)s."), "lt"),
    "enum": (_("Select a valid choice. That choice is not one of the available choices."), None),
    "literal_error": (
        _("Select a valid choice. That choice is not one of the available choices."),
        None,
    ),
    "date_parsing": (_("Enter a valid date."), None),
    "date_from_datetime_parsing": (_("Enter a valid date."), None),
    "date_type": (_("Enter a valid date."), None),
    "datetime_parsing": (_("Enter a valid date/time."), None),
    "datetime_from_date_parsing": (_("Enter a valid date/time."), None),
    "datetime_type": (_("Enter a valid date/time."), None),
    "timezone_aware": (_("Enter a date/time with its time zone."), None),
    "uuid_parsing": (_("Enter a valid UUID."), None),
    "uuid_type": (_("Enter a valid UUID."), None),
    "list_type": (_("Enter a list of values."), None),
    "set_type": (_("Enter a list of values."), None),
    "dict_type": (_("Send an object with named fields."), None),
    "model_type": (_("Send an object with named fields."), None),
    "model_attributes_type": (_("Send an object with named fields."), None),
    "extra_forbidden": (_("This field is not accepted here."), None),
    "json_invalid": (MalformedBody.default_message, None),
}
_FALLBACK_VALIDATION_MESSAGE = _("Enter a valid value.")


def _interpolate(message: str | Promise, params: Mapping[str, object]) -> str:
    text = str(message)
    if not params:
        return text
    try:
        return text % params
    except (KeyError, TypeError, ValueError):
        # A translation that lost a placeholder must not turn an error into a crash.
        return text


def validation_message(error: Mapping[str, Any]) -> str:
    """A translated sentence for one pydantic error (as ninja reports it)."""
    ctx = error.get("ctx") or {}
    kind = str(error.get("type", ""))
    if kind in {"value_error", "assertion_error"} and ctx.get("error"):
        # Our own validators raise ValueError with an already-translated message.
        return str(ctx["error"]).removeprefix("Value error, ")
    message, limit_key = _VALIDATION_MESSAGES.get(kind, (_FALLBACK_VALIDATION_MESSAGE, None))
    if limit_key is None:
        return str(message)
    return _interpolate(message, {"limit_value": ctx.get(limit_key, "")})


def _field_name(loc: Iterable[object]) -> str:
    parts = [str(part) for part in loc]
    if parts and parts[0] == "body" and len(parts) > 2:
        # ninja puts the view's parameter name after "body": the client never sees it.
        parts = parts[2:]
    elif parts and parts[0] in {"body", "query", "path", "header", "cookie", "form", "file"}:
        parts = parts[1:] or parts
    return ".".join(parts) or "__all__"


def validation_fields(error_list: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for error in error_list:
        fields.setdefault(_field_name(error.get("loc", ())), []).append(validation_message(error))
    return fields


# --- The handler --------------------------------------------------------------------------


def _as_domain_error(exc: BaseException) -> errors.HimayaError | None:
    """The domain error an exception stands for; ``None`` when it is a genuine fault."""
    if isinstance(exc, errors.HimayaError):
        return exc
    if isinstance(exc, ValidationError):
        return errors.InvalidInput(fields=validation_fields(exc.errors))
    if isinstance(exc, AuthenticationError):
        return Unauthenticated()
    if isinstance(exc, Throttled):
        wait = exc.wait
        return TooManyRequests(retry_after=max(1, math.ceil(wait)) if wait is not None else None)
    if isinstance(exc, HttpError):
        if exc.status_code == 400:
            # ninja raises 400 only when it cannot parse the body (bad JSON or encoding).
            return MalformedBody()
        if exc.status_code == 403 and "csrf" in exc.message.lower():
            return CsrfFailed()
        generic = errors.HimayaError()
        generic.http_status = exc.status_code
        return generic
    if isinstance(exc, RequestDataTooBig | TooManyFieldsSent | TooManyFilesSent):
        return BodyTooLarge(limit=settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 1024)
    if isinstance(exc, Http404 | ObjectDoesNotExist):
        return errors.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return errors.PermissionDenied()
    if isinstance(exc, SuspiciousOperation):
        logger.warning("Suspicious API request refused: %s", type(exc).__name__)
        return errors.HimayaError()
    return None


def error_body(error: errors.HimayaError) -> dict[str, Any]:
    params = {key: value for key, value in error.params.items() if key != "fields"}
    raw_fields = error.params.get("fields") or {}
    fields: dict[str, list[str]] = {}
    if isinstance(raw_fields, Mapping):
        for name, messages in raw_fields.items():
            if isinstance(messages, str | Promise):
                fields[str(name)] = [str(messages)]
            else:
                fields[str(name)] = [str(message) for message in messages]
    return {
        "error": {
            "code": error.code,
            "message": _interpolate(error.message, params),
            "fields": fields,
        }
    }


def error_response(error: errors.HimayaError) -> HttpResponse:
    response = JsonResponse(error_body(error), status=error.http_status)
    if error.http_status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="himaya"'
    retry_after = error.params.get("retry_after")
    if error.http_status == 429 and isinstance(retry_after, int):
        response["Retry-After"] = str(retry_after)
    return response


def server_error_response() -> HttpResponse:
    request_id = current_request_id() or "-"
    body = {
        "error": {
            "code": "server_error",
            "message": _interpolate(_SERVER_ERROR_MESSAGE, {"request_id": request_id}),
            "fields": {},
            "request_id": request_id,
        }
    }
    return JsonResponse(body, status=500)


def handle_api_exception(request: HttpRequest, exc: Exception) -> HttpResponse:
    """The API's one exception handler: every failure of every endpoint comes through here."""
    error = _as_domain_error(exc)
    if error is not None:
        return error_response(error)
    # The traceback goes to the server log, tagged with the request id; the client gets the
    # id alone, never the exception text, which may quote data.
    logger.error("Unhandled exception in the API", exc_info=exc)
    return server_error_response()
