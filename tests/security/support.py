"""What the security tests share: the site's routes as found at run time, people signed in
in every role, the objects they must not see (carrying canary values), and the requests.

    routes = discover()                      # every page route and API operation, now
    someone = make_principal(Role.FOCAL_POINT)
    world = World()
    case = world.foreign_case                # another unit's case, with canary values
    answer = send(someone, DOOR_TOKEN, "GET", f"/api/v1/cases/{case.pk}")

Everything goes through the real services, the real sign-in pages and the real database.
"""

from __future__ import annotations

import inspect
import io
import json
import re
import secrets
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import cache, cached_property
from typing import Any, Literal
from urllib.parse import quote, quote_plus, urlencode

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponseBase
from django.test import Client
from django.test.client import ClientHandler
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from ninja.operation import PathView
from PIL import Image

from himaya.accounts import tokens
from himaya.accounts.actors import actor_for_user
from himaya.accounts.api_auth import TokenAuth
from himaya.accounts.models import ApiToken, Membership, User
from himaya.accounts.roles import Role
from himaya.accounts.scopes import scopes_allowed_for_role
from himaya.api import api
from himaya.cases import evidence
from himaya.cases import services as case_services
from himaya.cases.intake import SurvivorData, intake_draft_save
from himaya.cases.models import (
    Alert,
    AlertKind,
    CaseFile,
    Evidence,
    EvidenceKind,
    Grant,
    IntakeDraft,
    SharingBasis,
    Task,
)
from himaya.core.actor import Actor
from himaya.network import services as network_services
from himaya.network.hours import parse_hours
from himaya.network.models import Agency, AgencyKind
from himaya.network.validation import AgencyData
from tests.accounts.helpers import ROLE_AGENCY_KIND, login_staff, make_agency, make_staff
from tests.cases.helpers import make_actor, make_commune, make_person, open_case

ALL_ROLES: frozenset[str] = frozenset(Role.values)

# --- Canaries -------------------------------------------------------------------------------
# Values that exist only in the foreign objects below. Distinct from the other suites'
# canaries, so a hit names this suite's data.

CANARY_NAME = "Zineb Canarybenali"
CANARY_NAME_AR = "زينب الكناري"
CANARY_PHONE = "0661987123"
CANARY_PHONE_E164 = "+212661987123"
CANARY_CIN = "QX731904"
CANARY_NARRATIVE = "Canary-narrative: he locked the door of the riad in Taroudant"
CANARY_SHELTER_ADDRESS = "Derb Canari 41, Tiznit"
CANARY_TASK = "Canary-task: accompany Zineb to the forensic doctor"
CANARY_DRAFT = "Canary-draft: Oulad Canari"

CANARIES: tuple[str, ...] = (
    CANARY_NAME,
    CANARY_NAME_AR,
    CANARY_PHONE,
    CANARY_PHONE_E164,
    CANARY_PHONE_E164.removeprefix("+"),
    CANARY_CIN,
    CANARY_NARRATIVE,
    CANARY_SHELTER_ADDRESS,
    CANARY_TASK,
    CANARY_DRAFT,
)


def canary_forms(canary: str) -> set[str]:
    """The ways a value can be written into text: as is, escaped in JSON, encoded in a URL."""
    return {
        canary,
        json.dumps(canary)[1:-1],
        quote(canary, safe=""),
        quote_plus(canary, safe=""),
    }


def canaries_in(text: str) -> list[str]:
    """Which canaries ``text`` contains, in any of their forms (case-insensitive: a page may
    upper-case a name, a URL encoder may use either case)."""
    folded = text.casefold()
    return [
        canary
        for canary in CANARIES
        if any(form.casefold() in folded for form in canary_forms(canary))
    ]


def response_text(response: HttpResponseBase) -> str:
    """The body as text, with JSON unescaped (``\\u0632`` would hide an Arabic canary)."""
    raw = getattr(response, "content", b"")
    text = raw.decode("utf-8", errors="replace")
    if response.get("Content-Type", "").startswith("application/json"):
        try:
            return json.dumps(json.loads(text), ensure_ascii=False)
        except ValueError:
            return text
    return text


