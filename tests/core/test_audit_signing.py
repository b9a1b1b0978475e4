"""The checkpoint signing key lives outside the database, and checkpoints are made on a
schedule by a task or a command."""

from __future__ import annotations

import base64
import json
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.tasks import TaskResultStatus

from himaya.core.actor import SYSTEM
from himaya.core.audit import checkpoint_message, create_checkpoint, record, verify_chain
from himaya.core.models import AuditCheckpoint
from himaya.core.signing import (
    KEY_FILENAME,
    PUBLIC_KEY_FILENAME,
    key_id,
    load_signing_key,
    trusted_public_keys,
)
from himaya.core.tasks import audit_checkpoint


@pytest.fixture
def keys_dir(settings: object) -> Path:
    settings.HIMAYA_AUDIT_SIGNING_KEY = ""  # type: ignore[attr-defined]
    settings.HIMAYA_KEY_AUTOCREATE = True  # type: ignore[attr-defined]
    return Path(settings.KEYS_DIR)  # type: ignore[attr-defined]


def _raw_seed(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )


def _some_events(count: int = 3) -> None:
    for i in range(count):
        record(actor=SYSTEM, action="job.run", target_type="job", target_id=i)


def test_the_key_file_is_created_private_with_its_public_key_beside_it(keys_dir: Path) -> None:
    key = load_signing_key()

    private_file = keys_dir / KEY_FILENAME
    public_file = keys_dir / PUBLIC_KEY_FILENAME
    assert stat.S_IMODE(private_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(keys_dir.stat().st_mode) == 0o700
    assert public_file.read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    assert b"PRIVATE" not in public_file.read_bytes()
    # Loading again reads the same key: it is created once.
    assert load_signing_key().key_id == key.key_id
    assert list(trusted_public_keys()) == [key.key_id]
    assert [p.name for p in keys_dir.iterdir() if p.name.endswith(".tmp")] == []


def test_without_a_key_and_without_autocreate_it_says_what_to_set(
    keys_dir: Path, settings: object
) -> None:
    settings.HIMAYA_KEY_AUTOCREATE = False  # type: ignore[attr-defined]

    with pytest.raises(ImproperlyConfigured, match="HIMAYA_AUDIT_SIGNING_KEY"):
        load_signing_key()
    assert not (keys_dir / KEY_FILENAME).exists()
    # Verification never creates a key: with none, nothing is trusted.
    assert trusted_public_keys() == {}


def test_the_key_can_come_from_the_environment_instead_of_a_file(
    keys_dir: Path, settings: object
) -> None:
    private_key = Ed25519PrivateKey.generate()
    settings.HIMAYA_AUDIT_SIGNING_KEY = base64.b64encode(_raw_seed(private_key)).decode()  # type: ignore[attr-defined]
    keys_dir.mkdir(parents=True)

    key = load_signing_key()

    assert key.key_id == key_id(private_key.public_key())
    assert not (keys_dir / KEY_FILENAME).exists()
    # The public half is still published beside, for auditors.
    assert (keys_dir / PUBLIC_KEY_FILENAME).exists()


@pytest.mark.parametrize("value", ["not base64!", base64.b64encode(b"short").decode()])
def test_a_malformed_environment_key_is_refused(settings: object, value: str) -> None:
    settings.HIMAYA_AUDIT_SIGNING_KEY = value  # type: ignore[attr-defined]
    with pytest.raises(ImproperlyConfigured, match="HIMAYA_AUDIT_SIGNING_KEY"):
        load_signing_key()


def test_a_key_file_readable_by_others_is_refused(keys_dir: Path) -> None:
    load_signing_key()
    (keys_dir / KEY_FILENAME).chmod(0o644)

    with pytest.raises(ImproperlyConfigured, match="chmod 600"):
        load_signing_key()


def test_retired_public_keys_keep_old_checkpoints_verifiable(keys_dir: Path) -> None:
    old = load_signing_key()
    (keys_dir / PUBLIC_KEY_FILENAME).rename(keys_dir / "audit-signing-2026-01.ed25519.pub")
    (keys_dir / KEY_FILENAME).unlink()

    new = load_signing_key()

    assert set(trusted_public_keys()) == {old.key_id, new.key_id}


@pytest.mark.django_db
def test_the_task_signs_a_checkpoint(keys_dir: Path) -> None:
    _some_events()

    result = audit_checkpoint.enqueue()

    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value is not None
    assert result.return_value["created"] is True
    assert result.return_value["sequence"] == 3
    checkpoint = AuditCheckpoint.objects.get()
    assert checkpoint.key_id == load_signing_key().key_id
    assert verify_chain().checkpoints == 1
    # Nothing new: nothing to sign.
    assert audit_checkpoint.enqueue().return_value == {"created": False}


@pytest.mark.django_db
def test_the_command_prints_the_checkpoint_as_one_json_line(
    keys_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _some_events(4)

    call_command("audit_checkpoint")

    line = json.loads(capsys.readouterr().out)
    checkpoint = AuditCheckpoint.objects.get()
    assert line == {
        "sequence": 4,
        "head_hash": checkpoint.head_hash,
        "time": checkpoint.created_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "key_id": checkpoint.key_id,
        "signature": checkpoint.signature,
    }
    call_command("audit_checkpoint")
    assert capsys.readouterr().out == ""
    assert AuditCheckpoint.objects.count() == 1


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
@pytest.mark.django_db
def test_an_auditor_can_check_a_signature_with_openssl_alone(
    keys_dir: Path, tmp_path: Path
) -> None:
    _some_events()
    checkpoint = create_checkpoint()
    assert checkpoint is not None
    message = tmp_path / "message"
    message.write_bytes(
        checkpoint_message(
            sequence=checkpoint.sequence,
            head_hash=checkpoint.head_hash,
            created_at=checkpoint.created_at,
            key_id=checkpoint.key_id,
        )
    )
    signature = tmp_path / "signature"
    signature.write_bytes(bytes.fromhex(checkpoint.signature))

    def openssl_verify() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                "openssl",
                "pkeyutl",
                "-verify",
                "-pubin",
                "-inkey",
                str(keys_dir / PUBLIC_KEY_FILENAME),
                "-rawin",
                "-in",
                str(message),
                "-sigfile",
                str(signature),
            ],
            capture_output=True,
            text=True,
            check=False,
        )

    assert openssl_verify().returncode == 0
    message.write_bytes(message.read_bytes().replace(b'"sequence":3', b'"sequence":2'))
    assert openssl_verify().returncode != 0
