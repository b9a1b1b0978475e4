"""System checks for the keys: run by every management command (the key check) and by
``manage.py check --database default`` and ``migrate`` (the database checks).

They turn a missing or wrong master key, or a shred that a restore undid, into one plain
message that says what to do -- never a traceback from cryptography.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import connections

from himaya.core.keystore import keyring_path, load_keyring

TAG = "himaya_keys"


@checks.register(TAG)
def check_master_key(
    app_configs: Sequence[AppConfig] | None = None,
    databases: Sequence[str] | None = None,
    **kwargs: Any,
) -> list[checks.CheckMessage]:
    """The master key and blind-index key can be loaded (and are well formed)."""
    from django.conf import settings

    try:
        load_keyring(create=False)
    except ImproperlyConfigured as exc:
        if settings.HIMAYA_KEY_AUTOCREATE and not keyring_path().exists():
            missing = not (getattr(settings, "HIMAYA_MASTER_KEY", "") or "").strip()
            if missing:
                return []  # created on first use (development and tests)
        return [checks.Error(str(exc), id="himaya.E010")]
    return []


def _table_exists(alias: str) -> bool:
    from himaya.core.models import DataKey

    connection = connections[alias]
    with connection.cursor() as cursor:
        return DataKey._meta.db_table in connection.introspection.table_names(cursor)


@checks.register(TAG, checks.Tags.database)
def check_data_keys(
    app_configs: Sequence[AppConfig] | None = None,
    databases: Sequence[str] | None = None,
    **kwargs: Any,
) -> list[checks.CheckMessage]:
    """The database's keys open with this keyring, and no shredded subject came back."""
    from himaya.core.crypto import master_key_versions_in_use, wrong_master_key_message
    from himaya.core.keystore import get_keyring
    from himaya.core.shredding import (
        live_keys_in_ledger,
        read_ledger,
        shredded_keys_missing_from_ledger,
    )

    if not databases or "default" not in databases or not _table_exists("default"):
        return []
    try:
        keyring = get_keyring()
    except ImproperlyConfigured:
        return []  # check_master_key reports it
    errors: list[checks.CheckMessage] = []
    unknown = set(master_key_versions_in_use()) - set(keyring.master_keys)
    if unknown:
        errors.append(checks.Error(wrong_master_key_message(unknown, keyring), id="himaya.E011"))
    reading = read_ledger()
    live = live_keys_in_ledger(reading.shredded_ids)
    if live:
        errors.append(
            checks.Error(
                f"{len(live)} data key(s) listed in the shred ledger are still present in the "
                "database (was an older backup restored?). Run `manage.py apply_shred_ledger` "
                "before serving requests.",
                id="himaya.E012",
            )
        )
    unrecorded = shredded_keys_missing_from_ledger(reading.shredded_ids)
    if unrecorded:
        errors.append(
            checks.Warning(
                f"{len(unrecorded)} shredded data key(s) are missing from the shred ledger "
                f"{keyring_path().parent}; a restored backup would bring them back.",
                hint="Run `manage.py apply_shred_ledger` to record them.",
                id="himaya.W014",
            )
        )
    for problem in reading.problems:
        errors.append(
            checks.Error(
                f"The shred ledger has been tampered with: {problem}.",
                hint="Compare it with its backup; never edit the ledger by hand.",
                id="himaya.E013",
            )
        )
    return errors
