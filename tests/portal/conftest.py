"""Fixtures of the portal tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import Client, override_settings

from tests.portal.helpers import World, make_world


@pytest.fixture
def world(db: None) -> World:
    return make_world()


@pytest.fixture
def client() -> Client:
    return Client()


@pytest.fixture(autouse=True)
def _no_min_fill_time() -> Iterator[None]:
    """A test fills the form in milliseconds; the minimum fill time has its own test."""
    with override_settings(PORTAL_MIN_FILL_SECONDS=0):
        yield
