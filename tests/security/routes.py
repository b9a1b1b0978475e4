"""Every route of the site and every API operation, classified: the authorisation matrix
(``test_authz_matrix.py``) reads this file and checks each entry against the running code.

A route that is not here fails the matrix. To add one, give it a rule:

``Public(why)``
    Reachable without signing in (the sign-in pages, health checks, the API schema).
``Closed(why)``
    Refused to everyone, anonymous and every role (kept routable by a framework).
``Staff()``
    Every signed-in staff member, whatever her role; anonymous visitors are refused.
``Roles(roles, why)``
    Only these roles get in; every other role is refused (401, 403, 404 or a sign-in page).
``Objects(foreign, why)``
    About one object. ``foreign(principal, world)`` returns the path parameters of an object
    the principal must not see (another unit's case, another officer's draft, someone else's
    token, a shelter's address); the matrix asks for it and for a random id that names
    nothing, and requires the same refusal for both -- same status, same body -- so nobody
    can tell "not yours" from "does not exist". ``exempt`` names the roles that may see
    every such object (they are not asked). ``existence_public`` (a reason) accepts a 403
    for the foreign object where its existence is public anyway (a shelter is listed in the
    directory; its address is not).

A route may carry several rules (a page every role may read for an active agency, refused
like a missing one for an inactive agency). ``methods`` are the methods the matrix sends to
a page; an API operation is keyed by its method. ``body`` is what an unsafe request sends:
a VALID body, so that a refusal comes from the policy and not from validation (the matrix
rejects a 422 where it expects a refusal).

Keys: pages by their full URL pattern, as ``django.urls`` joins them; API operations as
``METHOD /api/v1/path/{param}``, as in the OpenAPI schema.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone

from himaya.accounts.roles import Role
from tests.security.support import (
    ALL_ROLES,
    DOOR_PAGE,
    DOOR_SESSION,
    DOOR_TOKEN,
    Door,
    Principal,
    World,
    discover,
    is_id,
    missing_value,
    tiny_png,
)

type Kwargs = dict[str, object]
type Factory = Callable[[Principal, World], Kwargs]
type Body = Mapping[str, object] | Callable[[Principal, World], Mapping[str, object]] | None


@dataclass(frozen=True)
class Public:
    why: str
    methods: tuple[str, ...] = ("GET",)


@dataclass(frozen=True)
class Closed:
    why: str
    methods: tuple[str, ...] = ("GET",)


@dataclass(frozen=True)
class Staff:
    methods: tuple[str, ...] = ("GET",)
    #: Path parameters of an object every role may reach; random ids when not given.
    subject: Factory | None = None
    body: Body = None
    #: Why a route that serves one role's work is open to all (it answers the others empty).
    why: str = ""


@dataclass(frozen=True)
class Roles:
    roles: frozenset[str]
    why: str
    methods: tuple[str, ...] = ("GET",)
    subject: Factory | None = None
    body: Body = None
    #: Check that the listed roles get in. Off where the view itself still answers 403/404
    #: to them for a reason of its own (said in ``why``); the others are refused regardless.
    admitted: bool = True
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Objects:
    foreign: Factory
    why: str
    methods: tuple[str, ...] = ("GET",)
    body: Body = None
    exempt: frozenset[str] = frozenset()
    existence_public: str = ""
    #: Send the body as multipart/form-data (file uploads).
    multipart: bool = False
    headers: Mapping[str, str] = field(default_factory=dict)


type Rule = Public | Closed | Staff | Roles | Objects

UNIT_ROLES = frozenset({Role.UNIT_CHIEF, Role.UNIT_OFFICER})
CHIEF = frozenset({Role.UNIT_CHIEF})
ADMIN = frozenset({Role.SYSTEM_ADMIN})
#: Who takes a survivor to a shelter (``network.policies.SHELTER_ADDRESS_ROLES``), written
#: out here: widening that list in the code must fail this matrix until someone agrees.
SHELTER_ADDRESS_ROLES = frozenset(
    {Role.UNIT_CHIEF, Role.UNIT_OFFICER, Role.PROSECUTOR, Role.HELPLINE_SUPERVISOR}
)
BREAK_GLASS_ROLES = frozenset({Role.UNIT_CHIEF, Role.UNIT_OFFICER, Role.PROSECUTOR})
NOBODY: frozenset[str] = frozenset()
assert ALL_ROLES >= SHELTER_ADDRESS_ROLES | BREAK_GLASS_ROLES


# --- Factories ------------------------------------------------------------------------------


def _own_agency(p: Principal, w: World) -> Kwargs:
    return {"pk": p.agency.pk, "agency_id": p.agency.pk}


def _own_user(p: Principal, w: World) -> Kwargs:
    return {"object_id": p.user.pk}


def _own_membership(p: Principal, w: World) -> Kwargs:
    return {"object_id": p.membership.pk}


def _own_agency_admin(p: Principal, w: World) -> Kwargs:
    return {"object_id": p.agency.pk}


def _colleague_token(p: Principal, w: World) -> Kwargs:
    return {"token_id": w.colleague_token(p).pk}


def _inactive_agency(p: Principal, w: World) -> Kwargs:
    return {"pk": w.inactive_agency.pk, "agency_id": w.inactive_agency.pk}


def _shelter(p: Principal, w: World) -> Kwargs:
    return {"pk": w.shelter.pk, "agency_id": w.shelter.pk}


def _other_unit(p: Principal, w: World) -> Kwargs:
    return {"pk": w.other_unit.pk}


def _case(p: Principal, w: World) -> Kwargs:
    return {"case_id": w.foreign_case.pk}


def _task(p: Principal, w: World) -> Kwargs:
    return {"case_id": w.foreign_case.pk, "task_id": w.foreign_task.pk}


def _alert(p: Principal, w: World) -> Kwargs:
    return {"alert_id": w.foreign_alert.pk}


def _consent(p: Principal, w: World) -> Kwargs:
    return {"case_id": w.foreign_case.pk, "purpose": "share_prosecutor"}


def _grant(p: Principal, w: World) -> Kwargs:
    return {"case_id": w.foreign_case.pk, "grant_id": w.foreign_grant.pk}


def _evidence(p: Principal, w: World) -> Kwargs:
    return {"case_id": w.foreign_case.pk, "evidence_id": w.foreign_evidence.pk}


def _incident(p: Principal, w: World) -> Kwargs:
    return {"case_id": w.foreign_case.pk, "incident_id": w.foreign_case.incidents.get().pk}


def _perpetrator(p: Principal, w: World) -> Kwargs:
    return {"case_id": w.foreign_case.pk, "perpetrator_id": w.foreign_case.perpetrators.get().pk}


def _dependant(p: Principal, w: World) -> Kwargs:
    from himaya.cases import services
    from himaya.cases.intake import DependantData

    child = w.foreign_case.dependants.first() or services.dependant_add(
        actor=w.other_officer, case_id=w.foreign_case.pk, data=DependantData(age=4)
    )
    return {"case_id": w.foreign_case.pk, "dependant_id": child.pk}


_INCIDENT_FORM = {"date_kind": "day", "occurred_on": "2026-01-05", "forms": "physical"}


def _draft(p: Principal, w: World) -> Kwargs:
    return {"draft_id": w.other_officers_draft(p).pk, "step": "survivor"}


def _evidence_upload(p: Principal, w: World) -> Mapping[str, object]:
    return {"kind": "injury_photo", "description": "Bruise", "file": tiny_png("bruise.png")}


def _admin_app(p: Principal, w: World) -> Kwargs:
    return {"app_label": "accounts"}


def _admin_unknown(p: Principal, w: World) -> Kwargs:
    return {"url": "nothing-here/"}


def _view_on_site(p: Principal, w: World) -> Kwargs:
    return {"content_type_id": 1, "object_id": p.user.pk}


def _task_body(p: Principal, w: World) -> Mapping[str, object]:
    due = timezone.localdate() + timedelta(days=2)
    return {"description": "Call her back", "due_on": due.isoformat()}


def _share_body(p: Principal, w: World) -> Mapping[str, object]:
    return {
        "agency_id": w.prosecution_office.pk,
        "basis": "life_threat",
        "reason": "He threatened to kill her tonight",
        "scope": ["identity"],
    }


# Justice: another office's complaint (the other unit forwarded its case to an office that is
# not the principal's), with a hearing and a measure of that office.
def _justice(w: World) -> dict[str, int]:
    cached = w.__dict__.get("_justice_objects")
    if cached is None:
        from himaya.justice import services as justice_services
        from tests.cases.helpers import make_person

        complaint = justice_services.complaint_forward(
            actor=w.other_officer,
            case_id=w.foreign_case.pk,
            office_id=w.prosecution_office.pk,
            basis="life_threat",
            reason="He threatened to kill her tonight",
        )
        prosecutor = make_person(Role.PROSECUTOR, w.prosecution_office).actor
        justice_services.decision_record(
            actor=prosecutor, complaint_id=complaint.pk, kind="open_proceedings"
        )
        hearing = justice_services.hearing_schedule(
            actor=prosecutor,
            complaint_id=complaint.pk,
            scheduled_at=timezone.now() + timedelta(days=5),
            place="Tribunal",
        )
        measure = justice_services.measure_order(
            actor=prosecutor,
            complaint_id=complaint.pk,
            kind="no_contact",
            legal_basis="pc_88_3",
            authority="prosecutor",
            starts_on=timezone.localdate(),
        )
        cached = {"complaint": complaint.pk, "hearing": hearing.pk, "measure": measure.pk}
        w.__dict__["_justice_objects"] = cached
    return cached


def _complaint(p: Principal, w: World) -> Kwargs:
    return {"complaint_id": _justice(w)["complaint"]}


def _hearing(p: Principal, w: World) -> Kwargs:
    return {"hearing_id": _justice(w)["hearing"]}


def _measure(p: Principal, w: World) -> Kwargs:
    return {"measure_id": _justice(w)["measure"]}


def _hearing_body(p: Principal, w: World) -> Mapping[str, object]:
    when = timezone.localtime() + timedelta(days=3)
    return {"scheduled_at": when.strftime("%Y-%m-%dT%H:%M"), "place": "Tribunal"}


def _measure_body(p: Principal, w: World) -> Mapping[str, object]:
    return {
        "kind": "no_contact",
        "legal_basis": "pc_88_3",
        "authority": "prosecutor",
        "starts_on": timezone.localdate().isoformat(),
        "protected": ["survivor"],
    }


PROSECUTOR = frozenset({Role.PROSECUTOR})


def _admin_model(
    app: str, model: str, subject: Factory | None, *, why: str, admitted: bool = True
) -> dict[str, Rule]:
    """The URL patterns Django's admin routes for one registered model."""
    base = f"/admin/{app}/{model}/"
    only_admin = Roles(ADMIN, why, subject=subject, admitted=admitted)
    return {
        base: only_admin,
        f"{base}add/": only_admin,
        f"{base}<path:object_id>/history/": only_admin,
        f"{base}<path:object_id>/delete/": Roles(
            ADMIN, "nothing is ever deleted in the admin: 403 to all", admitted=False
        ),
        f"{base}<path:object_id>/change/": only_admin,
        f"{base}<path:object_id>/": only_admin,
    }


