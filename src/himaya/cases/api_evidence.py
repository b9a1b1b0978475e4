"""The evidence API, mounted next to the case-file API at /api/v1/cases/:

* ``GET  /cases/{case_id}/evidence`` — the list, with both SHA-256 digests (``cases:read``);
* ``POST /cases/{case_id}/evidence`` — multipart upload: ``kind``, ``description``, ``file``
  (``cases:write``); ``201`` with the recorded digests, ``422`` with a translated message on
  ``file`` for a refused file (type by content, size, decompression bomb, damaged);
* ``GET  /cases/{case_id}/evidence/{evidence_id}/file`` — the decrypted file as an
  attachment with a neutral name and ``Repr-Digest`` (``cases:read``); ``410`` once she is
  erased.

The same ``cases.evidence`` services as the pages, so the same policy and the same audit
events (``evidence.add``, ``evidence.list``, ``evidence.download``). Evidence the caller may
not see (another unit, a grant without the ``evidence`` group) is ``404``, like a missing
one. Uploads are read by ``EvidenceUploadHandler``: in memory, bounded, never a plaintext
temporary file.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import File, Form, Router, Schema, Status
from ninja.decorators import decorate_view
from ninja.files import UploadedFile

from himaya.accounts.api_auth import api_actor, require_scope
from himaya.accounts.scopes import Scope
from himaya.cases import evidence
from himaya.cases.models import Evidence
from himaya.cases.views_evidence import download_response
from himaya.core.crypto import is_erased

router = Router(tags=["evidence"])

READ = require_scope(Scope.CASES_READ)
WRITE = require_scope(Scope.CASES_WRITE)


class EvidenceOut(Schema):
    id: uuid.UUID
    kind: str
    #: Empty when none was given; the translated "erased" text once she is erased.
    description: str
    original_name: str
    content_type: str
    size: int
    sha256_received: str
    sha256_stored: str
    uploaded_at: datetime
    #: Her key was shredded: description, name and file can no longer be read.
    erased: bool


class EvidenceListOut(Schema):
    items: list[EvidenceOut]


def _out(item: Evidence) -> EvidenceOut:
    description, name = item.description, item.original_name
    return EvidenceOut(
        id=item.pk,
        kind=item.kind,
        description=str(description or ""),
        original_name=str(name or ""),
        content_type=item.content_type,
        size=item.size,
        sha256_received=item.sha256_received,
        sha256_stored=item.sha256_stored,
        uploaded_at=item.uploaded_at,
        erased=is_erased(description) or is_erased(name),
    )


def _bounded_upload(run: Callable[..., Any]) -> Callable[..., Any]:
    """Install the evidence upload handler before authentication (whose CSRF check reads
    the body) and parameter parsing."""

    @wraps(run)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        evidence.use_evidence_upload_handler(request)
        return run(request, *args, **kwargs)

    return wrapped


@router.get(
    "/{uuid:case_id}/evidence",
    auth=READ,
    response=EvidenceListOut,
    summary="The case's evidence, with SHA-256 digests (audited)",
)
def evidence_list(request: HttpRequest, case_id: uuid.UUID) -> EvidenceListOut:
    items = evidence.evidence_list(actor=api_actor(request), case_id=case_id)
    return EvidenceListOut(items=[_out(item) for item in items])


@router.post(
    "/{uuid:case_id}/evidence",
    auth=WRITE,
    response={201: EvidenceOut},
    summary="Attach a file (checked by content, metadata stripped, encrypted)",
    description=(
        "multipart/form-data with kind, description and file. Accepted: JPEG, PNG, WebP, "
        "PDF, MP3, M4A, OGG, WAV, decided by content; images are re-encoded without EXIF, "
        "GPS or XMP. sha256_received is the digest of the bytes as sent, sha256_stored of "
        "the bytes a download returns."
    ),
)
@decorate_view(_bounded_upload)
def evidence_upload(
    request: HttpRequest,
    case_id: uuid.UUID,
    kind: Form[str],
    description: Form[str] = "",
    file: File[UploadedFile | None] = None,
) -> Status[EvidenceOut]:
    item = evidence.evidence_add(
        actor=api_actor(request),
        case_id=case_id,
        kind=kind,
        description=description,
        upload=file,
    )
    return Status(201, _out(item))


_BINARY = {"schema": {"type": "string", "format": "binary"}}


@router.get(
    "/{uuid:case_id}/evidence/{uuid:evidence_id}/file",
    auth=READ,
    summary="Download the file (audited); 410 once she is erased",
    openapi_extra={
        "responses": {
            "200": {
                "description": "The file, as an attachment.",
                "content": {file_type.value: _BINARY for file_type in evidence.FileType},
            }
        }
    },
)
def evidence_file(request: HttpRequest, case_id: uuid.UUID, evidence_id: uuid.UUID) -> HttpResponse:
    item, content = evidence.evidence_open(
        actor=api_actor(request), evidence_id=evidence_id, case_id=case_id
    )
    return download_response(item, content)
