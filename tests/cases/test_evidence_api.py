"""Evidence through the API: multipart upload with a real token, the list with both
digests, downloads with ``Repr-Digest``, the same refusals and the same 404s as the pages,
410 once she is erased, and the OpenAPI schema describing it all."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from himaya.accounts.roles import Role
from himaya.cases.models import CaseFile, Evidence
from himaya.core.crypto import clear_data_key_cache
from himaya.core.models import AuditEvent
from himaya.core.shredding import data_key_shred
from tests.cases import evidence_files as files
from tests.cases.api_helpers import API, READ, WRITE, bearer, token_for
from tests.cases.helpers import Staff, make_person, make_unit, open_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer() -> Staff:
    return make_person(Role.UNIT_OFFICER, make_unit())


@pytest.fixture
def case(officer: Staff) -> CaseFile:
    return open_case(officer.actor)


@pytest.fixture
def token(officer: Staff) -> str:
    return token_for(officer, READ, WRITE)


def evidence_url(case: CaseFile) -> str:
    return f"{API}/{case.pk}/evidence"


def upload(
    client: Client,
    token: str,
    case: CaseFile,
    data: bytes,
    *,
    kind: str = "injury_photo",
    name: str = "photo.jpg",
) -> Any:
    return client.post(
        evidence_url(case),
        {"kind": kind, "description": "Left arm", "file": SimpleUploadedFile(name, data)},
        headers=bearer(token, language="en"),
    )


def test_an_upload_answers_201_with_the_digests(client: Client, token: str, case: CaseFile) -> None:
    original = files.jpeg_with_gps()
    response = upload(client, token, case, original)
    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["sha256_received"] == hashlib.sha256(original).hexdigest()
    assert answer["content_type"] == "image/jpeg"
    assert answer["description"] == "Left arm"
    assert answer["erased"] is False
    assert Evidence.objects.filter(pk=answer["id"]).exists()


def test_the_list_and_the_download_are_audited_and_consistent(
    client: Client, token: str, case: CaseFile
) -> None:
    created = upload(client, token, case, files.png_with_metadata(), name="screen.png").json()
    listed = client.get(evidence_url(case), headers=bearer(token))
    assert listed.status_code == 200
    (item,) = listed.json()["items"]
    assert item["id"] == created["id"]
    response = client.get(f"{evidence_url(case)}/{item['id']}/file", headers=bearer(token))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith('attachment; filename="evidence-')
    assert "no-store" in response["Cache-Control"]
    assert response["X-Content-Type-Options"] == "nosniff"
    digest = hashlib.sha256(response.content).digest()
    assert digest.hex() == item["sha256_stored"]
    assert response["Repr-Digest"] == f"sha-256=:{base64.b64encode(digest).decode()}:"
    assert AuditEvent.objects.filter(action="evidence.list").count() == 1
    assert AuditEvent.objects.filter(action="evidence.download").count() == 1


@pytest.mark.parametrize(
    "hostile",
    [
        (files.SVG_WITH_SCRIPT, "a.svg", "This type of file is not accepted"),
        (files.HTML_AS_JPEG, "a.jpg", "This type of file is not accepted"),
        (files.zip_bomb(8 * 1024 * 1024), "a.zip", "archives"),
        (files.png_bomb(20_000), "a.png", "too many pixels"),
    ],
    ids=["svg-with-script", "html-named-jpg", "zip-bomb", "decompression-bomb"],
)
def test_a_hostile_upload_is_refused_on_the_file_field(
    client: Client, token: str, case: CaseFile, hostile: tuple[bytes, str, str]
) -> None:
    data, name, message = hostile
    response = upload(client, token, case, data, name=name)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert message in " ".join(error["fields"]["file"])
    assert not Evidence.objects.exists()


def test_a_file_over_the_limit_is_a_422_not_a_500(
    client: Client, token: str, case: CaseFile, settings: object
) -> None:
    settings.HIMAYA_EVIDENCE_MAX_BYTES = 1024 * 1024  # type: ignore[attr-defined]
    response = upload(client, token, case, files.noisy_jpeg(2 * 1024 * 1024))
    assert response.status_code == 422
    assert response.json()["error"]["fields"]["file"] == [
        "This file is too large. The limit is 1 MB."
    ]


def test_an_upload_without_a_file_names_the_missing_field(
    client: Client, token: str, case: CaseFile
) -> None:
    response = client.post(
        evidence_url(case), {"kind": "injury_photo"}, headers=bearer(token, language="en")
    )
    assert response.status_code == 422
    assert "file" in response.json()["error"]["fields"]


def test_a_read_only_token_cannot_upload(client: Client, officer: Staff, case: CaseFile) -> None:
    response = upload(client, token_for(officer, READ), case, files.jpeg_with_gps())
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "insufficient_scope"


def test_another_unit_gets_404_everywhere(client: Client, token: str, case: CaseFile) -> None:
    created = upload(client, token, case, files.jpeg_with_gps()).json()
    stranger = token_for(make_person(Role.UNIT_CHIEF, make_unit()), READ, WRITE)
    missing = client.get(f"{evidence_url(case)}/{created['id']}x/file", headers=bearer(stranger))
    answers = [
        client.get(evidence_url(case), headers=bearer(stranger)),
        client.get(f"{evidence_url(case)}/{created['id']}/file", headers=bearer(stranger)),
        upload(client, stranger, case, files.jpeg_with_gps()),
    ]
    assert [answer.status_code for answer in answers] == [404, 404, 404]
    assert missing.status_code == 404
    assert answers[1].json() == missing.json()
    assert Evidence.objects.count() == 1


def test_evidence_of_an_erased_survivor_answers_410(
    client: Client, token: str, officer: Staff, case: CaseFile
) -> None:
    created = upload(client, token, case, files.jpeg_with_gps()).json()
    data_key_shred(
        actor=officer.actor, data_key=case.survivor.data_key, reason="She asked to be erased."
    )
    clear_data_key_cache()
    response = client.get(
        f"{evidence_url(case)}/{created['id']}/file", headers=bearer(token, language="en")
    )
    assert response.status_code == 410
    assert response.json()["error"] == {
        "code": "erased",
        "message": "This information has been erased.",
        "fields": {},
    }
    (item,) = client.get(evidence_url(case), headers=bearer(token)).json()["items"]
    assert item["erased"] is True
    assert item["sha256_stored"] == created["sha256_stored"]


def test_the_openapi_schema_describes_the_upload_and_the_download(client: Client) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    upload_op = paths["/api/v1/cases/{case_id}/evidence"]["post"]
    assert "multipart/form-data" in upload_op["requestBody"]["content"]
    download = paths["/api/v1/cases/{case_id}/evidence/{evidence_id}/file"]["get"]
    assert "image/jpeg" in download["responses"]["200"]["content"]
