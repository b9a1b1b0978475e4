"""Shared fixtures. Tests hit the real database (SQLite by default, PostgreSQL when
DATABASE_URL is set): nothing of our own stack is mocked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import Client


@pytest.fixture(autouse=True)
def _isolated_var_dir(tmp_path: Path, settings: object) -> None:
    """Each test gets its own var/ (keys, media) so no test reads another's keys."""
    settings.KEYS_DIR = tmp_path / "keys"  # type: ignore[attr-defined]
    settings.MEDIA_ROOT = tmp_path / "media"  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _fresh_network_index() -> Iterator[None]:
    """The network's routing index is process-wide and each test rolls its rows back:
    start every test without a snapshot left by the previous one."""
    from himaya.network.index import invalidate

    invalidate()
    yield
    invalidate()


@pytest.fixture
def client() -> Client:
    return Client()
