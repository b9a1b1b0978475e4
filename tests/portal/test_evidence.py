"""Files she adds from the portal: the staff upload's checks (type by content, size stated,
metadata stripped, sealed). A deployment may switch uploads off
(``PORTAL_EVIDENCE_UPLOADS``); the portal then does not offer them at all."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings

from himaya.cases.evidence import prepare_file
from himaya.cases.models import CaseFile, Evidence
from himaya.cases.online import evidence_add_online, online_evidence_supported
from himaya.core.errors import InvalidInput
from tests.cases import evidence_files as files
from tests.portal.helpers import World, codename_in, post, walk

pytestmark = pytest.mark.django_db


@override_settings(PORTAL_EVIDENCE_UPLOADS=False)
def test_with_uploads_switched_off_the_portal_offers_no_file_page(
    client: Client, world: World
) -> None:
    assert not online_evidence_supported()
    done, _ = walk(client, world)
    assert 'type="file"' not in done.content.decode()
    her = Client()
    post(her, "/p/fr/follow/", {"codename": codename_in(done.content.decode())})
    assert "/mine/files/" not in her.get("/p/fr/mine/").content.decode()
    assert her.get("/p/fr/mine/files/").status_code == 404


@override_settings(HIMAYA_EVIDENCE_MAX_BYTES=2048)
def test_a_wrong_or_oversized_file_is_refused_with_the_reason(client: Client, world: World) -> None:
    walk(client, world)
    case = CaseFile.objects.get()
    with pytest.raises(InvalidInput) as wrong:
        evidence_add_online(
            case=case,
            kind="document",
            upload=SimpleUploadedFile("x.svg", b"<svg onload=alert(1)></svg>"),
        )
    assert "file" in (wrong.value.fields or {})
    with pytest.raises(InvalidInput) as big:
        evidence_add_online(
            case=case,
            kind="document",
            upload=SimpleUploadedFile("x.pdf", b"%PDF-1.4" + b"0" * 5000),
        )
    assert "file" in (big.value.fields or {})
    assert Evidence.objects.count() == 0


def test_a_voice_note_she_sends_loses_its_tags_as_a_staff_upload_does(
    client: Client, world: World
) -> None:
    walk(client, world)
    case = CaseFile.objects.get()
    note = files.tagged_ogg_opus()
    item = evidence_add_online(case=case, kind="audio", upload=SimpleUploadedFile("note.ogg", note))
    # What is sealed is exactly the staff upload's stripped copy, not what she sent.
    stripped = prepare_file(note, kind="audio")
    assert files.CANARY_AUDIO.encode() not in stripped.content
    assert item.sha256_received == hashlib.sha256(note).hexdigest()
    assert item.sha256_stored == stripped.sha256_stored != item.sha256_received
