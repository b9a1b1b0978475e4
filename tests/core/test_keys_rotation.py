"""Master key rotation: every data key re-wrapped, resumable, old versions retired last."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from himaya.core import keystore
from himaya.core.keystore import (
    encode_secret,
    generate_secret,
    get_keyring,
    keyring_path,
    master_key_id,
    reset_caches,
)
from himaya.core.models import DataKey
from himaya.core.models.audit import AuditEvent
from tests.sealedapp.factories import fresh, make_person
from tests.sealedapp.models import Person

pytestmark = pytest.mark.django_db


def run(*args: Any, **options: Any) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


def people(count: int) -> list[Person]:
    return [
        make_person(name=f"Person {index}", phone=f"06000000{index:02d}") for index in range(count)
    ]


def key_versions() -> set[str]:
    return set(DataKey.objects.values_list("master_key_id", flat=True))


def assert_all_readable(persons: list[Person]) -> None:
    reset_caches()
    for index, person in enumerate(persons):
        loaded = fresh(person)
        assert loaded.full_name == f"Person {index}"
        assert loaded.phone == f"06000000{index:02d}"


def test_rotate_keys_rewraps_every_data_key_and_keeps_values_readable() -> None:
    persons = people(5)
    old = get_keyring().current.kid
    output = run("rotate_keys", "--batch-size", "2")
    new = get_keyring().current.kid
    assert new != old
    assert "re-wrapped 2/5" in output
    assert "re-wrapped 5/5" in output
    assert "Rotation complete" in output
    assert key_versions() == {new}
    assert set(get_keyring().master_keys) == {old, new}
    assert_all_readable(persons)
    assert AuditEvent.objects.filter(action="masterkey.create", target_id=new).exists()
    assert AuditEvent.objects.filter(action="datakey.rewrap", target_id=new).count() == 3


def test_an_interrupted_rotation_resumes_without_adding_another_version() -> None:
    persons = people(3)
    run("rotate_keys", "--limit", "1")
    new = get_keyring().current.kid
    assert len(key_versions()) == 2
    output = run("rotate_keys")
    assert "Resuming: 2 data key(s)" in output
    assert get_keyring().current.kid == new
    assert len(get_keyring().master_keys) == 2
    assert key_versions() == {new}
    assert_all_readable(persons)


def test_the_old_master_key_is_retired_after_rotation_and_values_stay_readable() -> None:
    persons = people(3)
    old = get_keyring().current.kid
    run("rotate_keys")
    output = run("rotate_keys", "--retire")
    assert f"Retired master key version(s) {old}" in output
    document = json.loads(keyring_path().read_text(encoding="utf-8"))
    assert [entry["id"] for entry in document["master_keys"]] == [get_keyring().current.kid]
    assert_all_readable(persons)
    assert AuditEvent.objects.filter(action="masterkey.retire", target_id=old).exists()


def test_retiring_is_refused_while_a_data_key_still_uses_the_old_version() -> None:
    persons = people(2)
    old = get_keyring().current.kid
    run("rotate_keys", "--limit", "1")
    with pytest.raises(CommandError, match=f"{old} \\(1\\) still wrap data keys"):
        run("rotate_keys", "--retire")
    assert old in get_keyring().master_keys
    assert_all_readable(persons)


def test_shredded_keys_do_not_hold_up_a_rotation_or_a_retirement() -> None:
    from himaya.core.actor import SYSTEM
    from himaya.core.shredding import data_key_shred

    persons = people(2)
    data_key_shred(actor=SYSTEM, data_key=persons[1].data_key, reason="test")
    run("rotate_keys")
    run("rotate_keys", "--retire")
    assert fresh(persons[0]).full_name == "Person 0"


def test_a_process_started_before_the_rotation_picks_up_the_new_version() -> None:
    persons = people(1)
    stale = get_keyring()
    run("rotate_keys")
    # Another process still holds the keyring it loaded at start-up.
    keystore._cache.keyring = stale
    assert fresh(persons[0]).full_name == "Person 0"
    assert get_keyring().current.kid != stale.current.kid


def test_rotation_with_keys_from_the_environment(settings: Any) -> None:
    old, new = generate_secret(), generate_secret()
    index = encode_secret(generate_secret())
    settings.HIMAYA_MASTER_KEY = encode_secret(old)
    settings.HIMAYA_BLIND_INDEX_KEY = index
    persons = people(3)
    assert "put a new key first in HIMAYA_MASTER_KEY" in run("rotate_keys")
    settings.HIMAYA_MASTER_KEY = f"{encode_secret(new)},{encode_secret(old)}"
    assert "Rotation complete" in run("rotate_keys")
    assert key_versions() == {master_key_id(new)}
    with pytest.raises(CommandError, match="remove them from HIMAYA_MASTER_KEY"):
        run("rotate_keys", "--retire")
    settings.HIMAYA_MASTER_KEY = encode_secret(new)
    assert_all_readable(persons)
