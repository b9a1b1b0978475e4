"""Production settings pass Django's deployment checks, and refuse development secrets.

Each test starts a fresh interpreter: settings are read once per process, and production is
a different process from the test suite's.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from himaya.settings import _DEV_SECRET as DEV_SECRET
from tests.ops.support import REPO_DIR, production_env

pytestmark = pytest.mark.slow

TIMEOUT = 120


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def _assert_refused_naming(
    result: subprocess.CompletedProcess[str], variable: str, *, one_line: bool = True
) -> None:
    assert result.returncode != 0
    assert variable in result.stderr
    assert "Traceback" not in result.stderr
    if one_line:
        # A bad setting stops the process with one line for the operator, nothing else.
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_production_settings_pass_check_deploy_without_a_single_warning(tmp_path: Path) -> None:
    result = _manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_the_development_secret_key(tmp_path: Path) -> None:
    env = production_env(tmp_path) | {"SECRET_KEY": DEV_SECRET}
    result = _manage(env, "check")
    _assert_refused_naming(result, "SECRET_KEY")
    assert DEV_SECRET not in result.stderr


def test_production_refuses_to_start_without_a_secret_key(tmp_path: Path) -> None:
    env = production_env(tmp_path)
    del env["SECRET_KEY"]
    _assert_refused_naming(_manage(env, "check"), "SECRET_KEY")


def test_production_refuses_a_short_secret_key(tmp_path: Path) -> None:
    env = production_env(tmp_path) | {"SECRET_KEY": "too-short-to-be-random"}
    _assert_refused_naming(_manage(env, "check"), "SECRET_KEY")


def test_production_refuses_to_start_without_a_master_key(tmp_path: Path) -> None:
    env = production_env(tmp_path)
    del env["HIMAYA_MASTER_KEY"]
    # The key is checked by a system check (every command but init_keys runs it), so the
    # refusal comes in Django's usual system-check report rather than as one line.
    _assert_refused_naming(_manage(env, "check"), "HIMAYA_MASTER_KEY", one_line=False)
    _assert_refused_naming(
        _manage(env, "db_worker", "--batch"), "HIMAYA_MASTER_KEY", one_line=False
    )


def test_production_reads_the_master_key_from_a_secret_file(tmp_path: Path) -> None:
    env = production_env(tmp_path)
    secret = tmp_path / "master.key"
    secret.write_text(env.pop("HIMAYA_MASTER_KEY") + "\n")
    env["HIMAYA_MASTER_KEY_FILE"] = str(secret)
    result = _manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_asgi_server_refuses_to_start_production_without_a_master_key(
    tmp_path: Path,
) -> None:
    env = production_env(tmp_path)
    del env["HIMAYA_MASTER_KEY"]
    # Port 9 (discard) is never bound: the app fails while loading, before any socket.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "himaya.asgi:application",
            "--app-dir",
            "src",
            "--host",
            "127.0.0.1",
            "--port",
            "9",
        ],
        cwd=REPO_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,  # a server that started would run until here: fail, don't hang
        check=False,
    )
    assert result.returncode != 0
    assert "HIMAYA_MASTER_KEY" in result.stderr
    assert "Traceback" not in result.stderr


def test_production_settings_resolve_to_the_documented_services(tmp_path: Path) -> None:
    """REDIS_URL selects the Redis channel layer, DATABASE_REPLICA_URL the statistics replica,
    tasks go to the database, cookies are secure, and the proxy's X-Forwarded-Proto is trusted
    only because TRUST_PROXY_SSL_HEADER says so."""
    probe = (
        "import json, django; from django.conf import settings; django.setup(); print(json.dumps({"
        "'layer': settings.CHANNEL_LAYERS['default']['BACKEND'],"
        "'tasks': settings.TASKS['default']['BACKEND'],"
        "'debug': settings.DEBUG,"
        "'ssl_header': settings.SECURE_PROXY_SSL_HEADER,"
        "'proxies': settings.TRUSTED_PROXY_COUNT,"
        "'secure_cookies': [settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE],"
        "'static': settings.STORAGES['staticfiles']['BACKEND'],"
        "'databases': sorted(settings.DATABASES),"
        "'routers': settings.DATABASE_ROUTERS,"
        "}))"
    )
    env = production_env(tmp_path) | {
        "DJANGO_SETTINGS_MODULE": "himaya.settings",
        "DATABASE_REPLICA_URL": "postgres://himaya@replica.internal:5432/himaya",
    }
    env["PYTHONPATH"] = str(REPO_DIR / "src")
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    resolved = json.loads(result.stdout.strip().splitlines()[-1])
    assert resolved == {
        "layer": "channels_redis.core.RedisChannelLayer",
        "tasks": "django_tasks_db.DatabaseBackend",
        "debug": False,
        "ssl_header": ["HTTP_X_FORWARDED_PROTO", "https"],
        "proxies": 1,
        "secure_cookies": [True, True],
        "static": "whitenoise.storage.CompressedManifestStaticFilesStorage",
        "databases": ["default", "replica"],
        "routers": ["himaya.core.db_routers.StatsReplicaRouter"],
    }
