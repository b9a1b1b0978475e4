"""Database backup and restore, and the shred ledger re-applied after every restore.

* SQLite: SQLite's online backup API copies a consistent snapshot while the site runs, and
  restores by copying a backup file back into the live database.
* PostgreSQL: ``pg_dump --format=custom`` and ``pg_restore --clean --single-transaction``.

Backups hold sealed values and *wrapped* data keys only: without the master key they reveal
nothing. They never contain the keys or the shred ledger, which live in KEYS_DIR and are
backed up separately (see docs/architecture/encryption.md). A restore is only finished once
the shred ledger has been re-applied: a backup taken before a subject was erased still holds
her wrapped key.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess  # nosec B404 -- pg_dump/pg_restore only, fixed arguments, no shell
from pathlib import Path

from django.db import connections
from django.utils import timezone

from himaya.core import audit
from himaya.core.actor import Actor
from himaya.core.crypto import master_key_versions_in_use, wrong_master_key_message
from himaya.core.keystore import get_keyring, reset_caches
from himaya.core.shredding import ShredReport, apply_shred_ledger

__all__ = ["BackupError", "backup_database", "restore_database"]

_SQLITE_MAGIC = b"SQLite format 3\x00"
_PG_CUSTOM_MAGIC = b"PGDMP"


class BackupError(Exception):
    """A backup or restore could not be done; the message says why (no personal data)."""


def _stamp() -> str:
    return timezone.now().strftime("%Y%m%dT%H%M%SZ")


def _private_empty_file(path: Path, *, overwrite: bool) -> None:
    if path.exists() and not overwrite:
        raise BackupError(f"{path} already exists; choose another name or pass --overwrite.")
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _pg_env(settings_dict: dict[str, object]) -> dict[str, str]:
    env = dict(os.environ)
    for var, key in (
        ("PGHOST", "HOST"),
        ("PGPORT", "PORT"),
        ("PGUSER", "USER"),
        ("PGPASSWORD", "PASSWORD"),
        ("PGDATABASE", "NAME"),
    ):
        value = settings_dict.get(key)
        if value:
            env[var] = str(value)
    return env


def _run(program: str, arguments: list[str], env: dict[str, str]) -> None:
    executable = shutil.which(program)
    if executable is None:
        raise BackupError(
            f"{program} is not installed (Debian: apt-get install postgresql-client)."
        )
    result = subprocess.run(  # noqa: S603  # nosec B603 -- fixed program, arguments built here
        [executable, *arguments], env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise BackupError(f"{program} failed: {result.stderr.strip()[-2000:]}")


def backup_database(*, actor: Actor, path: Path, overwrite: bool = False) -> Path:
    """Write a consistent backup of the default database to ``path`` (mode 0600)."""
    connection = connections["default"]
    _private_empty_file(path, overwrite=overwrite)
    try:
        if connection.vendor == "sqlite":
            connection.ensure_connection()
            target = sqlite3.connect(path)
            try:
                connection.connection.backup(target)
            finally:
                target.close()
        elif connection.vendor == "postgresql":
            _run(
                "pg_dump",
                ["--format=custom", "--no-owner", "--no-privileges", f"--file={path}"],
                _pg_env(connection.settings_dict),
            )
        else:
            raise BackupError(f"Backups of {connection.vendor} databases are not supported.")
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    audit.record(
        actor=actor,
        action="backup.create",
        target_type="core.backup",
        target_id=_stamp(),
        metadata={"engine": connection.vendor, "bytes": path.stat().st_size},
    )
    return path


def _check_sqlite_keys(path: Path) -> None:
    """Refuse before overwriting anything when this keyring cannot open the backup's keys."""
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        kids = {
            row[0]
            for row in source.execute(
                "SELECT DISTINCT master_key_id FROM core_datakey WHERE wrapped_key IS NOT NULL"
            )
        }
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a readable Himaya backup ({exc}).") from None
    finally:
        source.close()
    keyring = get_keyring()
    unknown = kids - set(keyring.master_keys)
    if unknown:
        raise BackupError(wrong_master_key_message(unknown, keyring))


def restore_database(*, actor: Actor, path: Path) -> ShredReport:
    """Replace the default database with the backup at ``path``, then re-apply the shred ledger.

    Stop the web and task processes first. Returns what the shred ledger changed.
    """
    connection = connections["default"]
    if connection.in_atomic_block:
        raise BackupError("A restore cannot run inside a transaction.")
    try:
        with path.open("rb") as handle:
            magic = handle.read(16)
    except OSError as exc:
        raise BackupError(f"Cannot read {path}: {exc.strerror}.") from None
    if connection.vendor == "sqlite":
        if magic != _SQLITE_MAGIC:
            raise BackupError(f"{path} is not an SQLite backup.")
        _check_sqlite_keys(path)
        connection.ensure_connection()
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            source.backup(connection.connection)
        finally:
            source.close()
    elif connection.vendor == "postgresql":
        if not magic.startswith(_PG_CUSTOM_MAGIC):
            raise BackupError(f"{path} is not a pg_dump custom-format backup.")
        env = _pg_env(connection.settings_dict)
        connection.close()
        _run(
            "pg_restore",
            [
                "--clean",
                "--if-exists",
                "--no-owner",
                "--no-privileges",
                "--single-transaction",
                "--exit-on-error",
                f"--dbname={env.get('PGDATABASE', '')}",
                str(path),
            ],
            env,
        )
    else:
        raise BackupError(f"Restoring {connection.vendor} databases is not supported.")
    # Unwrapped keys cached before the restore may belong to a different history.
    reset_caches()
    report = apply_shred_ledger(actor=actor)
    keyring = get_keyring()
    unknown = set(master_key_versions_in_use()) - set(keyring.master_keys)
    if unknown:
        raise BackupError(
            "The backup was restored, but its data keys cannot be opened: "
            + wrong_master_key_message(unknown, keyring)
        )
    audit.record(
        actor=actor,
        action="backup.restore",
        target_type="core.backup",
        target_id=_stamp(),
        metadata={"engine": connection.vendor, "reshredded": report.reapplied},
    )
    return report
