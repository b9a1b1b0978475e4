from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client


@pytest.fixture
def client() -> Client:
    """A browser that asked for English, so tests can read the messages."""
    browser = Client()
    browser.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return browser
