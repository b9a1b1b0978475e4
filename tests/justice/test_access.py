"""What the office reads: her file through the grant, only the field groups it carries, and
nothing once her consent is withdrawn; the complaint record stays the office's own."""

from __future__ import annotations

import pytest

from himaya.accounts.roles import Role
from himaya.cases import selectors as case_selectors
from himaya.cases import services as case_services
from himaya.cases.models import ConsentPurpose
from himaya.cases.policies import FieldGroup
from himaya.core.errors import NotFound
from himaya.core.models import AuditEvent
from himaya.justice import selectors
from tests.cases.helpers import make_person
from tests.justice.helpers import forward, her_case, make_office, make_world, order_measure

pytestmark = pytest.mark.django_db


def test_the_prosecutor_sees_only_the_granted_field_groups() -> None:
    world = make_world()
    case = her_case(world, scope=["narrative", "evidence"])
    complaint = forward(world, case)
    details = selectors.complaint_details(actor=world.prosecutor.actor, complaint_id=complaint.pk)
    assert details.file is not None
    assert details.file.access.groups == {FieldGroup.NARRATIVE, FieldGroup.EVIDENCE}
    assert details.file.incidents == []
    assert details.file.perpetrators == []
    assert details.file.dependants == []
    assert not details.file.access.holding_unit
    assert AuditEvent.objects.filter(
        action="case.read", target_id=str(case.pk), actor_user_id=world.prosecutor.user.pk
    ).exists()
    assert AuditEvent.objects.filter(
        action="justice.complaint_read", target_id=str(complaint.pk)
    ).exists()


def test_reading_the_complaint_and_her_file_is_one_append() -> None:
    """The complaint page's two reads, the complaint and her file, go into the chain in one
    append (one lock of its head, one commit), complaint first; with her consent revoked,
    the complaint's read alone."""
    world = make_world()
    case = her_case(world, scope=["narrative"])
    complaint = forward(world, case)
    before = AuditEvent.objects.count()
    selectors.complaint_details(actor=world.prosecutor.actor, complaint_id=complaint.pk)
    events = list(AuditEvent.objects.order_by("sequence")[before:])
    assert [(e.action, e.target_id) for e in events] == [
        ("justice.complaint_read", str(complaint.pk)),
        ("case.read", str(case.pk)),
    ]
    assert len({e.occurred_at for e in events}) == 1  # taken once, under the head's lock
    case_services.consent_revoke(
        actor=world.officer.actor, case_id=case.pk, purpose=ConsentPurpose.SHARE_PROSECUTOR
    )
    before = AuditEvent.objects.count()
    selectors.complaint_details(actor=world.prosecutor.actor, complaint_id=complaint.pk)
    assert [e.action for e in AuditEvent.objects.order_by("sequence")[before:]] == [
        "justice.complaint_read"
    ]


def test_revoking_her_consent_cuts_the_offices_access_to_her_file_at_once() -> None:
    world = make_world()
    complaint = forward(world)
    order_measure(world, complaint)
    case_services.consent_revoke(
        actor=world.officer.actor,
        case_id=complaint.case_id,
        purpose=ConsentPurpose.SHARE_PROSECUTOR,
    )
    with pytest.raises(NotFound):
        case_selectors.case_details(actor=world.prosecutor.actor, case_id=complaint.case_id)
    details = selectors.complaint_details(actor=world.prosecutor.actor, complaint_id=complaint.pk)
    # The office keeps its own legal record (decisions, measures)...
    assert details.file is None
    assert len(details.measures) == 1
    # ...and the page says the sharing ended.
    assert selectors.live_grant(details.complaint) is None


def test_another_office_and_another_unit_get_not_found_like_a_missing_complaint() -> None:
    world = make_world()
    complaint = forward(world)
    for stranger in (
        make_person(Role.PROSECUTOR, make_office()),
        make_person(Role.UNIT_CHIEF),
        make_person(Role.SERVICE_PROVIDER),
    ):
        with pytest.raises(NotFound):
            selectors.complaint_details(actor=stranger.actor, complaint_id=complaint.pk)
    with pytest.raises(NotFound):
        selectors.complaint_details(actor=world.prosecutor.actor, complaint_id=10**12)
    assert AuditEvent.objects.filter(action="justice.complaint_read_denied").count() == 3


def test_the_holding_unit_sees_the_justice_status_but_not_another_unit() -> None:
    world = make_world()
    complaint = forward(world)
    status = selectors.case_justice(actor=world.chief.actor, case_id=complaint.case_id)
    assert status.open_complaint is not None
    assert status.open_complaint.pk == complaint.pk
    assert not status.can_forward
    with pytest.raises(NotFound):
        selectors.case_justice(actor=make_person(Role.UNIT_CHIEF).actor, case_id=complaint.case_id)
    with pytest.raises(NotFound):
        selectors.case_justice(actor=world.prosecutor.actor, case_id=complaint.case_id)


def test_the_unit_sees_its_complaints_in_the_list_and_the_office_its_own() -> None:
    world = make_world()
    complaint = forward(world)
    assert [c.pk for c in selectors.complaint_list(actor=world.officer.actor).items] == [
        complaint.pk
    ]
    assert [c.pk for c in selectors.complaint_list(actor=world.prosecutor.actor).items] == [
        complaint.pk
    ]
    other = make_person(Role.PROSECUTOR, make_office())
    assert list(selectors.complaint_list(actor=other.actor).items) == []
