"""Restore drill: a backup taken with ``manage.py backup`` comes back with ``manage.py
restore`` into a new, empty database (the machine was lost), with the key and without it.

Case files are opened through the real services (canary names, phones and addresses), a
backup is taken, then one survivor is crypto-shredded (her erasure request arrived after
the backup). The backup is restored into a fresh database of the same kind (SQLite file or
PostgreSQL database) and read back by a fresh process (``world.py read``):

* with the keys (the key folder, backed up apart from the database): every sealed value of
  every survivor, perpetrator and case file opens, and her record is the same as before;
* the shredded survivor stays unreadable in the restored copy: the restore re-applies the
  shred ledger, so her wrapped data key — still in the backup — is destroyed again, her
  values read as erased and her blind-index entries are gone (she is not found by phone);
* without the keys (another key folder: a thief with the backup file only): nothing opens,
  and no canary value appears anywhere in the backup's bytes;
* the audit chain of the restored copy verifies.

The unit-level checks of backups and the ledger live in ``tests/core/test_shredding.py``;
this drill runs the commands an operator runs, against a whole case database, across
processes and databases.

How it was shown to fail (2026-11-29, on a copy of the tree, never on main, PostgreSQL):
with ``core.backups.restore_database`` no longer calling ``apply_shred_ledger`` (an empty
report instead), the drill failed on ``her values read again after the restore``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.asgi_server import scratch_database, server_env
from tests.drills.conftest import FULL, Drill
from tests.drills.world import CANARY_PREFIX

pytestmark = [pytest.mark.drill, pytest.mark.slow]

CASES = 60 if FULL else 8


def test_a_restored_backup_opens_with_the_key_only_and_keeps_shredded_survivors_erased(
    drill: Drill,
) -> None:
    seeded = drill.step("seed", str(CASES))["opened"]
    before = drill.step("read")
    assert before["failed"] == {}
    assert before["erased"] == 0
    backup = drill.tmp / "himaya.bak"
    assert "Backed up to" in drill.manage("backup", str(backup))
    victim = seeded[0]["survivor"]
    drill.step("shred", victim)

    # The machine is lost: a new, empty database, the same key folder, the backup file.
    target = scratch_database(drill.tmp, "restored")
    try:
        restored = Drill(
            database=target,
            env=server_env(target, Path(drill.env["HIMAYA_VAR_DIR"]), DATABASE_POOL="true"),
            tmp=drill.tmp / "restored",
        )
        restored.tmp.mkdir()
        restored.manage("migrate", "--noinput", "-v", "0")
        output = restored.manage("restore", str(backup), "--noinput")

        after = restored.step("read")
        assert after["failed"] == {}, after["failed"]
        assert victim in after["erased_survivors"], "her values read again after the restore"
        assert "Shred ledger re-applied: 1" in output, output
        assert victim not in after["names"]
        expected = {k: v for k, v in before["names"].items() if k != victim}
        assert after["names"] == expected
        assert after["opened"] > 0
        assert after["found_by_first_phone"] == []
        assert "intact" in restored.manage("verify_audit").lower()

        # Without the keys: another key folder, the same restored database.
        thief_env = server_env(target, drill.tmp / "no-keys")
        stolen = restored.step("read", env=thief_env)
        assert stolen["opened"] == 0, "opened without the key"
        assert stolen["names"] == {}
        assert sum(stolen["failed"].values()) > 0
    finally:
        target.drop()
    raw = backup.read_bytes()
    assert CANARY_PREFIX.encode() not in raw
    assert b"0661000001" not in raw
    assert b"+212661000001" not in raw
