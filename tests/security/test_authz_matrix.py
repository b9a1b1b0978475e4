"""The authorisation matrix (SECURITY.md, check 3), generated from the routes themselves.

Every URL pattern (the resolver walked recursively) and every API operation (the API's
OpenAPI schema, plus any operation hidden from it) must be classified in
``tests/security/routes.py``; a new route that is not fails here, naming it. Then, for each
role of ``Role``, signed in through the real pages (and holding a token with every scope
its role may hold):

* anonymous visitors reach only the public routes (sign-in page or 401 otherwise);
* ``Staff`` routes let every role in; ``Roles`` routes refuse every role not listed;
  ``Closed`` routes refuse everyone;
* every ``Objects`` route, for every object the role must not see (another unit's case,
  task, alert, sharing or evidence; someone else's token; an inactive agency; a shelter's
  address; ...), is refused with the SAME answer -- status, content type, redirect and body,
  with only the CSRF token, the request id and the requested ids blanked -- as for a random
  id that names nothing, through the pages, the API with the session, and the API with a
  token. No refusal carries a canary value of the foreign objects.
* a token without an operation's scope is refused with ``insufficient_scope``.

Shown to fail with deliberate bugs, each applied for one run by a throw-away pytest plugin
that monkeypatched one function (so no source file other people work on changed), each run
failing as quoted and passing again without the plugin:

* ``accounts.tokens.token_revoke`` without its owner filter: every role failed with
  "reached page POST /accounts/tokens/<int:token_id>/revoke/ (someone else's object): 302"
  and "reached api-token DELETE /api/v1/tokens/{token_id} (someone else's object): 200";
* ``cases.selectors._visible_case`` raising ``PermissionDenied`` (403) instead of
  ``NotFound`` for a case the actor may not see: every role failed with "answers differ for
  someone else's object and a missing one on page GET /cases/<uuid:case_id>/: 403 against
  404", and the same on the case API operations;
* ``cases.policies.access_for`` giving the national analyst every field group: failed with
  "national_analyst reached api-token GET /api/v1/cases/{case_id} (someone else's object):
  200" and "7 canary value(s) in the answer";
* ``network.policies.can_edit_network`` also true for unit chiefs: "unit_chief reached page
  GET /network/agencies/new/: 200" (and the edit page, and the inactive agency's page);
* a new ``path("export/", ...)`` appended to ``cases.urls``: "Unclassified page routes:
  /cases/export/ (cases:export) -- classify it in tests/security/routes.py".
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.http import HttpResponseBase
from django.test import Client
from django.urls import reverse

from himaya.accounts import tokens
from himaya.accounts.roles import Role
from himaya.accounts.scopes import scopes_allowed_for_role
from tests.security.routes import (
    OPERATIONS,
    PAGES,
    Closed,
    Objects,
    Public,
    Roles,
    Rule,
    Staff,
    body_for,
    defaults,
    describe,
    doors,
    methods,
    param_kinds,
    path_template,
    rules,
)
from tests.security.support import (
    ALL_ROLES,
    DOOR_PAGE,
    DOOR_TOKEN,
    Door,
    Principal,
    World,
    canaries_in,
    discover,
    fill,
    is_id,
    make_principal,
    missing_value,
    normalised,
    refused,
    response_text,
    send,
)

HINT = "classify it in tests/security/routes.py"
SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


# --- Every route is classified --------------------------------------------------------------


def test_every_page_route_is_classified() -> None:
    pages = discover().pages
    unclassified = [f"{key} ({pages[key].name})" for key in sorted(set(pages) - set(PAGES))]
    assert not unclassified, f"Unclassified page routes: {', '.join(unclassified)} -- {HINT}"


def test_every_api_operation_is_classified() -> None:
    unclassified = sorted(set(discover().operations) - set(OPERATIONS))
    assert not unclassified, f"Unclassified API operations: {', '.join(unclassified)} -- {HINT}"


def test_every_api_operation_is_in_the_schema_so_the_fuzzer_reaches_it() -> None:
    hidden = sorted(k for k, op in discover().operations.items() if not op.in_schema)
    assert not hidden, f"Operations hidden from the OpenAPI schema (never fuzzed): {hidden}"


def test_the_registry_names_only_routes_that_exist() -> None:
    routes = discover()
    stale = sorted((set(PAGES) - set(routes.pages)) | (set(OPERATIONS) - set(routes.operations)))
    assert not stale, f"tests/security/routes.py names routes that no longer exist: {stale}"


def test_public_operations_are_exactly_those_without_authentication() -> None:
    """An operation declared ``auth=None`` is open to the internet: the registry must say so
    on purpose, and must not call public what in fact asks for a token."""
    wrong = [
        key
        for key, operation in discover().operations.items()
        if (operation.scopes is None)
        != any(isinstance(rule, Public) for rule in rules(OPERATIONS[key]))
    ]
    assert not wrong, f"Public in the registry but not in the code, or the reverse: {wrong}"


# --- Anonymous visitors ---------------------------------------------------------------------


def _gate_refusal(response: object, method: str, path: str, api: bool) -> bool:
    """The staff gate's own answer: 401 on the API; the sign-in page (with ``next`` for a
    GET) on a page."""
    status = getattr(response, "status_code", 0)
    if api:
        return status == 401
    location = response.get("Location", "") if hasattr(response, "get") else ""
    login = reverse("accounts:login")
    expected = f"{login}?next={quote(path, safe='')}" if method == "GET" else login
    return status == 302 and location.replace("%2F", "/") == expected.replace("%2F", "/")


@pytest.mark.django_db
def test_anonymous_visitors_reach_only_public_routes() -> None:
    problems: list[str] = []
    for key, entry in {**PAGES, **OPERATIONS}.items():
        template, _method = path_template(key)
        api = key in OPERATIONS
        for rule in rules(entry):
            for method in methods(key, rule):
                path = fill(template, defaults(key))
                response = send(None, DOOR_TOKEN if api else DOOR_PAGE, method, path)
                stopped = _gate_refusal(response, method, path, api)
                if isinstance(rule, Public) and stopped:
                    problems.append(f"public {method} {key} refused an anonymous visitor")
                if not isinstance(rule, Public) and not stopped:
                    problems.append(
                        f"anonymous {method} {key} was not stopped: {response.status_code}"
                    )
    assert not problems, "\n".join(problems)


# --- Scopes ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_token_without_the_operations_scope_is_refused() -> None:
    chief = make_principal(Role.UNIT_CHIEF)
    problems: list[str] = []
    for key, operation in discover().operations.items():
        if not operation.scopes:
            continue
        others = [s for s in scopes_allowed_for_role(chief.role) if s not in operation.scopes]
        _row, plaintext = tokens.token_create(
            actor=chief.actor, name="narrow", scopes=others, expires_in_days=1
        )
        path = fill(operation.path, defaults(key))
        response = Client().generic(
            operation.method,
            path,
            data="{}",
            content_type="application/json",
            headers={"Authorization": f"Bearer {plaintext}"},
        )
        code = response.json().get("error", {}).get("code") if response.status_code < 500 else ""
        if response.status_code != 403 or code != "insufficient_scope":
            problems.append(f"{key} with scopes {others}: {response.status_code} {code}")
    assert not problems, "\n".join(problems)


# --- Every role -----------------------------------------------------------------------------


def _leaks(response: HttpResponseBase, who: str, where: str) -> list[str]:
    found = canaries_in(response_text(response))
    # How many, never which: test output is a log too.
    return [f"{who} on {where}: {len(found)} canary value(s) in the answer"] if found else []


def _check_access(
    key: str, rule: Rule, *, principal: Principal, world: World, door: Door, method: str
) -> list[str]:
    """Staff, Roles and Closed rules: in or out, as the rule says."""
    template, _method = path_template(key)
    params = param_kinds(key)
    kwargs = defaults(key)
    subject = getattr(rule, "subject", None)
    if subject is not None:
        kwargs.update({k: v for k, v in subject(principal, world).items() if k in params})
    body = body_for(getattr(rule, "body", None), principal, world)
    where = describe(door, method, key)
    if isinstance(rule, Closed):
        must_enter = False
    elif isinstance(rule, Roles):
        must_enter = principal.role in rule.roles
        if must_enter and not rule.admitted:
            return []
    else:
        assert isinstance(rule, Staff)
        must_enter = True
    if must_enter and method not in SAFE and body is None:
        return []  # an unsafe request with no body to send proves nothing either way
    headers = getattr(rule, "headers", None)
    response = send(principal, door, method, fill(template, kwargs), body, extra_headers=headers)
    problems = _leaks(response, principal.role, where)
    if response.status_code >= 500:
        problems.append(f"{principal.role} got a server error on {where}")
    elif response.status_code == 422 and not must_enter:
        problems.append(f"{where}: the body did not pass validation -- fix it in routes.py")
    elif must_enter and refused(response):
        problems.append(f"{principal.role} was refused {where}: {response.status_code}")
    elif not must_enter and not refused(response):
        problems.append(f"{principal.role} reached {where}: {response.status_code}")
    return problems


def _check_foreign(
    key: str, rule: Objects, *, principal: Principal, world: World, door: Door, method: str
) -> list[str]:
    """Someone else's object is refused exactly as an object that does not exist."""
    if principal.role in rule.exempt:
        return []
    template, _method = path_template(key)
    params = param_kinds(key)
    made = rule.foreign(principal, world)
    foreign = {**defaults(key), **{name: made[name] for name in params if name in made}}
    missing = {
        name: missing_value(params[name]) if is_id(params[name]) else value
        for name, value in foreign.items()
    }
    where = describe(door, method, key)
    answers = []
    for kwargs in (foreign, missing):
        body = body_for(rule.body, principal, world)
        answers.append(
            send(
                principal,
                door,
                method,
                fill(template, kwargs),
                body,
                multipart=rule.multipart,
                extra_headers=rule.headers,
            )
        )
    mine, none = answers
    problems = _leaks(mine, principal.role, where)
    if mine.status_code == 422 or none.status_code == 422:
        problems.append(f"{where}: the body did not pass validation -- fix it in routes.py")
    elif not refused(mine):
        problems.append(
            f"{principal.role} reached {where} (someone else's object): {mine.status_code}"
        )
    elif rule.existence_public:
        if not refused(none) or mine.status_code not in {403, 404}:
            problems.append(f"{where}: {mine.status_code} / {none.status_code}")
    else:
        ids = {name: value for name, value in foreign.items() if is_id(params[name])}
        missing_ids = {name: value for name, value in missing.items() if name in ids}
        first, second = normalised(mine, ids), normalised(none, missing_ids)
        if first != second:
            problems.append(
                f"{principal.role}: answers differ for someone else's object and a missing one "
                f"on {where}: {mine.status_code} against {none.status_code}"
                + ("" if problems else _first_difference(first, second))
            )
    return problems


