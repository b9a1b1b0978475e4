from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _private_outbox(tmp_path: Path, settings: object) -> None:
    """Each test's SMS go to its own development outbox file."""
    settings.HIMAYA_SMS_BACKEND = "file"  # type: ignore[attr-defined]
    settings.HIMAYA_SMS_FILE = str(tmp_path / "sms" / "outbox.jsonl")  # type: ignore[attr-defined]


@pytest.fixture
def outbox(tmp_path: Path) -> Path:
    return tmp_path / "sms" / "outbox.jsonl"