# --- Routes ---------------------------------------------------------------------------------

_ROUTE_PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>\w+)>")
_REGEX_PARAM = re.compile(r"\(\?P<(?P<name>\w+)>(?:[^()]|\([^()]*\))*\)")


@dataclass(frozen=True)
class PageRoute:
    """One URL pattern of the site (outside the API's operations)."""

    key: str  # "/network/agencies/<int:pk>/": the full pattern, as the registry names it
    name: str  # "network:agency"

    @property
    def params(self) -> dict[str, str]:
        """Parameter name -> converter ("int", "uuid", "path", "str"; "regex" for (?P<x>))."""
        regex = {m["name"]: "regex" for m in _REGEX_PARAM.finditer(self.key)}
        rest = _REGEX_PARAM.sub("", self.key)
        return {m["name"]: m["converter"] or "str" for m in _ROUTE_PARAM.finditer(rest)} | regex

    def sample(self, name: str) -> str:
        """A value a regex group accepts when it lists its choices (``(?P<app>a|b)``)."""
        for m in _REGEX_PARAM.finditer(self.key):
            choices = m[0].split(">", 1)[1].rstrip(")")
            if m["name"] == name and re.fullmatch(r"[\w|]+", choices):
                return choices.split("|")[0]
        return "x"


@dataclass(frozen=True)
class ApiOperation:
    """One operation of the JSON API: one method on one path."""

    method: str
    path: str  # "/api/v1/tokens/{token_id}", as in the OpenAPI schema
    params: dict[str, str]  # name -> "int", "uuid" or "str"
    #: Scopes a token needs; ``None`` when the operation takes no authentication at all.
    scopes: frozenset[str] | None
    in_schema: bool

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class Routes:
    pages: dict[str, PageRoute]
    operations: dict[str, ApiOperation]


