""" "Messages with her": the unit's page for her messages, the notices and writing to her.

Holding unit staff only (another unit gets 404, an agency she shared with gets 403 from the
service, like every write it may not make). Opening the page marks her messages read and is
audited (``notices.thread_for_unit``). The form carries a random idempotency key, so a
resubmitted form sends one message. Nothing about her is in a URL: cursors are signed.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_GET, require_POST

from himaya.cases import notices
from himaya.cases.models import NoticeChannel, NoticeState
from himaya.core.actor import Actor
from himaya.core.context_processors import acting
from himaya.core.errors import InvalidInput, NotFound, PermissionDenied

type Handler = Callable[..., HttpResponse]

PER_PAGE = 30

#: Labels of the timeline entries this module writes (merged into the case page's labels).
TIMELINE_LABELS: dict[str, Any] = {
    "notice_added": gettext_lazy("She was told (notice)"),
    "notice_state": gettext_lazy("Notice delivery"),
    "survivor_message": gettext_lazy("Message from her"),
}

#: What the unit reads next to each notice: why it was or was not sent.
STATE_HELP: dict[str, Any] = {
    NoticeState.SENT: pgettext_lazy("notice state", "Sent"),
    NoticeState.QUEUED: gettext_lazy("Waiting for a time she said is safe"),
    NoticeState.WITHHELD: gettext_lazy("Not sent: against her preferences"),
    NoticeState.FAILED: gettext_lazy("Sending failed"),
}

CHANNEL_PREFERENCE: dict[str, Any] = {
    "sms": gettext_lazy("Text message (SMS)"),
    "call": gettext_lazy("Phone call"),
    "trusted_person": gettext_lazy("Through a person she trusts"),
    "in_person": gettext_lazy("Only in person, when she comes to the unit"),
    "no_contact": gettext_lazy("Do not contact her"),
    "": gettext_lazy("Not stated"),
    "unknown": gettext_lazy("Not stated"),
}


def notices_page(view: Handler) -> Handler:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        actor = acting(request)
        if actor is None or actor.is_system:
            raise Http404
        try:
            return view(request, actor, *args, **kwargs)
        except NotFound as exc:
            raise Http404 from exc
        except PermissionDenied as exc:
            raise DjangoPermissionDenied from exc

    return wrapped


class MessageForm(forms.Form):
    body = forms.CharField(
        label=gettext_lazy("Your message to her"),
        max_length=notices.MAX_BODY,
        widget=forms.Textarea(attrs={"rows": 4, "dir": "auto"}),
        help_text=gettext_lazy(
            "She reads it in her portal inbox. A text message or a call, if she chose one, "
            "only says there is news: never what you write here."
        ),
    )
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)


def _new_form() -> MessageForm:
    return MessageForm(initial={"idempotency_key": secrets.token_urlsafe(24)})


def _page_url(request: HttpRequest, name: str, cursor: str | None) -> str | None:
    if not cursor:
        return None
    params = request.GET.copy()
    params[name] = cursor
    return f"?{params.urlencode()}"


def _render(
    request: HttpRequest, actor: Actor, case_id: uuid.UUID, form: MessageForm, status: int = 200
) -> HttpResponse:
    try:
        thread = notices.thread_for_unit(
            actor=actor,
            case_id=case_id,
            messages_cursor=request.GET.get("messages") or None,
            notices_cursor=request.GET.get("notices") or None,
            limit=PER_PAGE,
        )
    except InvalidInput:
        thread = notices.thread_for_unit(actor=actor, case_id=case_id, limit=PER_PAGE)
    prefs = thread.preferences
    rows = [
        {
            "row": row,
            "channel": NoticeChannel(row.notice.channel).label,
            "state": STATE_HELP.get(row.notice.state, row.notice.state),
        }
        for row in thread.notices
    ]
    context = {
        "case": thread.case,
        "her_messages": thread.messages,
        "rows": rows,
        "messages_next": _page_url(request, "messages", thread.messages_next),
        "notices_next": _page_url(request, "notices", thread.notices_next),
        "form": form,
        "prefs": prefs,
        "channel_label": CHANNEL_PREFERENCE.get(prefs.channel, prefs.channel),
        "marked_read": thread.marked_read,
        "new_ids": thread.new_ids,
    }
    return render(request, "cases/notices/thread.html", context, status=status)


@require_GET
@notices_page
def thread(request: HttpRequest, actor: Actor, case_id: uuid.UUID) -> HttpResponse:
    """Her messages (opening marks them read, audited), the notices, the form."""
    return _render(request, actor, case_id, _new_form())


@require_POST
@notices_page
def message_send(request: HttpRequest, actor: Actor, case_id: uuid.UUID) -> HttpResponse:
    form = MessageForm(request.POST)
    # Refuse outsiders before looking at the form: 404 whatever they post.
    notices.case_for_unit(actor=actor, case_id=case_id)
    if form.is_valid():
        try:
            notices.message_to_her(
                actor=actor,
                case_id=case_id,
                body=form.cleaned_data["body"],
                idempotency_key=form.cleaned_data["idempotency_key"],
            )
        except InvalidInput as exc:
            for name, errors in exc.fields.items():
                for error in errors:
                    form.add_error(name if name in form.fields else None, str(error))
        else:
            messages.success(request, _("Your message was recorded for her."))
            return HttpResponseRedirect(reverse("cases:notices", args=[case_id]))
    return _render(request, actor, case_id, form, status=422)
