"""Helpers for the operations tests: production environments and the settings' variables."""

from __future__ import annotations

import base64
import os
import re
import secrets
import string
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parents[2]
SETTINGS_FILE = REPO_DIR / "src" / "himaya" / "settings.py"

_ENV_CALL = re.compile(r"\benv_(?:str|bool|int|list|choice)\(\s*\"([A-Z][A-Z0-9_]*)\"")


def settings_variables() -> set[str]:
    """Every environment variable settings.py reads through the typed env helpers."""
    return set(_ENV_CALL.findall(SETTINGS_FILE.read_text(encoding="utf-8")))


def random_secret_key() -> str:
    alphabet = string.ascii_letters + string.digits + "!#%&()*+,-./:;<=>?@[]^_{|}~"
    return "".join(secrets.choice(alphabet) for _ in range(64))


def random_master_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def production_env(tmp_path: Path) -> dict[str, str]:
    """A complete production environment, as docs/deploy.md tells operators to set it.

    Every variable settings.py reads (and its ``_FILE`` twin) is first removed from the
    inherited environment, so the result depends on nothing the developer has exported.
    """
    ours = settings_variables()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ours and key.removesuffix("_FILE") not in ours
    }
    env.update(
        HIMAYA_ENV="production",
        SECRET_KEY=random_secret_key(),
        ALLOWED_HOSTS="himaya.example.org",
        CSRF_TRUSTED_ORIGINS="https://himaya.example.org",
        HIMAYA_MASTER_KEY=random_master_key(),
        HIMAYA_BLIND_INDEX_KEY=random_master_key(),
        HIMAYA_AUDIT_SIGNING_KEY=random_master_key(),  # an Ed25519 private key is 32 bytes
        HIMAYA_VAR_DIR=str(tmp_path / "var"),
        STATIC_ROOT=str(tmp_path / "static"),
        TRUSTED_PROXY_COUNT="1",
        TRUST_PROXY_SSL_HEADER="true",
        REDIS_URL="redis://127.0.0.1:6379/0",
        PYTHONUNBUFFERED="1",
    )
    # The suite's own database server when there is one; a throwaway SQLite file otherwise.
    database_url = os.environ.get("DATABASE_URL", "")
    if database_url:
        env["DATABASE_URL"] = database_url
    else:
        env["SQLITE_PATH"] = str(tmp_path / "production.sqlite3")
    return env
