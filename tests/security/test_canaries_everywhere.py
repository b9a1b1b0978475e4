"""Canary values never reach an answer to a role that may not see them, nor any log line
(SECURITY.md, check 4 -- the database files, WAL and dumps are searched by
``tests/cases/test_canaries_cases.py`` and ``tests/core/test_canaries.py``).

Another unit's case is opened through the real intake with a canary name (Latin and
Arabic), phone, CIN and account, with a task and a piece of evidence; another officer saves a
draft; a shelter gets a canary address. Then, for every role (each signed in from an agency
of its own, so none of them may see any of it), every GET route the registry knows -- every
page, and every API operation through the token and the session -- is fetched with the
canary objects' ids where the route names an object. No answer may contain a canary, in
any form (as typed, escaped in JSON, encoded in a URL).

Everything logged while the objects are written and read -- at DEBUG, on every logger,
with every SQL statement and its parameters -- is searched too.

The search is shown to work on every run: the unit that holds the case reads it, and its
answer must contain the canaries (while its log lines still must not). It was also shown to
catch leaks, with deliberate bugs applied for one run each by a throw-away pytest plugin
that monkeypatched one function (never committed), each run passing again without it:

* ``himaya.cases.policies.access_for`` giving the national analyst every field group: the
  test failed for ``national_analyst`` -- "7 canary value(s)" on ``GET /api/v1/cases/{case_id}``
  (token and session) and on the case page, "1 canary value(s)" on the evidence list;
* ``himaya.cases.selectors.case_get`` logging "read the file of <her name>" at DEBUG: the
  control failed with "1 canary value(s) in the log".

Failure messages give counts, never the values (test output is a log too); pytest's own
"captured log" section of a failing test does show the offending line.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from django.db import connection

from himaya.accounts.roles import Role
from tests.security.routes import (
    OPERATIONS,
    PAGES,
    Objects,
    Public,
    Roles,
    Staff,
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
    CANARY_CIN,
    CANARY_NAME,
    CANARY_NARRATIVE,
    DOOR_TOKEN,
    World,
    canaries_in,
    fill,
    make_principal,
    response_text,
    send,
)


@pytest.fixture
def every_log_line(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every logger at DEBUG (some are quieter by configuration), SQL statements included."""
    caplog.set_level(logging.DEBUG)
    for name in list(logging.root.manager.loggerDict):
        caplog.set_level(logging.DEBUG, logger=name)
    connection.force_debug_cursor = True
    try:
        yield caplog
    finally:
        connection.force_debug_cursor = False


def _logged(caplog: pytest.LogCaptureFixture) -> str:
    lines = [caplog.text]
    for record in caplog.records:
        lines.append(record.getMessage())
        lines.append(repr(getattr(record, "params", "")))
        lines.append(record.exc_text or "")
    return "\n".join(lines)


def _world() -> World:
    world = World()
    world.foreign_task  # noqa: B018 -- each made for its side effect: canaries written
    world.foreign_evidence  # noqa: B018
    world.foreign_alert  # noqa: B018
    world.shelter  # noqa: B018
    return world


@pytest.mark.django_db
def test_the_holding_unit_sees_the_canaries_and_no_log_line_does(
    every_log_line: pytest.LogCaptureFixture,
) -> None:
    """The control: the search finds the canaries where they belong."""
    world = _world()
    officer = make_principal(Role.UNIT_OFFICER, world.other_unit)
    case = world.foreign_case
    answer = send(officer, DOOR_TOKEN, "GET", f"/api/v1/cases/{case.pk}")
    assert answer.status_code == 200
    # Counts, never the values: pytest would print them, and test output is a log too.
    unseen = len(
        {CANARY_NAME, CANARY_CIN, CANARY_NARRATIVE} - set(canaries_in(response_text(answer)))
    )
    assert unseen == 0, "the search missed canaries in the holding unit's own answer"
    in_log = len(canaries_in(_logged(every_log_line)))
    assert in_log == 0, f"{in_log} canary value(s) in the log"
    # The SQL statements were captured: the log search covered them.
    assert any(r.name == "django.db.backends" for r in every_log_line.records)


@pytest.mark.django_db
@pytest.mark.parametrize("role", sorted(ALL_ROLES))
def test_no_canary_reaches_a_role_that_may_not_see_it_nor_the_log(
    role: str, every_log_line: pytest.LogCaptureFixture
) -> None:
    world = _world()
    principal = make_principal(role)
    fetched = 0
    problems: list[str] = []
    for key, entry in {**PAGES, **OPERATIONS}.items():
        for rule in rules(entry):
            if isinstance(rule, Public) or "GET" not in methods(key, rule):
                continue
            kinds = param_kinds(key)
            kwargs = defaults(key)
            if isinstance(rule, Objects):
                made = rule.foreign(principal, world)
            elif isinstance(rule, Staff | Roles) and rule.subject is not None:
                made = rule.subject(principal, world)
            else:
                made = {}
            kwargs.update({name: value for name, value in made.items() if name in kinds})
            template, _method = path_template(key)
            for door in doors(key):
                answer = send(principal, door, "GET", fill(template, kwargs))
                fetched += 1
                leaked = len(canaries_in(response_text(answer)))
                if leaked:
                    # How many, never which: test output is a log too.
                    problems.append(f"{describe(door, 'GET', key)}: {leaked} canary value(s)")
    assert fetched > 50, "the registry should have offered many GET routes"
    assert not problems, f"{role} saw canaries:\n" + "\n".join(problems)
    in_log = len(canaries_in(_logged(every_log_line)))
    assert in_log == 0, f"{in_log} canary value(s) in the log"
