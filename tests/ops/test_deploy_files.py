"""The deployment files stay consistent with the code: docs/deploy.md, deploy/ and .ci/run.

The compose topology cannot be started here (no Docker engine, see docs/deploy.md); what can
be checked without one is checked: it parses, it has the documented services and settings, its
secrets are the ones the settings read, and the secrets script's output is accepted by
production settings.
"""

from __future__ import annotations

import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.ops.support import REPO_DIR, production_env, settings_variables

DEPLOY = REPO_DIR / "deploy"
APP_SERVICES = ("migrate", "web-1", "web-2", "worker", "audit-checkpoint")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def _documented_variables() -> set[str]:
    """Variables named in the first column of docs/deploy.md's environment table."""
    text = (REPO_DIR / "docs" / "deploy.md").read_text(encoding="utf-8")
    table = text[text.index("## Environment variables") :]
    return set(re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \|", table, flags=re.MULTILINE))


def test_every_variable_settings_reads_is_documented_in_the_deploy_guide() -> None:
    missing = settings_variables() - _documented_variables()
    assert not missing, f"add to docs/deploy.md's table: {sorted(missing)}"


def test_the_compose_file_has_the_documented_topology(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"postgres", "postgres-replica", "redis", "caddy", *APP_SERVICES} <= set(services)
    # Only the proxy is reachable from outside: the web processes trust its headers.
    exposed = {name for name, service in services.items() if service.get("ports")}
    assert exposed == {"caddy"}
    assert "db_worker" in services["worker"]["command"]
    assert "himaya.asgi:application" in services["web-1"]["command"]
    assert services["web-1"]["command"] == services["web-2"]["command"]
    assert "--no-proxy-headers" in services["web-1"]["command"]


def test_every_application_container_runs_production_behind_one_trusted_proxy(
    compose: dict[str, Any],
) -> None:
    for name in APP_SERVICES:
        environment = compose["services"][name]["environment"]
        assert environment["HIMAYA_ENV"] == "production", name
        assert environment["TRUSTED_PROXY_COUNT"] == "1", name
        assert environment["TRUST_PROXY_SSL_HEADER"] == "true", name
        assert environment["REDIS_URL"].startswith("redis://redis:"), name
        assert {"keys:/srv/himaya/keys", "media:/srv/himaya/media"} <= set(
            compose["services"][name]["volumes"]
        ), name


def test_compose_passes_every_secret_as_a_file_the_settings_read(
    compose: dict[str, Any],
) -> None:
    ours = settings_variables()
    environment = compose["services"]["web-1"]["environment"]
    file_variables = {key for key in environment if key.endswith("_FILE")}
    assert {
        "SECRET_KEY_FILE",
        "HIMAYA_MASTER_KEY_FILE",
        "HIMAYA_BLIND_INDEX_KEY_FILE",
        "HIMAYA_AUDIT_SIGNING_KEY_FILE",
        "DATABASE_URL_FILE",
    } <= file_variables
    for variable in file_variables:
        assert variable.removesuffix("_FILE") in ours, variable
        secret = Path(environment[variable]).name
        assert secret in compose["services"]["web-1"]["secrets"], variable
        assert compose["secrets"][secret]["file"] == f"./secrets/{secret}", variable
    # No secret value is written into the compose file or the example settings.
    for key in ("SECRET_KEY", "HIMAYA_MASTER_KEY", "DATABASE_URL"):
        assert key not in environment
        assert not re.search(rf"^{key}=", (DEPLOY / ".env.example").read_text(), re.MULTILINE)


def test_the_example_settings_name_only_known_variables() -> None:
    deploy_only = {"HIMAYA_DOMAIN", "ACME_EMAIL", "HIMAYA_VERSION"}
    named = set(
        re.findall(
            r"^#?([A-Z][A-Z0-9_]*)=",
            (DEPLOY / ".env.example").read_text(encoding="utf-8"),
            flags=re.MULTILINE,
        )
    )
    assert named
    assert named <= settings_variables() | deploy_only, named - settings_variables()


def test_the_secrets_script_output_is_accepted_by_production_settings(tmp_path: Path) -> None:
    copy = tmp_path / "deploy"
    shutil.copytree(DEPLOY, copy, ignore=shutil.ignore_patterns("secrets"))
    subprocess.run(["sh", str(copy / "make-secrets.sh")], check=True, capture_output=True)
    secrets_dir = copy / "secrets"
    assert stat.S_IMODE(secrets_dir.stat().st_mode) == 0o700
    # Running it again must not replace a single key.
    before = (secrets_dir / "master_key").read_bytes()
    again = subprocess.run(["sh", str(copy / "make-secrets.sh")], capture_output=True, check=False)
    assert again.returncode != 0
    assert (secrets_dir / "master_key").read_bytes() == before

    env = production_env(tmp_path)
    for variable, name in {
        "SECRET_KEY": "secret_key",
        "HIMAYA_MASTER_KEY": "master_key",
        "HIMAYA_BLIND_INDEX_KEY": "blind_index_key",
        "HIMAYA_AUDIT_SIGNING_KEY": "audit_signing_key",
    }.items():
        del env[variable]
        env[f"{variable}_FILE"] = str(secrets_dir / name)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_caddyfile_is_valid_for_caddy(tmp_path: Path) -> None:
    caddy = shutil.which("caddy")
    if caddy is None:
        pytest.skip("caddy is not installed (.ci/run installs it): Caddyfile not validated")
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path),
        "HIMAYA_DOMAIN": "himaya.example.org",
        "ACME_EMAIL": "ops@example.org",
        "HIMAYA_UPSTREAMS": "web-1:8000 web-2:8000",
    }
    result = subprocess.run(
        [caddy, "adapt", "--config", str(DEPLOY / "Caddyfile")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    upstreams = re.findall(r'"dial":"([^"]+)"', result.stdout)
    assert upstreams == ["web-1:8000", "web-2:8000"]
    assert '"uri":"/healthz"' in result.stdout


def test_the_ci_script_is_strict_bash() -> None:
    script = REPO_DIR / ".ci" / "run"
    assert script.stat().st_mode & stat.S_IXUSR
    text = script.read_text(encoding="utf-8")
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "\nset -euo pipefail\n" in text
    subprocess.run(["bash", "-n", str(script)], check=True)
