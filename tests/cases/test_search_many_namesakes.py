"""Duplicate detection in a unit holding many files under a common name (found by the
1,000,000-case benchmark, bench/README.md): the file that is very probably her must be
listed, whatever the number of newer files that only share her name."""

from __future__ import annotations

from datetime import date

import pytest

from himaya.accounts.roles import Role
from himaya.cases import search, selectors
from himaya.cases.intake import SurvivorData
from himaya.cases.search import MatchReason
from tests.cases.helpers import make_actor, make_unit, open_case

pytestmark = pytest.mark.django_db


def test_her_file_with_the_same_birth_date_is_listed_before_newer_namesakes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    unit = make_unit()
    officer = make_actor(Role.UNIT_OFFICER, unit)
    born = date(1990, 5, 17)
    hers = open_case(officer, survivor=SurvivorData(full_name="Fatima Alaoui", date_of_birth=born))
    namesakes = [
        open_case(officer, survivor=SurvivorData(full_name="Fatima Alaoui")) for _ in range(3)
    ]
    # Three files listed at most: every namesake is newer than hers.
    monkeypatch.setattr(search, "MAX_OWN", 3)

    result = selectors.duplicate_candidates(
        actor=officer, full_name="Fatima Alaoui", date_of_birth=born
    )

    assert result.own[0].case.pk == hers.pk
    assert MatchReason.NAME_AND_BIRTH_DATE in result.own[0].reasons
    assert len(result.own) == 3
    # Then the newest of the others.
    assert [m.case.pk for m in result.own[1:]] == [namesakes[2].pk, namesakes[1].pk]


def test_without_a_strong_match_the_newest_namesakes_are_listed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    unit = make_unit()
    officer = make_actor(Role.UNIT_OFFICER, unit)
    files = [open_case(officer, survivor=SurvivorData(full_name="Khadija Tazi")) for _ in range(4)]
    monkeypatch.setattr(search, "MAX_OWN", 2)

    result = selectors.find_by_name(actor=officer, name="Khadija Tazi")

    assert [m.case.pk for m in result.own] == [files[3].pk, files[2].pk]