def _walk(
    patterns: list[URLPattern | URLResolver], prefix: str, namespace: str
) -> Iterator[tuple[str, str, URLPattern]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        else:
            yield prefix + str(pattern.pattern), f"{namespace}{pattern.name or ''}", pattern


def _path_view(pattern: URLPattern) -> PathView | None:
    """The ninja ``PathView`` behind an API URL pattern (its view closes over it)."""
    view = inspect.unwrap(pattern.callback)
    for cell in getattr(view, "__closure__", None) or ():
        if isinstance(cell.cell_contents, PathView):
            return cell.cell_contents
    return None


def _required_scopes(callbacks: object) -> frozenset[str] | None:
    if not callbacks:
        return None
    scopes: set[str] = set()
    for callback in callbacks if isinstance(callbacks, list | tuple) else [callbacks]:
        if isinstance(callback, TokenAuth):
            scopes |= callback.required_scopes
    return frozenset(scopes)


def _schema_param_kinds(schema: Mapping[str, Any], path: str, method: str) -> dict[str, str]:
    kinds: dict[str, str] = {}
    operation = schema["paths"].get(path, {}).get(method.lower(), {})
    for parameter in operation.get("parameters", []):
        if parameter.get("in") != "path":
            continue
        spec = parameter.get("schema", {})
        if spec.get("type") == "integer":
            kinds[parameter["name"]] = "int"
        elif spec.get("format") == "uuid":
            kinds[parameter["name"]] = "uuid"
        else:
            kinds[parameter["name"]] = "str"
    return kinds


def openapi_schema() -> dict[str, Any]:
    return dict(api.get_openapi_schema())


@cache
def discover() -> Routes:
    """Every URL pattern (by walking the resolver) and every API operation (from the API's
    OpenAPI schema, plus any operation hidden from it, found behind its URL pattern)."""
    schema = openapi_schema()
    pages: dict[str, PageRoute] = {}
    operations: dict[str, ApiOperation] = {}
    for route, name, pattern in _walk(get_resolver().url_patterns, "", ""):
        view = _path_view(pattern)
        if view is None:
            pages[f"/{route}"] = PageRoute(key=f"/{route}", name=name)
            continue
        path = "/" + _ROUTE_PARAM.sub(lambda m: "{" + m["name"] + "}", route)
        for operation in view.operations:
            for method in operation.methods:
                kinds = _schema_param_kinds(schema, path, method)
                for m in _ROUTE_PARAM.finditer(route):
                    converter = m["converter"] or "str"
                    fallback = (
                        "int" if converter == "int" else "uuid" if "uuid" in converter else "str"
                    )
                    kinds.setdefault(m["name"], fallback)
                found = ApiOperation(
                    method=method,
                    path=path,
                    params=kinds,
                    scopes=_required_scopes(operation.auth_callbacks),
                    in_schema=operation.include_in_schema,
                )
                operations[found.key] = found
    for path, methods in schema["paths"].items():
        for method in methods:
            key = f"{method.upper()} {path}"
            # An operation in the schema but not routed would be a bug in the walk above.
            assert key in operations, f"{key} is in the OpenAPI schema but no URL serves it"
    return Routes(pages=pages, operations=operations)


def fill(template: str, kwargs: Mapping[str, object]) -> str:
    """A concrete path from a page pattern or an API path, with ``kwargs`` filled in."""
    # Regex groups first: "(?P<name>...)" also reads as a "<name>" route parameter.
    path = _REGEX_PARAM.sub(lambda m: str(kwargs[m["name"]]), template)
    path = _ROUTE_PARAM.sub(lambda m: str(kwargs[m["name"]]), path)
    path = re.sub(r"\{(\w+)\}", lambda m: str(kwargs[m[1]]), path)
    return path.replace("^", "").replace("$", "")


def missing_value(kind: str) -> object:
    """An id of this kind that names nothing."""
    if kind in {"uuid", "uuidstr"}:
        return uuid.uuid4()
    # Within a 32-bit column, above anything a test database reaches.
    return 2_000_000_000 + secrets.randbelow(100_000_000)


def is_id(kind: str) -> bool:
    return kind in {"int", "uuid", "uuidstr", "path"}


# --- People ---------------------------------------------------------------------------------


@dataclass
class Principal:
    """Someone signed in through the real pages in one role, with an API token that holds
    every scope the role may put on one (so scopes never hide what the policy decides)."""

    role: str
    user: User
    membership: Membership
    client: Client
    token: str
    #: A browser without cookies, for the token door (a session must not ride along).
    token_client: Client

    @property
    def actor(self) -> Actor:
        return actor_for_user(self.user, membership=self.membership, recently_verified=True)

    @property
    def agency(self) -> Agency:
        return self.membership.agency


@cache
def _handler() -> ClientHandler:
    return ClientHandler(enforce_csrf_checks=False)


def english_client() -> Client:
    """A browser reading English. Every one shares one request handler: a new handler
    builds the middleware again, and WhiteNoise's scan of the static files alone costs a
    third of a second, which hundreds of browsers in this suite would pay for nothing (no
    middleware keeps per-test state)."""
    browser = Client()
    browser.handler = _handler()
    browser.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return browser


def make_located_agency(kind: str) -> Agency:
    """An agency placed in a commune, as the network's services require of every local one."""
    return make_agency(kind, commune=make_commune())


def make_principal(role: str, agency: Agency | None = None) -> Principal:
    user = make_staff(role, agency or make_located_agency(ROLE_AGENCY_KIND[role]))
    membership = Membership.objects.select_related("agency").get(user=user)
    client = english_client()
    login_staff(client, user)
    _row, plaintext = tokens.token_create(
        actor=actor_for_user(user, membership=membership, recently_verified=True),
        name="security matrix",
        scopes=scopes_allowed_for_role(role),
        expires_in_days=1,
    )
    return Principal(
        role=role,
        user=user,
        membership=membership,
        client=client,
        token=plaintext,
        token_client=english_client(),
    )


# --- The objects nobody in the matrix may see -----------------------------------------------


class World:
    """Objects that belong to someone else, made once per test on first use. The case, the
    task, the draft and the shelter carry the canaries above."""

    @cached_property
    def other_unit(self) -> Agency:
        return make_located_agency(AgencyKind.POLICE_UNIT)

    @cached_property
    def other_officer(self) -> Actor:
        return make_person(Role.UNIT_OFFICER, self.other_unit).actor

    @cached_property
    def other_chief(self) -> Actor:
        return make_person(Role.UNIT_CHIEF, self.other_unit).actor

    @cached_property
    def admin(self) -> Actor:
        return make_actor(Role.SYSTEM_ADMIN, recently_verified=True)

    @cached_property
    def foreign_case(self) -> CaseFile:
        """A case of another unit, never shared: her name, phone, CIN and account."""
        return open_case(
            self.other_officer,
            survivor=SurvivorData(
                full_name=CANARY_NAME, phone=CANARY_PHONE, cin=CANARY_CIN, address=CANARY_NAME_AR
            ),
            narrative=CANARY_NARRATIVE,
        )

    @cached_property
    def prosecution_office(self) -> Agency:
        return make_located_agency(AgencyKind.PROSECUTION_OFFICE)

    @cached_property
    def foreign_grant(self) -> Grant:
        """The other unit shared the case with a prosecutor (not the principal's office)."""
        return case_services.share_without_consent(
            actor=self.other_officer,
            case_id=self.foreign_case.pk,
            agency_id=self.prosecution_office.pk,
            basis=SharingBasis.LIFE_THREAT,
            reason="He threatened to kill her tonight",
            scope=["identity"],
        )

    @cached_property
    def foreign_evidence(self) -> Evidence:
        return evidence.evidence_add(
            actor=self.other_officer,
            case_id=self.foreign_case.pk,
            kind=EvidenceKind.INJURY_PHOTO,
            upload=tiny_png("bruise.png"),
            description=CANARY_TASK,
        )

    @cached_property
    def foreign_task(self) -> Task:
        return case_services.task_add(
            actor=self.other_officer,
            case_id=self.foreign_case.pk,
            description=CANARY_TASK,
            due_on=timezone.localdate() + timedelta(days=3),
        )

    @cached_property
    def foreign_alert(self) -> Alert:
        # The alert a unit's chief receives; no service makes one without side effects on
        # the case this suite reads, so it is made directly.
        return Alert.objects.create(
            agency=self.other_unit, kind=AlertKind.PRIOR_CONTACT, case=self.foreign_case
        )

    @cached_property
    def shelter(self) -> Agency:
        """A shelter with a sealed address (the directory lists the shelter, never where)."""
        return network_services.agency_create(
            actor=self.admin,
            data=AgencyData(
                kind=AgencyKind.SHELTER,
                name_ar="دار الإيواء التجريبية",
                name_fr="Refuge de test",
                commune_id=make_commune().pk,
                address=CANARY_SHELTER_ADDRESS,
                hours=parse_hours("24/7"),
                is_synthetic=True,
            ),
        )

    @cached_property
    def inactive_agency(self) -> Agency:
        return network_services.agency_create(
            actor=self.admin,
            data=AgencyData(
                kind=AgencyKind.NGO_CENTRE,
                name_ar="جمعية مغلقة",
                name_fr="Association fermée",
                commune_id=make_commune().pk,
                hours=parse_hours("24/7"),
                is_active=False,
                is_synthetic=True,
            ),
        )

    def colleague_token(self, principal: Principal) -> ApiToken:
        """A token of someone else in the principal's own agency: near, and still not hers."""
        colleague = make_staff(principal.role, principal.agency)
        membership = Membership.objects.get(user=colleague)
        token, _plaintext = tokens.token_create(
            actor=actor_for_user(colleague, membership=membership, recently_verified=True),
            name="colleague's",
            scopes=scopes_allowed_for_role(principal.role),
            expires_in_days=1,
        )
        return token

    def other_officers_draft(self, principal: Principal) -> IntakeDraft:
        """An interview another officer started: in the principal's own unit when she works
        in one (closest to hers), else in the other unit."""
        unit = principal.agency if principal.agency.kind == AgencyKind.POLICE_UNIT else None
        officer = make_person(Role.UNIT_OFFICER, unit or self.other_unit).actor
        return intake_draft_save(
            actor=officer,
            draft_id=None,
            step="survivor",
            data={"survivor": {"full_name": CANARY_DRAFT, "phone": CANARY_PHONE}},
        )


def tiny_png(name: str) -> SimpleUploadedFile:
    """A real 8x8 PNG, so an upload is refused by policy, never for being broken."""
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 40, 40)).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


