"""Errors of the sign-in flow. Their messages are shown as they are: they never say whether
an account exists, only what the person at the keyboard can do next."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from himaya.core.errors import InvalidInput, PermissionDenied


class CredentialsInvalid(InvalidInput):
    """Wrong password and unknown username are the same error, word for word."""

    code = "credentials_invalid"
    default_message = _("The username or password is not correct.")


class LoginLocked(PermissionDenied):
    """Too many failures for the typed username or from this address. The same text whether
    or not the username exists (unknown names are counted exactly like real ones)."""

    code = "login_locked"
    default_message = _(
        "Too many failed sign-in attempts. Wait %(minutes)s minutes, then try again."
    )


class CodeInvalid(InvalidInput):
    code = "code_invalid"
    default_message = _(
        "This code is not correct or has expired. Enter the current 6-digit code "
        "from your authenticator app."
    )


class SignInExpired(InvalidInput):
    """The password step was done too long ago; the second step must follow promptly."""

    code = "sign_in_expired"
    default_message = _("Signing in took too long. Please start again.")
