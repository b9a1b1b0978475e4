"""The demo's synthetic case files go through the real intake and load only once."""

import pytest

from himaya.cases.models import CaseFile
from himaya.demo.accounts import ensure_demo_accounts
from himaya.demo.cases import NARRATIVE, build_cases


@pytest.mark.django_db
def test_demo_cases_are_synthetic_sealed_and_loaded_once() -> None:
    ensure_demo_accounts(password="demo-password-for-tests-1")

    assert build_cases(count=4) == 4
    assert build_cases(count=4) == 0

    cases = list(CaseFile.objects.select_related("survivor"))
    assert len(cases) == 4
    assert all(case.narrative == NARRATIVE for case in cases)
    assert all("synthetic" in case.narrative for case in cases)