# --- Requests -------------------------------------------------------------------------------

Door = Literal["page", "api-session", "api-token"]
DOOR_PAGE: Door = "page"
DOOR_SESSION: Door = "api-session"
DOOR_TOKEN: Door = "api-token"


def send(
    who: Principal | None,
    door: Door,
    method: str,
    path: str,
    body: Mapping[str, object] | None = None,
    *,
    multipart: bool = False,
    extra_headers: Mapping[str, str] | None = None,
) -> HttpResponseBase:
    """One request through one door: a page (form body), the API with the signed-in session
    (JSON body), or the API with the bearer token and no cookie at all.

    Redirects of a GET are followed within the site (the admin sends a refused person
    through its index to its sign-in), except to a sign-in page: that is the answer."""
    if who is None:
        client = english_client()
        headers: dict[str, str] = {}
    elif door == DOOR_TOKEN:
        client = who.token_client
        headers = {"Authorization": f"Bearer {who.token}"}
    else:
        client = who.client
        headers = {}
    headers.update(extra_headers or {})
    response: HttpResponseBase
    if multipart:
        response = client.post(path, data=dict(body or {}), headers=headers)
    elif door == DOOR_PAGE:
        if method == "GET":
            response = client.get(path, headers=headers)
        else:
            response = client.generic(
                method,
                path,
                data=urlencode(
                    [
                        (key, str(item))
                        for key, value in (body or {}).items()
                        for item in _many(value)
                    ]
                ),
                content_type="application/x-www-form-urlencoded",
                headers=headers,
            )
    else:
        data = json.dumps(body) if body is not None else ""
        response = client.generic(
            method, path, data=data, content_type="application/json", headers=headers
        )
    hops = 0
    while (
        method == "GET"
        and 300 <= response.status_code < 400
        and not login_redirect(response)
        and response.get("Location", "").startswith("/")
        and hops < 5
    ):
        response = client.get(response["Location"], headers=headers)
        hops += 1
    return response