def _referral(p: Principal, w: World) -> Kwargs:
    from tests.referrals.matrix import foreign_referral_id

    return {"referral_id": foreign_referral_id(w)}


def _refer_body(p: Principal, w: World) -> Mapping[str, object]:
    return {
        "agency": w.shelter.pk,
        "agency_id": w.shelter.pk,
        "need": "shelter",
        "urgency": "routine",
        "scope": ["identity"],
        "basis": "life_threat",
        "legal_reason": "He threatened to kill her tonight",
    }


REFERRAL_ROLES = frozenset(
    {Role.FOCAL_POINT, Role.UNIT_CHIEF, Role.UNIT_OFFICER, Role.SERVICE_PROVIDER}
)
_REFERRAL_NOBODY = "a referral another agency sent to a third one"


# --- Pages ----------------------------------------------------------------------------------

_REVEAL = "I take her to the shelter tonight"

PAGES: dict[str, Rule | tuple[Rule, ...]] = {
    "/": Staff(),
    "/language": Public("the language switch only sets a cookie", methods=("POST",)),
    "/healthz": Public("load balancers probe it; it says only 'ok'"),
    # The survivor portal: public by design, no staff session; its own protections
    # (signed form state, session-bound tokens, codename guessing limits: tests/portal/).
    "/p/": Public("the survivor portal's door: sends her to her language"),
    "/p/exit/": Public("quick exit: ends her portal session, lands on a neutral site"),
    "/p/<str:lang>/": Public("the survivor portal's start page"),
    "/p/<str:lang>/safety/": Public("staying safe on a shared phone"),
    "/p/<str:lang>/nearby/": Public("public directory of help", methods=("GET", "POST")),
    "/p/<str:lang>/form/": Public("her report, without an account", methods=("GET", "POST")),
    "/p/<str:lang>/receipt/": Public("a signed receipt she asks for", methods=("POST",)),
    "/p/<str:lang>/follow/": Public("codename entry, rate-limited", methods=("GET", "POST")),
    "/p/<str:lang>/mine/": Public("her file; needs her codename session, else 401"),
    "/p/<str:lang>/mine/messages/": Public("her messages; codename session only"),
    "/p/<str:lang>/mine/files/": Public("adding a file; codename session only"),
    "/p/<str:lang>/mine/breach/": Public("reporting a breach; codename session only"),
    "/p/<str:lang>/mine/opened/": Public("who opened her file; codename session only"),
    "/p/<str:lang>/mine/end/": Public("ends her codename session", methods=("POST",)),
    "/p/^(?P<rest>.*)$": Public("any other portal address: the portal's own neutral 404"),
    "/accounts/login/": Public("the sign-in"),
    "/accounts/login/code/": Public("the sign-in's second step"),
    "/accounts/login/enrol/": Public("enrolling the second factor during sign-in"),
    "/accounts/logout/": Public("signing out works, and says nothing, without a session"),
    "/accounts/step-up/": Staff(),
    "/accounts/roles/": Staff(),
    "/accounts/tokens/": Staff(),
    "/accounts/tokens/<int:token_id>/revoke/": Objects(
        _colleague_token, "a colleague's token is hers alone", methods=("POST",)
    ),
    "/network/": Staff(),
    "/network/route/": Staff(),
    "/network/map/": Staff(),
    "/network/coverage/": Staff(),
    "/network/agencies/new/": Roles(ADMIN, "only the administrator edits the network"),
    "/network/agencies/<int:pk>/": (
        Staff(subject=_own_agency),
        Objects(
            _inactive_agency,
            "an inactive agency is gone for everyone but the administrator",
            exempt=ADMIN,
        ),
    ),
    "/network/agencies/<int:pk>/edit/": Roles(
        ADMIN, "only the administrator edits the network", subject=_own_agency
    ),
    "/network/agencies/<int:pk>/address/": Objects(
        _shelter,
        "a shelter's address, only to those who take her there",
        methods=("POST",),
        body={"reason": _REVEAL},
        exempt=SHELTER_ADDRESS_ROLES,
        existence_public="the directory lists every shelter; only its address is protected",
    ),
    "/network/agencies/<int:pk>/availability/": Objects(
        _other_unit,
        "a unit chief marks only her own unit unavailable",
        methods=("POST",),
        body={"unavailable": "on", "reason": "Power cut in the building"},
        exempt=ADMIN,
        existence_public="the directory lists every unit",
    ),
    # --- Case files
    "/cases/": Roles(UNIT_ROLES, "the unit's queue"),
    "/cases/search/": Roles(UNIT_ROLES, "finding her again precedes a case", methods=("GET",)),
    "/cases/alerts/": Roles(CHIEF, "the unit chief's alerts"),
    "/cases/alerts/<int:alert_id>/read/": Objects(
        _alert, "another unit's alert", methods=("POST",)
    ),
    "/cases/emergency-access/": Roles(BREAK_GLASS_ROLES, "emergency access (break glass)"),
    "/cases/intake/": Roles(UNIT_ROLES, "a unit opens cases"),
    "/cases/intake/communes/": Roles(
        UNIT_ROLES,
        "the intake's commune picker",
        methods=("POST",),
        body={"target": "commune", "province": "TST-P"},
    ),
    "/cases/intake/<uuid:draft_id>/<slug:step>/": Objects(
        _draft,
        "another officer's interview in progress",
        methods=("GET", "POST"),
        body={"action": "later"},
    ),
    "/cases/intake/<uuid:draft_id>/discard/": Objects(
        _draft, "another officer's interview in progress", methods=("POST",)
    ),
    "/cases/intake/<uuid:draft_id>/submit/": Objects(
        _draft, "another officer's interview in progress", methods=("POST",)
    ),
    "/cases/<uuid:case_id>/": Objects(_case, "another unit's case"),
    "/cases/<uuid:case_id>/evidence/": Objects(_case, "another unit's case"),
    "/cases/<uuid:case_id>/evidence/add/": Objects(
        _case,
        "another unit's case",
        methods=("POST",),
        body=_evidence_upload,
        multipart=True,
    ),
    "/cases/evidence/<uuid:evidence_id>/download/": Objects(_evidence, "another unit's evidence"),
    "/cases/<uuid:case_id>/messages/": Objects(_case, "another unit's case: messages with her"),
    "/cases/<uuid:case_id>/messages/send/": Objects(
        _case,
        "another unit's case: writing to her",
        methods=("POST",),
        body={"body": "Synthetic message", "idempotency_key": "matrix-key-0001"},
    ),
    "/cases/<uuid:case_id>/notes/": Objects(
        _case, "another unit's case", methods=("POST",), body={"body": "She called back"}
    ),
    "/cases/<uuid:case_id>/tasks/": Objects(
        _case, "another unit's case", methods=("POST",), body=_task_body
    ),
    "/cases/<uuid:case_id>/tasks/<int:task_id>/complete/": Objects(
        _task, "another unit's task", methods=("POST",)
    ),
    "/cases/<uuid:case_id>/assign/": Objects(
        _case, "another unit's case", methods=("POST",), body={"officer": ""}
    ),
    "/cases/<uuid:case_id>/step/": Objects(
        _case, "another unit's case", methods=("POST",), body={"to_state": "assessed"}
    ),
    "/cases/<uuid:case_id>/closure/request/": Objects(
        _case, "another unit's case", methods=("POST",), body={"reason": "no_contact"}
    ),
    "/cases/<uuid:case_id>/closure/approve/": Objects(
        _case, "another unit's case", methods=("POST",)
    ),
    "/cases/<uuid:case_id>/closure/decline/": Objects(
        _case, "another unit's case", methods=("POST",)
    ),
    "/cases/<uuid:case_id>/reopen/": Objects(
        _case, "another unit's case", methods=("POST",), body={"reason": "She came back"}
    ),
    "/cases/<uuid:case_id>/consents/": Objects(
        _case,
        "another unit's case",
        methods=("POST",),
        body={"purpose": "share_prosecutor", "granted": "on", "scope": "identity"},
    ),
    "/cases/<uuid:case_id>/consents/<slug:purpose>/withdraw/": Objects(
        _consent, "another unit's case", methods=("GET", "POST")
    ),
    "/cases/<uuid:case_id>/share-without-consent/": Objects(
        _case, "another unit's case", methods=("GET", "POST"), body=_share_body
    ),
    "/cases/<uuid:case_id>/sharing/<uuid:grant_id>/end/": Objects(
        _grant, "another unit's sharing", methods=("POST",)
    ),
    "/cases/<uuid:case_id>/edit/her/": Objects(
        _case, "another unit's case", methods=("GET", "POST"), body={"full_name": "Probe"}
    ),
    "/cases/<uuid:case_id>/incidents/new/": Objects(
        _case, "another unit's case", methods=("GET", "POST"), body=_INCIDENT_FORM
    ),
    "/cases/<uuid:case_id>/incidents/<int:incident_id>/edit/": Objects(
        _incident, "another unit's incident", methods=("GET", "POST"), body=_INCIDENT_FORM
    ),
    "/cases/<uuid:case_id>/perpetrators/new/": Objects(
        _case, "another unit's case", methods=("GET", "POST"), body={"relationship": "spouse"}
    ),
    "/cases/<uuid:case_id>/perpetrators/<uuid:perpetrator_id>/edit/": Objects(
        _perpetrator,
        "another unit's perpetrator",
        methods=("GET", "POST"),
        body={"relationship": "spouse"},
    ),
    "/cases/<uuid:case_id>/dependants/new/": Objects(
        _case, "another unit's case", methods=("GET", "POST"), body={"age": "4"}
    ),
    "/cases/<uuid:case_id>/dependants/<int:dependant_id>/edit/": Objects(
        _dependant, "another unit's child", methods=("GET", "POST"), body={"age": "4"}
    ),
    "/cases/<uuid:case_id>/receipt/": Objects(_case, "another unit's case"),
    "/cases/<uuid:case_id>/receipt.pdf": Objects(_case, "another unit's case"),
    # --- Justice
    "/justice/": Roles(PROSECUTOR, "the prosecution office's queue"),
    "/justice/complaints/<int:complaint_id>/": Objects(_complaint, "another office's complaint"),
    "/justice/complaints/<int:complaint_id>/decisions/": Objects(
        _complaint,
        "another office's complaint",
        methods=("POST",),
        body={"kind": "open_proceedings"},
    ),
    "/justice/complaints/<int:complaint_id>/hearings/": Objects(
        _complaint, "another office's complaint", methods=("POST",), body=_hearing_body
    ),
    "/justice/complaints/<int:complaint_id>/measures/": Objects(
        _complaint, "another office's complaint", methods=("POST",), body=_measure_body
    ),
    "/justice/hearings/<int:hearing_id>/outcome/": Objects(
        _hearing, "another office's hearing", methods=("POST",), body={"outcome": "adjourned"}
    ),
    "/justice/measures/<int:measure_id>/breaches/": Objects(
        _measure,
        "another office's measure",
        methods=("POST",),
        body={"description": "He waited at her door"},
    ),
    "/justice/cases/<uuid:case_id>/": Objects(_case, "another unit's case: its justice status"),
    "/justice/cases/<uuid:case_id>/forward/": Objects(
        _case, "another unit's case", methods=("POST",), body={}
    ),
    # --- Referrals
    "/referrals/": Roles(REFERRAL_ROLES, "each role's own queue of referrals"),
    "/referrals/first-contact/": Roles(
        frozenset({Role.FOCAL_POINT}), "a district focal point records first contacts"
    ),
    "/referrals/case/<uuid:case_id>/": Objects(
        _case, "another unit's case", methods=("GET", "POST"), body=_refer_body
    ),
    "/referrals/<uuid:referral_id>/": Objects(_referral, _REFERRAL_NOBODY),
    "/referrals/<uuid:referral_id>/accept/": Objects(
        _referral, _REFERRAL_NOBODY, methods=("POST",)
    ),
    "/referrals/<uuid:referral_id>/decline/": Objects(
        _referral, _REFERRAL_NOBODY, methods=("POST",), body={"reason": "No bed for her tonight"}
    ),
    "/referrals/<uuid:referral_id>/withdraw/": Objects(
        _referral, _REFERRAL_NOBODY, methods=("POST",)
    ),
    "/referrals/<uuid:referral_id>/provided/": Objects(
        _referral, _REFERRAL_NOBODY, methods=("POST",), body={"provided": "Three nights"}
    ),
    "/referrals/<uuid:referral_id>/complete/": Objects(
        _referral, _REFERRAL_NOBODY, methods=("POST",)
    ),
    "/referrals/<uuid:referral_id>/close/": Objects(
        _referral, _REFERRAL_NOBODY, methods=("POST",), body={"reason": "no_longer_needed"}
    ),
    "/referrals/<uuid:referral_id>/admit/": Objects(_referral, _REFERRAL_NOBODY, methods=("POST",)),
    "/referrals/<uuid:referral_id>/depart/": Objects(
        _referral, _REFERRAL_NOBODY, methods=("POST",)
    ),
    "/referrals/<uuid:referral_id>/consent-withdrawn/": Objects(
        _referral, _REFERRAL_NOBODY, methods=("POST",)
    ),
    "/referrals/<uuid:referral_id>/refer-again/": Objects(
        _referral, _REFERRAL_NOBODY, methods=("GET", "POST")
    ),
    "/referrals/<uuid:referral_id>/letter/": Objects(_referral, _REFERRAL_NOBODY),
    "/referrals/<uuid:referral_id>/letter.pdf": Objects(_referral, _REFERRAL_NOBODY),
    # --- The admin: accounts and reference data, for the system administrator only
    "/admin/": Roles(ADMIN, "accounts and reference data"),
    "/admin/login/": Closed("the admin has no sign-in of its own (no second factor there)"),
    "/admin/logout/": Roles(ADMIN, "sends the administrator to the real sign-out"),
    "/admin/password_change/": Closed("passwords change through the accounts services"),
    "/admin/password_change/done/": Closed("passwords change through the accounts services"),
    "/admin/autocomplete/": Roles(
        ADMIN, "no model uses autocomplete: 403 even to the administrator", admitted=False
    ),
    "/admin/jsi18n/": Roles(ADMIN, "the admin's translations"),
    "/admin/r/<path:content_type_id>/<path:object_id>/": Roles(
        ADMIN, "no model has a public page: 404 even to the administrator", admitted=False
    ),
    **_admin_model("accounts", "user", _own_user, why="accounts"),
    **_admin_model("accounts", "membership", _own_membership, why="memberships"),
    **_admin_model("network", "agency", _own_agency_admin, why="agencies (look-up only)"),
    "/admin/network/agency/add/": Roles(
        ADMIN, "agencies are created on the network pages: 403 here", admitted=False
    ),
    # django-tasks-db's task results are not in our admin (accounts/admin.py unregisters
    # them: they needed Django permissions nobody holds).
    "/admin/^(?P<app_label>accounts|network)/$": Roles(
        ADMIN, "the admin's app pages", subject=_admin_app
    ),
    "/admin/(?P<url>.*)$": Roles(
        ADMIN,
        "unknown admin addresses: 404 to the administrator",
        subject=_admin_unknown,
        admitted=False,
    ),
    # --- The API's own pages (its operations are below)
    "/api/v1/openapi.json": Public("the API's description; no data"),
    "/api/v1/docs": Public("the API's documentation page; no data"),
    "/api/v1/": Public("answers 404 in the API's JSON shape"),
    "/api/v1/^[\\s\\S]*$": Public("any other API address: 404 in the API's JSON shape"),
}


