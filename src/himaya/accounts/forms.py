"""Sign-in forms. They only parse input; every decision is in services."""

from __future__ import annotations

import unicodedata

from django import forms
from django.utils.translation import gettext_lazy as _


class LoginForm(forms.Form):
    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        widget=forms.TextInput(
            attrs={"autocomplete": "username", "autofocus": True, "autocapitalize": "none"}
        ),
    )
    # render_value=False: a typed password is never sent back in the page.
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        max_length=1024,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    next = forms.CharField(required=False, widget=forms.HiddenInput, max_length=2000)


class OneTimeCodeInput(forms.TextInput):
    """A one-time code is a secret too: never echoed back after a failed attempt."""

    def format_value(self, value: object) -> str | None:
        return None


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("6-digit code"),
        max_length=16,
        widget=OneTimeCodeInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "autofocus": True,
            }
        ),
    )
    next = forms.CharField(required=False, widget=forms.HiddenInput, max_length=2000)

    def clean_code(self) -> str:
        code = "".join(str(self.cleaned_data["code"]).split())
        # Arabic-Indic digits (typed on an Arabic keyboard) mean the same numbers.
        if not (code.isdecimal() and len(code) in (6, 8)):
            raise forms.ValidationError(_("Enter the 6 digits shown by your authenticator app."))
        return "".join(str(unicodedata.decimal(ch)) for ch in code)


class ChooseMembershipForm(forms.Form):
    membership = forms.IntegerField(widget=forms.HiddenInput)
    next = forms.CharField(required=False, widget=forms.HiddenInput, max_length=2000)
