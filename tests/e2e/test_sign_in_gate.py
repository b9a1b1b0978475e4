"""Journey 2: the second factor cannot be skipped. A staff page sends a stranger to the
sign-in page; after the password alone, every staff page still refuses."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.browser import path_of, sign_in_password, submit
from tests.e2e.conftest import Journey

pytestmark = pytest.mark.e2e

STAFF_PAGES = ("/cases/", "/cases/intake/", "/cases/search/", "/network/", "/")


def _refused(page: Any, base_url: str, path: str) -> str:
    """Open ``path``; where the browser ends up. Never a staff page."""
    response = page.goto(f"{base_url}{path}")
    assert response is not None
    landed = path_of(page)
    assert landed.startswith("/accounts/login"), f"{path} opened without a verified sign-in"
    # Nothing of the unit behind the gate: no queue, no case table, no navigation.
    assert page.locator("table.case-table, nav.shell-nav, .intake").count() == 0
    return landed


def test_a_staff_page_needs_the_password_and_the_code(e2e: Journey) -> None:
    page = e2e.page()
    account = e2e.world.account("gate")

    landed = _refused(page, e2e.url, "/cases/")
    assert landed.startswith("/accounts/login/")
    assert page.locator("input[name=password]").count() == 1

    # The password alone: the next page asks for the code.
    sign_in_password(page, e2e.url, account, next_path="/cases/")
    assert path_of(page) == "/accounts/login/code/"

    # A wrong code is refused on the spot, next to the field.
    good = account.code()
    account.last_t -= 1  # that code was never sent: the next sign-in may use it
    page.fill("input[name=code]", f"{(int(good) + 1) % 1_000_000:06d}")
    submit(page, "main form[action$='/accounts/login/code/'] button[type=submit]")
    assert path_of(page) == "/accounts/login/code/"
    assert page.locator("#id_code_error, .errorlist").count() >= 1

    # Half signed in, every staff page still sends her back to the sign-in page.
    for path in STAFF_PAGES:
        _refused(page, e2e.url, path)

    e2e.assert_clean_console()