# --- API operations -------------------------------------------------------------------------

OPERATIONS: dict[str, Rule | tuple[Rule, ...]] = {
    "GET /api/v1/health": Public("liveness; no data"),
    "GET /api/v1/me": Staff(),
    "GET /api/v1/tokens": Staff(),
    "POST /api/v1/tokens": Staff(),
    "DELETE /api/v1/tokens/{token_id}": Objects(
        _colleague_token, "a colleague's token is hers alone"
    ),
    "GET /api/v1/network/agencies": Staff(),
    "GET /api/v1/network/agencies/{agency_id}": (
        Staff(subject=_own_agency),
        Objects(
            _inactive_agency,
            "an inactive agency is gone for everyone but the administrator",
            exempt=ADMIN,
        ),
    ),
    "POST /api/v1/network/agencies/{agency_id}/address": Objects(
        _shelter,
        "a shelter's address, only to those who take her there",
        body={"reason": _REVEAL},
        exempt=SHELTER_ADDRESS_ROLES,
        existence_public="the directory lists every shelter; only its address is protected",
    ),
    "GET /api/v1/network/route/unit": Staff(),
    "GET /api/v1/network/route/prosecution": Staff(),
    "GET /api/v1/network/route/services": Staff(),
    "GET /api/v1/network/coverage": Staff(),
    # --- Case files
    "POST /api/v1/cases/intake": Roles(
        UNIT_ROLES,
        "a unit opens cases",
        body={
            "channel": "walk_in",
            "survivor": {"full_name": "Matrix Probe"},
            "incidents": [{"occurred_on": "2026-01-05", "forms": ["physical"]}],
        },
        headers={"Idempotency-Key": "security-matrix-probe"},
        # Opening a case for every unit role of every run is the intake tests' work.
        admitted=False,
    ),
    "GET /api/v1/cases/queue": Roles(UNIT_ROLES, "the unit's queue"),
    "POST /api/v1/cases/search": Roles(
        UNIT_ROLES, "finding her again precedes a case", body={"phone": "0600000000"}
    ),
    "POST /api/v1/cases/break-glass": Roles(
        BREAK_GLASS_ROLES,
        "emergency access; the body names a missing case: 404 to those who may",
        body={"reason": "She is in danger tonight", "reference": "U0000-2000-00000"},
        admitted=False,
    ),
    # The page and the API answer 404 to anyone but a unit chief (policies.may_read_alerts).
    "GET /api/v1/cases/alerts": Roles(CHIEF, "the unit chief's alerts"),
    "POST /api/v1/cases/alerts/{alert_id}/read": Objects(_alert, "another unit's alert"),
    "POST /api/v1/cases/tasks/{task_id}/complete": Objects(_task, "another unit's task"),
    "GET /api/v1/cases/{case_id}": Objects(_case, "another unit's case"),
    "GET /api/v1/cases/{case_id}/timeline": Objects(_case, "another unit's case"),
    "POST /api/v1/cases/{case_id}/notes": Objects(
        _case, "another unit's case", body={"body": "She called back"}
    ),
    "POST /api/v1/cases/{case_id}/tasks": Objects(_case, "another unit's case", body=_task_body),
    "POST /api/v1/cases/{case_id}/consents": Objects(
        _case,
        "another unit's case",
        body={"purpose": "share_prosecutor", "granted": True, "scope": ["identity"]},
    ),
    "POST /api/v1/cases/{case_id}/consents/{purpose}/revoke": Objects(
        _consent, "another unit's case"
    ),
    "POST /api/v1/cases/{case_id}/transition": Objects(
        _case, "another unit's case", body={"to_state": "assessed"}
    ),
    "POST /api/v1/cases/{case_id}/assign": Objects(
        _case, "another unit's case", body={"officer_id": None}
    ),
    "POST /api/v1/cases/{case_id}/closure": Objects(
        _case, "another unit's case", body={"reason": "no_contact"}
    ),
    "POST /api/v1/cases/{case_id}/closure/approve": Objects(_case, "another unit's case"),
    "POST /api/v1/cases/{case_id}/closure/decline": Objects(_case, "another unit's case"),
    "POST /api/v1/cases/{case_id}/reopen": Objects(
        _case, "another unit's case", body={"reason": "She came back"}
    ),
    "POST /api/v1/cases/{case_id}/share-without-consent": Objects(
        _case, "another unit's case", body=_share_body
    ),
    "POST /api/v1/cases/{case_id}/perpetrators": Objects(
        _case, "another unit's case", body={"relationship": "spouse"}
    ),
    "POST /api/v1/cases/{case_id}/incidents": Objects(
        _case,
        "another unit's case",
        body={"occurred_on": "2026-01-05", "forms": ["physical"]},
    ),
    "PUT /api/v1/cases/{case_id}/survivor": Objects(
        _case, "another unit's case", body={"full_name": "Probe"}
    ),
    "PUT /api/v1/cases/{case_id}/incidents/{incident_id}": Objects(
        _incident,
        "another unit's incident",
        body={"occurred_on": "2026-01-05", "forms": ["physical"]},
    ),
    "PUT /api/v1/cases/{case_id}/perpetrators/{perpetrator_id}": Objects(
        _perpetrator, "another unit's perpetrator", body={"relationship": "spouse"}
    ),
    "POST /api/v1/cases/{case_id}/dependants": Objects(
        _case, "another unit's case", body={"age": 4}
    ),
    "PUT /api/v1/cases/{case_id}/dependants/{dependant_id}": Objects(
        _dependant, "another unit's child", body={"age": 4}
    ),
    "GET /api/v1/cases/{case_id}/evidence": Objects(_case, "another unit's case"),
    "POST /api/v1/cases/{case_id}/evidence": Objects(
        _case, "another unit's case", body=_evidence_upload, multipart=True
    ),
    "GET /api/v1/cases/{case_id}/evidence/{evidence_id}/file": Objects(
        _evidence, "another unit's evidence"
    ),
    "GET /api/v1/cases/{case_id}/notices": Objects(_case, "another unit's case: her notices"),
    "POST /api/v1/cases/{case_id}/notices/message": Objects(
        _case,
        "another unit's case: writing to her",
        body={"body": "Synthetic message", "idempotency_key": "matrix-key-0001"},
    ),
    "GET /api/v1/cases/{case_id}/survivor-messages": Objects(
        _case, "another unit's case: her messages"
    ),
    # --- Justice
    "GET /api/v1/justice/complaints": Staff(
        why="an empty list for anyone but the office's prosecutors and the unit's staff"
    ),
    "GET /api/v1/justice/queue": Roles(PROSECUTOR, "the prosecution office's queue"),
    "GET /api/v1/justice/complaints/{complaint_id}": Objects(
        _complaint, "another office's complaint"
    ),
    "POST /api/v1/justice/complaints/{complaint_id}/decisions": Objects(
        _complaint, "another office's complaint", body={"kind": "open_proceedings"}
    ),
    "POST /api/v1/justice/complaints/{complaint_id}/hearings": Objects(
        _complaint,
        "another office's complaint",
        body=lambda p, w: {
            "scheduled_at": (timezone.now() + timedelta(days=3)).isoformat(),
            "place": "Tribunal",
        },
    ),
    "POST /api/v1/justice/complaints/{complaint_id}/measures": Objects(
        _complaint, "another office's complaint", body=_measure_body
    ),
    "POST /api/v1/justice/hearings/{hearing_id}/outcome": Objects(
        _hearing, "another office's hearing", body={"outcome": "adjourned"}
    ),
    "POST /api/v1/justice/measures/{measure_id}/breaches": Objects(
        _measure, "another office's measure", body={"description": "He waited at her door"}
    ),
    "GET /api/v1/justice/cases/{case_id}": Objects(_case, "another unit's case"),
    "POST /api/v1/justice/cases/{case_id}/forward": Objects(_case, "another unit's case", body={}),
    # --- Referrals
    "GET /api/v1/referrals/incoming": Staff(why="an empty list for roles that receive none"),
    "GET /api/v1/referrals/sent": Staff(why="an empty list for roles that send none"),
    "POST /api/v1/referrals/first-contacts": Roles(
        frozenset({Role.FOCAL_POINT}),
        "a district focal point records first contacts",
        body={"immediate_danger": "declined"},
        # Sending one for every run is the referral tests' work (and needs a unit nearby).
        admitted=False,
    ),
    "GET /api/v1/referrals/cases/{case_id}": Objects(_case, "another unit's case"),
    "POST /api/v1/referrals/cases/{case_id}": Objects(
        _case, "another unit's case", body=_refer_body
    ),
    "GET /api/v1/referrals/{referral_id}": Objects(_referral, _REFERRAL_NOBODY),
    "POST /api/v1/referrals/{referral_id}/accept": Objects(_referral, _REFERRAL_NOBODY),
    "POST /api/v1/referrals/{referral_id}/decline": Objects(
        _referral, _REFERRAL_NOBODY, body={"reason": "No bed for her tonight"}
    ),
    "POST /api/v1/referrals/{referral_id}/withdraw": Objects(_referral, _REFERRAL_NOBODY, body={}),
    "POST /api/v1/referrals/{referral_id}/provided": Objects(
        _referral, _REFERRAL_NOBODY, body={"provided": "Three nights"}
    ),
    "POST /api/v1/referrals/{referral_id}/complete": Objects(_referral, _REFERRAL_NOBODY, body={}),
    "POST /api/v1/referrals/{referral_id}/close": Objects(
        _referral, _REFERRAL_NOBODY, body={"reason": "no_longer_needed"}
    ),
    "POST /api/v1/referrals/{referral_id}/refer-again": Objects(
        _referral, _REFERRAL_NOBODY, body={}
    ),
    "POST /api/v1/referrals/{referral_id}/admit": Objects(_referral, _REFERRAL_NOBODY),
    "POST /api/v1/referrals/{referral_id}/depart": Objects(_referral, _REFERRAL_NOBODY),
    "POST /api/v1/referrals/{referral_id}/consent-withdrawn": Objects(_referral, _REFERRAL_NOBODY),
}


