"""A double click, a retry after a time-out, two requests racing: one intake, ONE case."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from himaya.accounts.roles import Role
from himaya.cases import services
from himaya.cases.intake import SurvivorData
from himaya.cases.models import CaseFile, Survivor, UnitCounter
from himaya.core.actor import Actor
from himaya.core.audit import verify_chain
from himaya.core.errors import InvalidInput
from himaya.core.models import AuditEvent
from tests.cases.helpers import an_intake, make_actor, make_unit, new_key


@pytest.mark.django_db
def test_the_same_submission_twice_opens_one_case() -> None:
    officer = make_actor(Role.UNIT_OFFICER, make_unit())
    key = new_key()
    data = an_intake(survivor=SurvivorData(full_name="Amina Tazi", phone="0612345678"))
    first = services.case_open_from_intake(actor=officer, data=data, idempotency_key=key)
    second = services.case_open_from_intake(actor=officer, data=data, idempotency_key=key)
    assert second.pk == first.pk
    assert second.reference == first.reference
    assert CaseFile.objects.count() == 1
    assert Survivor.objects.count() == 1
    assert UnitCounter.objects.get(unit_id=officer.agency_id).last == 1
    assert AuditEvent.objects.filter(action="case.open_replayed").count() == 1


@pytest.mark.django_db
def test_a_retry_answers_with_the_first_case_even_if_the_form_changed_meanwhile() -> None:
    officer = make_actor(Role.UNIT_OFFICER, make_unit())
    key = new_key()
    first = services.case_open_from_intake(actor=officer, data=an_intake(), idempotency_key=key)
    retry = services.case_open_from_intake(
        actor=officer,
        data=an_intake(survivor=SurvivorData(full_name="Someone Else")),
        idempotency_key=key,
    )
    assert retry.pk == first.pk
    assert CaseFile.objects.count() == 1


@pytest.mark.django_db
def test_different_submissions_open_different_cases() -> None:
    officer = make_actor(Role.UNIT_OFFICER, make_unit())
    services.case_open_from_intake(actor=officer, data=an_intake(), idempotency_key=new_key())
    services.case_open_from_intake(actor=officer, data=an_intake(), idempotency_key=new_key())
    assert CaseFile.objects.count() == 2


@pytest.mark.django_db
def test_keys_are_per_unit() -> None:
    key = new_key()
    for _ in range(2):
        services.case_open_from_intake(
            actor=make_actor(Role.UNIT_OFFICER, make_unit()), data=an_intake(), idempotency_key=key
        )
    assert CaseFile.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "short", "has spaces in it", "x" * 65, "<script>xx</script>"])
def test_a_missing_or_malformed_key_is_refused_on_its_field(key: str) -> None:
    officer = make_actor(Role.UNIT_OFFICER, make_unit())
    with pytest.raises(InvalidInput) as caught:
        services.case_open_from_intake(actor=officer, data=an_intake(), idempotency_key=key)
    assert list(caught.value.fields) == ["idempotency_key"]
    assert not CaseFile.objects.exists()


def _race(officer: Actor, key: str, contenders: int) -> list[object]:
    barrier = threading.Barrier(contenders)

    def submit() -> object:
        try:
            barrier.wait(timeout=10)
            case = services.case_open_from_intake(
                actor=officer,
                data=an_intake(survivor=SurvivorData(full_name="Amina Tazi")),
                idempotency_key=key,
            )
            return case.pk
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=contenders) as pool:
        return list(pool.map(lambda _: submit(), range(contenders)))


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs real concurrent connections (the SQLite test database is in memory)",
)
def test_two_racing_submissions_of_one_key_open_one_case_on_postgresql() -> None:
    ContentType.objects.clear_cache()
    officer = make_actor(Role.UNIT_OFFICER, make_unit())
    for _ in range(5):
        key = new_key()
        results = _race(officer, key, contenders=2)
        assert len(set(results)) == 1
        assert CaseFile.objects.filter(idempotency_key=key).count() == 1
    assert CaseFile.objects.count() == 5
    assert Survivor.objects.count() == 5
    assert UnitCounter.objects.get(unit_id=officer.agency_id).last == 5
    assert verify_chain().ok


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs real concurrent connections (the SQLite test database is in memory)",
)
def test_racing_different_submissions_get_consecutive_references_on_postgresql() -> None:
    ContentType.objects.clear_cache()
    officer = make_actor(Role.UNIT_OFFICER, make_unit())
    barrier = threading.Barrier(4)

    def submit(_: int) -> str:
        try:
            barrier.wait(timeout=10)
            return services.case_open_from_intake(
                actor=officer, data=an_intake(), idempotency_key=new_key()
            ).reference
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=4) as pool:
        references = sorted(pool.map(submit, range(4)))
    assert [ref[-5:] for ref in references] == ["00001", "00002", "00003", "00004"]