def _many(value: object) -> list[object]:
    return list(value) if isinstance(value, list | tuple) else [value]


_LOGIN_PATHS = ("accounts:login", "admin:login")


def login_redirect(response: HttpResponseBase) -> bool:
    location = response.get("Location", "")
    return 300 <= response.status_code < 400 and any(
        location.split("?")[0] == reverse(name) for name in _LOGIN_PATHS
    )


def refused(response: HttpResponseBase) -> bool:
    """Refused: 401, 403 or 404, or sent to a sign-in page."""
    return response.status_code in {401, 403, 404} or login_redirect(response)


_CSRF = re.compile(r'((?:name="csrfmiddlewaretoken" value|name="csrf-token" content)=")[^"]*"')
_REQUEST_ID = re.compile(r'("request_id":\s*")[^"]*"|(?<=reference )[0-9a-f]{8,}')


def normalised(response: HttpResponseBase, ids: Mapping[str, object]) -> tuple[object, ...]:
    """What must be equal between two refusals: status, content type, redirect target and
    body, with the per-request noise (CSRF token, request id) blanked, and the requested ids
    blanked in a redirect's target (which may carry the address asked for). A refusal's body
    never quotes the id it was given (error pages echo nothing), so ids stay in the body."""
    text = getattr(response, "content", b"").decode("utf-8", errors="replace")
    location = response.get("Location", "")
    text = _CSRF.sub(r'\1-"', text)
    text = _REQUEST_ID.sub("-", text)
    for name, value in ids.items():
        location = location.replace(str(value), "{" + name + "}")
    return (response.status_code, response.get("Content-Type", ""), location, text)
