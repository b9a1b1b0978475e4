"""Evidence pages: the upload form, the case's evidence list and the download.

Thin like every page: parse, call ``cases.evidence``, render. The upload reads its file
with ``EvidenceUploadHandler`` (in memory, bounded, never a plaintext temporary file), which
must be installed before anything reads the request body; Django's CSRF check reads it, so
the upload view turns CSRF off for the handler swap and back on right after
(``csrf_exempt`` outside, ``csrf_protect`` inside: the check still runs on every POST).

Downloads are attachments with a neutral name, ``no-store`` and ``nosniff``: a file never
renders in the page's origin and nothing stays in the browser's cache. Evidence of an
erased survivor answers 410 with the "erased" message; a file lost by storage or altered on
disk answers with a plain message, never a stack trace.
"""

from __future__ import annotations

import base64
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
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from himaya.cases import evidence
from himaya.cases.models import Evidence, EvidenceKind
from himaya.core.actor import Actor
from himaya.core.context_processors import acting
from himaya.core.errors import HimayaError, InvalidInput, NotFound, PermissionDenied

type Handler = Callable[..., HttpResponse]

#: A hint for the browser's file picker only; the server decides by content.
ACCEPT = "image/jpeg,image/png,image/webp,application/pdf,audio/mpeg,audio/mp4,audio/ogg,audio/wav"


def evidence_page(view: Handler) -> Handler:
    """Resolve the acting person (404 without one) and answer domain errors with pages:
    not found and not yours look the same; erased (410) and storage faults get a page
    that says what happened, in the reader's language."""

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
        except HimayaError as exc:
            return render(
                request,
                "cases/evidence/problem.html",
                {"message": str(exc.message), "erased": exc.code == "erased"},
                status=exc.http_status,
            )

    return wrapped


class EvidenceForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Kind of evidence"), choices=EvidenceKind.choices)
    description = forms.CharField(
        label=gettext_lazy("Description"),
        required=False,
        max_length=evidence.MAX_DESCRIPTION,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("What it shows and when it was taken, if known."),
    )
    # Checked by the service (type by content, size, images re-encoded), not by the form.
    file = forms.FileField(
        label=gettext_lazy("File"),
        required=False,
        widget=forms.FileInput(attrs={"accept": ACCEPT}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limit = max(1, evidence.max_bytes() // (1024 * 1024))
        self.fields["file"].help_text = _(
            "A photo (JPEG, PNG, WebP), a PDF document or a sound recording (MP3, M4A, OGG, "
            "WAV), at most %(limit)s MB. Location and camera details are removed from photos."
        ) % {"limit": limit}


def _case_url(case_id: uuid.UUID) -> str:
    return f"{reverse('cases:case_detail', args=[case_id])}#evidence"


@csrf_exempt
def evidence_add(request: HttpRequest, case_id: uuid.UUID) -> HttpResponse:
    """Upload form. The handler swap must come before the CSRF check reads the body."""
    evidence.use_evidence_upload_handler(request)
    return _evidence_add(request, case_id)


@csrf_protect
@require_http_methods(["GET", "POST"])
@evidence_page
def _evidence_add(request: HttpRequest, actor: Actor, case_id: uuid.UUID) -> HttpResponse:
    case = evidence.evidence_upload_case(actor=actor, case_id=case_id)
    status = 200
    if request.method == "POST":
        form = EvidenceForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                evidence.evidence_add(
                    actor=actor,
                    case_id=case.pk,
                    kind=form.cleaned_data["kind"],
                    description=form.cleaned_data["description"],
                    upload=request.FILES.get("file"),
                )
            except InvalidInput as exc:
                for name, errors in exc.fields.items():
                    for message in errors:
                        form.add_error(name if name in form.fields else None, str(message))
                if not exc.fields:
                    form.add_error(None, str(exc.message))
            else:
                messages.success(request, _("The evidence was added and encrypted."))
                return HttpResponseRedirect(_case_url(case.pk))
        status = 422
    else:
        form = EvidenceForm()
    return render(
        request,
        "cases/evidence/add.html",
        {"form": form, "case": case, "case_url": _case_url(case.pk)},
        status=status,
    )


@require_GET
@evidence_page
def evidence_list(request: HttpRequest, actor: Actor, case_id: uuid.UUID) -> HttpResponse:
    """The case's evidence on a page of its own (the case page includes the same list)."""
    listing = evidence.evidence_listing(actor=actor, case_id=case_id)
    return render(
        request,
        "cases/evidence/list.html",
        {
            "case": listing.case,
            "evidence_items": listing.items,
            "can_add_evidence": listing.can_add,
            "show_uploader": True,
            "case_url": _case_url(listing.case.pk),
        },
    )


@require_GET
@evidence_page
def evidence_download(request: HttpRequest, actor: Actor, evidence_id: uuid.UUID) -> HttpResponse:
    """The decrypted file as an attachment (an audited ``evidence.download``)."""
    item, content = evidence.evidence_open(actor=actor, evidence_id=evidence_id)
    return download_response(item, content)


def download_response(item: Evidence, content: bytes) -> HttpResponse:
    """The answer for a download, from the page or the API: an attachment with a neutral
    name, never rendered in our origin, never cached."""
    response = HttpResponse(content, content_type=item.content_type)
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=evidence.download_name(item)
    )
    response["Content-Length"] = str(len(content))
    response["Cache-Control"] = "no-store, private"
    response["X-Content-Type-Options"] = "nosniff"
    # Old Internet Explorer/Edge would otherwise offer to "open" the file in our origin.
    response["X-Download-Options"] = "noopen"
    # RFC 9530: lets a client check what it received against the recorded SHA-256.
    digest = base64.b64encode(bytes.fromhex(item.sha256_stored)).decode("ascii")
    response["Repr-Digest"] = f"sha-256=:{digest}:"
    return response
