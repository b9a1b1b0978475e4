"""The case file's scheduled sweeps, run as ``manage.py run_schedule --once`` runs them:
interviews abandoned for longer than the configured age are crypto-shredded (submitted ones
and recent ones are kept), and orphan evidence blobs are removed."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from himaya.accounts.roles import Role
from himaya.cases import evidence, services
from himaya.cases.intake import intake_draft_list, intake_draft_save
from himaya.cases.models import CaseFile, Evidence, EvidenceKind, IntakeDraft
from himaya.core.crypto import clear_data_key_cache, is_erased
from himaya.core.models import AuditEvent, DataKey
from himaya.core.shredding import ledger_path, read_ledger
from tests.cases import evidence_files as files
from tests.cases.helpers import Staff, an_intake, make_person, make_unit, new_key

pytestmark = pytest.mark.django_db

CANARY = "CANARY-draft-Khadija-0611223344"


@pytest.fixture
def officer() -> Staff:
    return make_person(Role.UNIT_OFFICER, make_unit())


def draft(officer: Staff, *, days_old: float) -> IntakeDraft:
    saved = intake_draft_save(
        actor=officer.actor,
        draft_id=None,
        step="survivor",
        data={"survivor": {"full_name": CANARY}},
    )
    # updated_at is auto_now: age it with a queryset update, as time would.
    IntakeDraft.objects.filter(pk=saved.pk).update(
        updated_at=timezone.now() - timedelta(days=days_old)
    )
    return saved


def reload(item: IntakeDraft) -> IntakeDraft:
    clear_data_key_cache()
    return IntakeDraft.objects.select_related("data_key").get(pk=item.pk)


def run(job: str) -> str:
    out = StringIO()
    call_command("run_schedule", "--once", "--job", job, stdout=out)
    return out.getvalue()


# run_schedule closes stale connections before and after each job (core.schedule): inside a
# test's transaction PostgreSQL would lose it, so the tests that go through the command run
# outside one.
@pytest.mark.django_db(transaction=True)
def test_an_abandoned_interview_is_shredded_and_a_recent_one_kept(officer: Staff) -> None:
    old = draft(officer, days_old=8)
    recent = draft(officer, days_old=2)

    assert "1 job(s) ran, 0 failed" in run("cases.intake_drafts_expire")

    gone = reload(old)
    assert gone.data_key.wrapped_key is None
    assert is_erased(gone.data)
    assert reload(recent).data == {"survivor": {"full_name": CANARY}}
    # She is gone from the officer's list of interviews too, and the ledger says so.
    assert [d.pk for d in intake_draft_list(actor=officer.actor)] == [recent.pk]
    assert old.data_key_id in {entry.data_key_id for entry in read_ledger().entries}
    event = AuditEvent.objects.get(action="intake_draft.expire")
    assert event.target_id == str(old.pk)
    assert (event.actor_user_id, event.actor_username) == (None, "system")


def test_the_age_comes_from_the_setting(officer: Staff, settings: object) -> None:
    settings.HIMAYA_INTAKE_DRAFT_MAX_AGE_DAYS = 30  # type: ignore[attr-defined]
    kept = draft(officer, days_old=8)
    assert services.intake_draft_sweep_abandoned() == 0
    assert reload(kept).data_key.wrapped_key is not None
    settings.HIMAYA_INTAKE_DRAFT_MAX_AGE_DAYS = 7  # type: ignore[attr-defined]
    assert services.intake_draft_sweep_abandoned() == 1


def test_a_submitted_interview_is_never_shredded_its_key_is_hers(officer: Staff) -> None:
    saved = draft(officer, days_old=1)
    case = services.case_open_from_intake(
        actor=officer.actor, data=an_intake(), idempotency_key=new_key(), draft_id=saved.pk
    )
    IntakeDraft.objects.filter(pk=saved.pk).update(updated_at=timezone.now() - timedelta(days=90))
    assert services.intake_draft_sweep_abandoned() == 0
    survivor = CaseFile.objects.select_related("survivor__data_key").get(pk=case.pk).survivor
    assert survivor.full_name == "Amina Tazi"
    assert DataKey.objects.get(pk=saved.data_key_id).wrapped_key is not None


def test_the_sweep_is_idempotent_and_works_in_batches(
    officer: Staff, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "SWEEP_BATCH", 2)
    drafts = [draft(officer, days_old=10) for _ in range(5)]
    assert services.intake_draft_sweep_abandoned() == 5
    assert services.intake_draft_sweep_abandoned() == 0
    assert all(reload(d).data_key.wrapped_key is None for d in drafts)
    assert AuditEvent.objects.filter(action="intake_draft.expire").count() == 5


@pytest.mark.django_db(transaction=True)
def test_orphan_evidence_blobs_are_swept_by_the_scheduled_job(officer: Staff) -> None:
    case = services.case_open_from_intake(
        actor=officer.actor, data=an_intake(), idempotency_key=new_key()
    )

    def upload() -> Evidence:
        from django.core.files.uploadedfile import SimpleUploadedFile

        return evidence.evidence_add(
            actor=officer.actor,
            case_id=case.pk,
            kind=EvidenceKind.INJURY_PHOTO,
            upload=SimpleUploadedFile("p.jpg", files.jpeg_with_gps(), content_type="image/jpeg"),
            description="",
        )

    kept = upload()
    with pytest.raises(RuntimeError, match="enclosing"):
        _upload_then_fail(upload)
    root = Path(django_settings.MEDIA_ROOT) / "evidence"
    blobs = [p for p in root.rglob("*") if p.is_file()]
    assert len(blobs) == 2
    for path in blobs:
        os.utime(path, (0, 0))

    assert "1 job(s) ran, 0 failed" in run("cases.evidence_sweep_orphans")

    assert [p.name for p in root.rglob("*") if p.is_file()] == [kept.blob_name]


def _upload_then_fail(upload: Callable[[], Evidence]) -> None:
    with transaction.atomic():
        upload()
        raise RuntimeError("the enclosing work failed")


def test_the_ledger_is_written_where_the_keys_live() -> None:
    # The shred ledger (read above) lives with the keys, outside the database.
    assert ledger_path().parent == Path(django_settings.KEYS_DIR)