def _first_difference(first: tuple[object, ...], second: tuple[object, ...]) -> str:
    """Where two answers part, to fix the right thing (only called when neither leaks)."""
    for label, a, b in zip(("status", "type", "location", "body"), first, second, strict=True):
        if a == b:
            continue
        if label != "body":
            return f" ({label}: {a!r} / {b!r})"
        for line_a, line_b in zip(str(a).splitlines(), str(b).splitlines(), strict=False):
            if line_a != line_b:
                return f" (body: {line_a.strip()[:120]!r} / {line_b.strip()[:120]!r})"
        return " (body lengths differ)"
    return ""


ROLES = sorted(ALL_ROLES)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_every_role_gets_exactly_the_routes_its_role_allows(role: str) -> None:
    principal = make_principal(role)
    world = World()
    problems: list[str] = []
    for key, entry in {**PAGES, **OPERATIONS}.items():
        for rule in rules(entry):
            if isinstance(rule, Public | Objects):
                continue
            for door in doors(key):
                for method in methods(key, rule):
                    problems += _check_access(
                        key, rule, principal=principal, world=world, door=door, method=method
                    )
    assert not problems, "\n".join(problems)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_every_role_is_refused_objects_it_must_not_see(role: str) -> None:
    principal = make_principal(role)
    world = World()
    problems: list[str] = []
    for key, entry in {**PAGES, **OPERATIONS}.items():
        for rule in rules(entry):
            if not isinstance(rule, Objects):
                continue
            for door in doors(key):
                for method in methods(key, rule):
                    problems += _check_foreign(
                        key, rule, principal=principal, world=world, door=door, method=method
                    )
    assert not problems, "\n".join(problems)
