"""The intake: validated whole, every problem named on its field with a translated message,
nothing written unless everything is right; drafts sealed as the interview goes."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connection
from django.utils import timezone, translation
from django.utils.functional import Promise

from himaya.accounts.roles import Role
from himaya.cases import services
from himaya.cases.intake import (
    ConsentData,
    DependantData,
    IntakeData,
    PerpetratorData,
    SurvivorData,
    age_range_on,
    intake_draft_discard,
    intake_draft_list,
    intake_draft_load,
    intake_draft_save,
    intake_from_dict,
    validate_intake,
)
from himaya.cases.models import (
    AgeRange,
    CaseFile,
    ConsentPurpose,
    IntakeDraft,
    Relationship,
    Survivor,
)
from himaya.core.actor import Actor
from himaya.core.crypto import is_erased
from himaya.core.errors import InvalidInput, NotFound
from himaya.core.models import DataKey
from tests.cases.helpers import an_incident, an_intake, days_ago, make_actor, make_unit, new_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer() -> Actor:
    return make_actor(Role.UNIT_OFFICER, make_unit())


def errors_of(data: IntakeData) -> dict[str, list[str | Promise]]:
    with pytest.raises(InvalidInput) as caught:
        validate_intake(data)
    return caught.value.fields


# --- impossible input, each on its field ---------------------------------------------------


def test_an_incident_in_the_future_is_refused_on_its_date() -> None:
    tomorrow = timezone.localdate() + timedelta(days=1)
    errors = errors_of(an_intake(incidents=[an_incident(occurred_on=tomorrow)]))
    assert list(errors) == ["incidents.0.occurred_on"]


def test_a_birth_after_the_incident_is_refused_on_both_dates() -> None:
    errors = errors_of(
        an_intake(
            survivor=SurvivorData(full_name="A", date_of_birth=days_ago(10)),
            incidents=[an_incident(occurred_on=days_ago(20))],
        )
    )
    assert set(errors) == {"survivor.date_of_birth", "incidents.0.occurred_on"}


def test_a_birth_after_the_end_of_a_period_is_refused() -> None:
    errors = errors_of(
        an_intake(
            survivor=SurvivorData(full_name="A", date_of_birth=days_ago(10)),
            incidents=[
                an_incident(occurred_on=None, occurred_from=days_ago(40), occurred_to=days_ago(20))
            ],
        )
    )
    assert set(errors) == {"survivor.date_of_birth", "incidents.0.occurred_to"}


def test_a_birth_date_in_the_future_is_refused_on_the_birth_date_only() -> None:
    errors = errors_of(an_intake(survivor=SurvivorData(full_name="A", date_of_birth=days_ago(-30))))
    assert list(errors) == ["survivor.date_of_birth"]


def test_an_unknown_commune_is_refused_where_it_was_typed() -> None:
    errors = errors_of(
        an_intake(
            survivor=SurvivorData(full_name="A", residence_commune_id=987654),
            incidents=[an_incident(), an_incident(commune_id=987655)],
        )
    )
    assert set(errors) == {"survivor.residence_commune_id", "incidents.1.commune_id"}


def test_a_cin_or_phone_in_a_wrong_format_is_refused_without_repeating_it() -> None:
    errors = errors_of(
        an_intake(
            survivor=SurvivorData(full_name="A", cin="98765432", phone="05557"),
            perpetrators=[
                PerpetratorData(relationship=Relationship.SPOUSE, phone="+212 12", cin="X-Y")
            ],
        )
    )
    assert set(errors) == {
        "survivor.cin",
        "survivor.phone",
        "perpetrators.0.phone",
        "perpetrators.0.cin",
    }
    shown = " ".join(str(m) for messages in errors.values() for m in messages)
    assert "05557" not in shown
    assert "98765432" not in shown


def test_a_period_must_run_forwards_and_not_be_mixed_with_a_day() -> None:
    errors = errors_of(
        an_intake(
            incidents=[
                an_incident(occurred_on=None, occurred_from=days_ago(5), occurred_to=days_ago(9)),
                an_incident(occurred_from=days_ago(5), occurred_to=days_ago(1)),
                an_incident(occurred_on=None),
            ]
        )
    )
    assert set(errors) == {
        "incidents.0.occurred_to",
        "incidents.1.occurred_on",
        "incidents.2.occurred_on",
    }


def test_she_may_decline_to_give_the_date() -> None:
    clean = validate_intake(an_intake(incidents=[an_incident(occurred_on=None, declined=["date"])]))
    assert clean.incidents[0].declined == ["date"]


def test_every_problem_is_reported_at_once() -> None:
    errors = errors_of(
        IntakeData(
            channel="pigeon",
            survivor=SurvivorData(age_range="ancient", declined=["shoe size"]),
            incidents=[an_incident(forms=[], acts=["teleportation"], context=["moon"])],
            perpetrators=[PerpetratorData(number_involved=0)],
            dependants=[DependantData(age=99)],
            consents=[
                ConsentData(purpose=ConsentPurpose.SHARE_SHELTER, granted=True),
                ConsentData(purpose=ConsentPurpose.SHARE_SHELTER, granted=False),
            ],
        )
    )
    assert set(errors) == {
        "channel",
        "survivor.age_range",
        "survivor.declined",
        "incidents.0.forms",
        "incidents.0.acts",
        "incidents.0.context",
        "perpetrators.0.relationship",
        "perpetrators.0.number_involved",
        "dependants.0.age",
        "consents.0.scope",
        "consents.1.purpose",
    }


def test_no_incident_at_all_is_refused() -> None:
    assert list(errors_of(an_intake(incidents=[]))) == ["incidents"]


def test_messages_are_translated() -> None:
    errors = errors_of(an_intake(channel=""))
    (message,) = errors["channel"]
    assert isinstance(message, Promise)
    with translation.override("fr"):
        assert str(message) == "Ce champ est obligatoire."


def test_an_invalid_intake_writes_nothing(officer: Actor) -> None:
    keys_before = DataKey.objects.count()
    with pytest.raises(InvalidInput):
        services.case_open_from_intake(
            actor=officer,
            data=an_intake(incidents=[an_incident(occurred_on=date(2999, 1, 1))]),
            idempotency_key=new_key(),
        )
    assert not CaseFile.objects.exists()
    assert not Survivor.objects.exists()
    assert DataKey.objects.count() == keys_before


# --- normalization ------------------------------------------------------------------------


def test_phone_and_cin_are_stored_normalized_and_the_age_range_derived(officer: Actor) -> None:
    born = timezone.localdate().replace(year=timezone.localdate().year - 30) - timedelta(days=1)
    case = services.case_open_from_intake(
        actor=officer,
        data=an_intake(
            survivor=SurvivorData(
                full_name=" Amina Tazi ",
                phone="06 12 34 56 78",
                cin="bk 418273",
                date_of_birth=born,
            )
        ),
        idempotency_key=new_key(),
    )
    survivor = Survivor.objects.get(pk=case.survivor_id)
    assert survivor.full_name == "Amina Tazi"
    assert survivor.phone == "+212612345678"
    assert survivor.cin == "BK418273"
    assert survivor.date_of_birth == born.isoformat()
    assert survivor.age_range == AgeRange.FROM_25


def test_an_age_range_that_contradicts_the_birth_date_is_refused() -> None:
    errors = errors_of(
        an_intake(
            survivor=SurvivorData(
                full_name="A", date_of_birth=date(2015, 1, 1), age_range=AgeRange.FROM_45
            )
        )
    )
    assert list(errors) == ["survivor.age_range"]


def test_age_ranges_follow_birthdays() -> None:
    today = date(2026, 6, 15)
    assert age_range_on(date(2008, 6, 16), today) == AgeRange.FROM_12
    assert age_range_on(date(2008, 6, 15), today) == AgeRange.FROM_18
    assert age_range_on(date(1966, 1, 1), today) == AgeRange.FROM_60


def test_intake_from_dict_reads_json_and_names_impossible_dates() -> None:
    data = intake_from_dict(
        {
            "channel": "walk_in",
            "survivor": {"full_name": "Amina", "date_of_birth": "1990-04-01"},
            "incidents": [{"occurred_on": "2025-01-10", "forms": ["physical"], "commune_id": ""}],
            "perpetrators": [{"relationship": "spouse", "number_involved": "2"}],
            "consents": [{"purpose": "share_shelter", "granted": "yes", "scope": ["identity"]}],
            "interview": {"private_room": "yes"},
        }
    )
    assert data.survivor.date_of_birth == date(1990, 4, 1)
    assert data.incidents[0].commune_id is None
    assert data.perpetrators[0].number_involved == 2
    assert data.consents[0].granted
    with pytest.raises(InvalidInput) as caught:
        intake_from_dict(
            {
                "channel": "walk_in",
                "survivor": {"date_of_birth": "1990-02-30"},
                "incidents": [{"occurred_on": "yesterday"}],
                "dependants": [{"age": "two"}],
            }
        )
    assert set(caught.value.fields) == {
        "survivor.date_of_birth",
        "incidents.0.occurred_on",
        "dependants.0.age",
    }


# --- drafts -------------------------------------------------------------------------------


def test_a_draft_is_sealed_and_only_its_interviewer_can_read_it(officer: Actor) -> None:
    draft = intake_draft_save(
        actor=officer,
        draft_id=None,
        step="survivor",
        data={"survivor": {"full_name": "DraftCanary Zineb", "phone": "0612345678"}},
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT data FROM {IntakeDraft._meta.db_table} WHERE id = %s",  # noqa: S608
            [draft.pk.hex if connection.vendor == "sqlite" else draft.pk],
        )
        raw = bytes(cursor.fetchone()[0])
    assert b"DraftCanary" not in raw
    loaded = intake_draft_load(actor=officer, draft_id=draft.pk)
    assert loaded.data["survivor"]["full_name"] == "DraftCanary Zineb"
    colleague = make_actor(Role.UNIT_OFFICER, make_unit())
    with pytest.raises(NotFound):
        intake_draft_load(actor=colleague, draft_id=draft.pk)
    with pytest.raises(NotFound):
        intake_draft_save(actor=colleague, draft_id=draft.pk, step="review", data={})


def test_a_draft_is_saved_step_by_step(officer: Actor) -> None:
    draft = intake_draft_save(actor=officer, draft_id=None, step="conditions", data={"a": 1})
    again = intake_draft_save(
        actor=officer, draft_id=draft.pk, step="incidents", data={"a": 1, "b": [2]}
    )
    assert again.pk == draft.pk
    loaded = intake_draft_load(actor=officer, draft_id=draft.pk)
    assert (loaded.step, loaded.data) == ("incidents", {"a": 1, "b": [2]})
    with pytest.raises(InvalidInput) as caught:
        intake_draft_save(actor=officer, draft_id=draft.pk, step="dessert", data={})
    assert list(caught.value.fields) == ["step"]


def test_a_case_is_opened_from_one_draft_at_most(officer: Actor) -> None:
    """The partial unique constraint keeps what the one-to-one field guaranteed."""
    from django.db import IntegrityError, transaction

    first = intake_draft_save(actor=officer, draft_id=None, step="review", data={})
    second = intake_draft_save(actor=officer, draft_id=None, step="review", data={})
    case = services.case_open_from_intake(
        actor=officer, data=an_intake(), idempotency_key=new_key(), draft_id=first.pk
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        IntakeDraft.objects.filter(pk=second.pk).update(submitted_case=case)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's EXPLAIN QUERY PLAN")
def test_her_drafts_are_read_along_their_index_never_sorted(officer: Actor) -> None:
    """Her interviews in progress come from ``intake_draft_open`` in the list's order. With
    the one-to-one field's unique index SQLite looked up "submitted_case IS NULL" there,
    read every unsubmitted draft in the country (discarded ones stay) and sorted them."""
    from django.test.utils import CaptureQueriesContext

    intake_draft_save(actor=officer, draft_id=None, step="review", data={})
    with CaptureQueriesContext(connection) as queries:
        assert len(intake_draft_list(actor=officer)) == 1
    (query,) = [q["sql"] for q in queries.captured_queries if "cases_intakedraft" in q["sql"]]
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {query}")
        plan = " ".join(str(row[-1]) for row in cursor.fetchall())
    assert "intake_draft_open" in plan, plan
    assert "TEMP B-TREE" not in plan, plan


def test_submitting_a_draft_gives_her_its_key_and_freezes_it(officer: Actor) -> None:
    draft = intake_draft_save(actor=officer, draft_id=None, step="review", data={"x": "y"})
    case = services.case_open_from_intake(
        actor=officer, data=an_intake(), idempotency_key=new_key(), draft_id=draft.pk
    )
    draft.refresh_from_db()
    assert case.survivor.data_key_id == draft.data_key_id
    assert draft.submitted_case_id == case.pk
    assert draft.data is None
    with pytest.raises(InvalidInput):
        intake_draft_save(actor=officer, draft_id=draft.pk, step="review", data={})
    with pytest.raises(InvalidInput):
        intake_draft_discard(actor=officer, draft_id=draft.pk)
    # Submitting the same draft again (another key) gives back the same case.
    again = services.case_open_from_intake(
        actor=officer, data=an_intake(), idempotency_key=new_key(), draft_id=draft.pk
    )
    assert again.pk == case.pk
    assert CaseFile.objects.count() == 1


def test_a_discarded_draft_is_erased_for_good(officer: Actor) -> None:
    draft = intake_draft_save(actor=officer, draft_id=None, step="survivor", data={"name": "Gone"})
    intake_draft_discard(actor=officer, draft_id=draft.pk)
    row = IntakeDraft.objects.get(pk=draft.pk)
    assert is_erased(row.data)
    assert DataKey.objects.get(pk=draft.data_key_id).wrapped_key is None


def test_an_intake_costs_the_same_statements_for_three_of_each_record_as_for_one(
    officer: Actor,
) -> None:
    """Incidents, men named, dependants and consents are inserted in bulk (with their keys,
    their index entries and the keys' audit events): a longer account costs no more round
    trips. Fails if any of them goes back to one INSERT per record."""
    from django.test.utils import CaptureQueriesContext

    calls = iter(range(10, 99))

    def statements(n: int) -> int:
        # Nobody she or he could be matched with: each call is a new woman and new men.
        call = next(calls)
        data = an_intake(
            survivor=SurvivorData(full_name=f"Amina Tazi{'a' * call}", phone=f"06123456{call}"),
            incidents=[an_incident() for _ in range(n)],
            perpetrators=[
                PerpetratorData(
                    relationship=Relationship.SPOUSE, full_name=f"Karim Z{'o' * call}{'u' * i}"
                )
                for i in range(n)
            ],
            dependants=[DependantData(age=4 + i) for i in range(n)],
            consents=[
                ConsentData(purpose=purpose, granted=True, scope=scope)
                for purpose, scope in [
                    (ConsentPurpose.SHARE_SHELTER, ["identity"]),
                    (ConsentPurpose.SHARE_HEALTH, ["incidents"]),
                    (ConsentPurpose.STATISTICS, []),
                ][:n]
            ],
        )
        with CaptureQueriesContext(connection) as captured:
            case = services.case_open_from_intake(
                actor=officer, data=data, idempotency_key=new_key()
            )
        assert case.incidents.count() == n
        assert case.perpetrators.count() == n
        return len(captured)

    statements(1)  # content types and the like, cached once per process
    assert statements(3) == statements(1)


def test_her_keys_and_the_opened_case_are_audited_in_one_append_at_the_end(
    officer: Actor,
) -> None:
    """Her key's event, each man's, then ``case.open``: consecutive in the chain and written
    in one append (one time, taken under the chain head's lock), the intake's last
    statements. On PostgreSQL the head's row lock, which every audited write waits for, is
    then held only from there to the commit."""
    from django.test.utils import CaptureQueriesContext

    from himaya.core.models import AuditEvent

    data = an_intake(
        perpetrators=[
            PerpetratorData(relationship=Relationship.SPOUSE, full_name="Karim Zouhairi"),
            PerpetratorData(relationship=Relationship.FAMILY, full_name="Said Amrani"),
        ]
    )
    with CaptureQueriesContext(connection) as captured:
        case = services.case_open_from_intake(actor=officer, data=data, idempotency_key=new_key())
    keys = [str(case.survivor.data_key_id), *(str(p.data_key_id) for p in case.perpetrators.all())]
    events = list(AuditEvent.objects.order_by("-sequence")[: len(keys) + 1])[::-1]
    assert [e.action for e in events] == ["datakey.create"] * 3 + ["case.open"]
    assert sorted(e.target_id for e in events[:-1]) == sorted(keys)
    assert events[-1].target_id == str(case.pk)
    assert len({e.occurred_at for e in events}) == 1
    statements = [q["sql"] for q in captured.captured_queries]
    locked = next(i for i, sql in enumerate(statements) if "core_auditchainhead" in sql)
    # From the moment the chain head is read (and locked), only the append itself.
    tail = [sql for sql in statements[locked:] if not sql.startswith(("RELEASE", "COMMIT"))]
    assert all("core_audit" in sql for sql in tail), tail


def test_a_first_intake_looks_its_key_up_once(officer: Actor) -> None:
    """A new key is looked up only inside the opening transaction, after the reference is
    taken (the lock): no second look-up before validating. Fails if the early check comes
    back for every submission."""
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        services.case_open_from_intake(actor=officer, data=an_intake(), idempotency_key=new_key())
    lookups = [q["sql"] for q in captured.captured_queries if "idempotency_key" in q["sql"]]
    inserts = [sql for sql in lookups if sql.startswith("INSERT")]
    assert len(lookups) - len(inserts) == 1, lookups


def test_a_replay_is_answered_with_its_case_even_if_its_body_no_longer_validates(
    officer: Actor,
) -> None:
    """A retry whose body fails validation (a client that rebuilt it, rules that changed)
    still gets the case its key opened, not an error; a new key with that body does not."""
    key = new_key()
    first = services.case_open_with_outcome(actor=officer, data=an_intake(), idempotency_key=key)
    again = services.case_open_with_outcome(
        actor=officer, data=an_intake(incidents=[]), idempotency_key=key
    )
    assert (again.case.pk, again.created) == (first.case.pk, False)
    assert first.created
    with pytest.raises(InvalidInput):
        services.case_open_with_outcome(
            actor=officer, data=an_intake(incidents=[]), idempotency_key=new_key()
        )


def test_a_replayed_intake_spends_no_reference_number(officer: Actor) -> None:
    """The reference number is taken before the replay check (the counter row is the lock);
    a replay found then rolls it back, so references stay consecutive."""
    key = new_key()
    first = services.case_open_from_intake(actor=officer, data=an_intake(), idempotency_key=key)
    draft = intake_draft_save(actor=officer, draft_id=None, step="review", data={})
    from_draft = services.case_open_from_intake(
        actor=officer, data=an_intake(), idempotency_key=new_key(), draft_id=draft.pk
    )
    # Both replays reach the locked check inside the transaction: the draft's, and the
    # key's (a valid body is not looked up before it).
    again = services.case_open_from_intake(
        actor=officer, data=an_intake(), idempotency_key=new_key(), draft_id=draft.pk
    )
    assert again.pk == from_draft.pk
    same_key = services.case_open_from_intake(actor=officer, data=an_intake(), idempotency_key=key)
    assert same_key.pk == first.pk
    third = services.case_open_from_intake(
        actor=officer, data=an_intake(), idempotency_key=new_key()
    )
    numbers = [int(c.reference.rsplit("-", 1)[1]) for c in (first, from_draft, third)]
    assert numbers == [numbers[0], numbers[0] + 1, numbers[0] + 2]
