"""django-tasks-db's task results are not in our admin: their pages needed Django model
permissions nobody holds, so they answered 403 even to the administrator."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import Client
from django_tasks_db.models import DBTaskResult

from himaya.accounts.roles import Role
from tests.accounts.helpers import login_staff, make_staff

pytestmark = pytest.mark.django_db


def test_task_results_are_not_registered_in_our_admin() -> None:
    assert not admin.site.is_registered(DBTaskResult)


def test_the_administrator_no_longer_meets_a_403_for_task_results(client: Client) -> None:
    login_staff(client, make_staff(Role.SYSTEM_ADMIN))
    index = client.get("/admin/")
    assert index.status_code == 200
    assert b"dbtaskresult" not in index.content.lower()
    assert client.get("/admin/django_tasks_database/dbtaskresult/").status_code == 404