def rules(entry: Rule | tuple[Rule, ...]) -> tuple[Rule, ...]:
    return entry if isinstance(entry, tuple) else (entry,)


# --- Reading the registry (for the tests) ---------------------------------------------------

API_DOORS: tuple[Door, ...] = (DOOR_TOKEN, DOOR_SESSION)


def param_kinds(key: str) -> dict[str, str]:
    routes = discover()
    if key in routes.pages:
        return routes.pages[key].params
    return routes.operations[key].params


def defaults(key: str) -> dict[str, object]:
    """Values for every parameter: ids that name nothing, a valid choice for a regex group."""
    page = discover().pages.get(key)
    values: dict[str, object] = {}
    for name, kind in param_kinds(key).items():
        if is_id(kind):
            values[name] = missing_value(kind)
        else:
            values[name] = page.sample(name) if page is not None else "x"
    return values


def path_template(key: str) -> tuple[str, str | None]:
    """The path template and, for an API operation, its method."""
    if key in OPERATIONS:
        method, path = key.split(" ", 1)
        return path, method
    return key, None


def body_for(body: Body, principal: Principal, world: World) -> Mapping[str, object] | None:
    return body(principal, world) if callable(body) else body


def methods(key: str, rule: Rule) -> tuple[str, ...]:
    _path, method = path_template(key)
    return (method,) if method else rule.methods


def doors(key: str) -> tuple[Door, ...]:
    return API_DOORS if key in OPERATIONS else (DOOR_PAGE,)


def describe(door: Door, method: str, key: str) -> str:
    return f"{door} {key}" if key in OPERATIONS else f"{door} {method} {key}"
