"""Staff pages for one's own API tokens: list, create (plaintext shown once), revoke.

Thin views over ``himaya.accounts.tokens``. The plaintext of a new token is rendered into
the response to the creating POST and nowhere else: not stored in the session, not put in a
redirect URL, and the page is served ``no-store`` like every staff page.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.validators import MaxValueValidator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from himaya.accounts import tokens
from himaya.accounts.actors import actor_from_request
from himaya.accounts.scopes import Scope, scopes_allowed_for_role
from himaya.core.errors import HimayaError, InvalidInput, NotFound

DEFAULT_DAYS = 30


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("What the token is for, e.g. the system that will use it."),
    )
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Give the token only what the integration needs."),
    )
    expires_in_days = forms.IntegerField(
        label=_("Expires after (days)"), min_value=1, initial=DEFAULT_DAYS
    )

    def __init__(self, *args: Any, role: str | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        labels = dict(Scope.choices)
        self.fields["scopes"].choices = [  # type: ignore[attr-defined]
            (scope, labels[scope]) for scope in scopes_allowed_for_role(role)
        ]
        # The maximum is a setting, read per form so that a changed setting applies at once.
        max_days = int(settings.API_TOKEN_MAX_DAYS)
        days_field = self.fields["expires_in_days"]
        days_field.widget.attrs["max"] = str(max_days)
        days_field.validators.append(MaxValueValidator(max_days))


def _list_context(request: HttpRequest, form: TokenCreateForm) -> dict[str, Any]:
    actor = actor_from_request(request)
    page = tokens.token_list(actor=actor, cursor=request.GET.get("cursor") or None)
    return {
        "form": form,
        "tokens": page.items,
        "next_cursor": page.next_cursor,
        "max_days": settings.API_TOKEN_MAX_DAYS,
        "can_create": actor.membership_id is not None,
    }


@require_http_methods(["GET", "POST"])
def tokens_view(request: HttpRequest) -> HttpResponse:
    actor = actor_from_request(request)
    if request.method == "POST":
        form = TokenCreateForm(request.POST, role=actor.role)
        if form.is_valid():
            try:
                token, plaintext = tokens.token_create(
                    actor=actor,
                    name=form.cleaned_data["name"],
                    scopes=list(form.cleaned_data["scopes"]),
                    expires_in_days=form.cleaned_data["expires_in_days"],
                )
            except InvalidInput as exc:
                _attach_field_errors(form, exc)
            except HimayaError as exc:
                form.add_error(None, str(exc.message))
            else:
                return render(
                    request,
                    "accounts/token_created.html",
                    {"token": token, "plaintext": plaintext},
                )
    else:
        form = TokenCreateForm(role=actor.role)
    try:
        context = _list_context(request, form)
    except InvalidInput:
        # A stale or edited ?cursor= starts again from the first page.
        return HttpResponseRedirect(reverse("accounts:tokens"))
    return render(request, "accounts/tokens.html", context)


def _attach_field_errors(form: TokenCreateForm, exc: InvalidInput) -> None:
    fields = exc.params.get("fields")
    if not isinstance(fields, dict) or not fields:
        form.add_error(None, str(exc.message))
        return
    for name, field_messages in fields.items():
        target = name if name in form.fields else None
        for message in field_messages if isinstance(field_messages, list) else [field_messages]:
            form.add_error(target, str(message))


@require_POST
def token_revoke_view(request: HttpRequest, token_id: int) -> HttpResponse:
    actor = actor_from_request(request)
    try:
        token = tokens.token_revoke(actor=actor, token_id=token_id)
    except NotFound as exc:
        raise Http404 from exc
    messages.success(request, _("The token %(prefix)s is revoked.") % {"prefix": token.prefix})
    return HttpResponseRedirect(reverse("accounts:tokens"))
