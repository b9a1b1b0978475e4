"""The master keyring: creating it, finding it, and the plain errors when it is wrong."""

from __future__ import annotations

import base64
import json
import os
import stat
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError, SystemCheckError

from himaya.core.keystore import (
    encode_secret,
    generate_secret,
    get_keyring,
    keyring_path,
    master_key_id,
    reset_caches,
)
from tests.sealedapp.factories import fresh, make_person


def run(*args: Any, **options: Any) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


def use_environment_keys(settings: Any, *masters: bytes, index: bytes | None = None) -> None:
    settings.HIMAYA_MASTER_KEY = ",".join(encode_secret(m) for m in masters)
    settings.HIMAYA_BLIND_INDEX_KEY = encode_secret(index or generate_secret())


def test_init_keys_creates_a_private_key_file_once() -> None:
    output = run("init_keys")
    path = keyring_path()
    assert "Created the key file" in output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    content = path.read_bytes()
    document = json.loads(content)
    assert document["current"] == document["master_keys"][0]["id"]
    assert "exists" in run("init_keys")
    assert path.read_bytes() == content


def test_init_keys_needs_create_when_autocreate_is_off(settings: Any) -> None:
    settings.HIMAYA_KEY_AUTOCREATE = False
    with pytest.raises(CommandError, match="HIMAYA_MASTER_KEY"):
        run("init_keys")
    assert not keyring_path().exists()
    assert "Created the key file" in run("init_keys", "--create")


def test_init_keys_only_checks_keys_given_through_the_environment(settings: Any) -> None:
    master = generate_secret()
    use_environment_keys(settings, master)
    output = run("init_keys")
    assert master_key_id(master) in output
    assert not keyring_path().exists()


def test_init_keys_prints_a_fresh_key_for_the_environment() -> None:
    printed = run("init_keys", "--print-new-key").strip()
    assert len(base64.b64decode(printed)) == 32
    assert not keyring_path().exists()


@pytest.mark.django_db
def test_a_missing_master_key_is_a_clear_error_naming_the_variable(settings: Any) -> None:
    settings.HIMAYA_KEY_AUTOCREATE = False
    with pytest.raises(ImproperlyConfigured) as caught:
        make_person(name="Nobody")
    message = str(caught.value)
    assert "HIMAYA_MASTER_KEY" in message
    assert str(keyring_path()) in message
    assert "init_keys" in message


def test_the_system_check_reports_a_missing_master_key(settings: Any) -> None:
    settings.HIMAYA_KEY_AUTOCREATE = False
    with pytest.raises(SystemCheckError, match=r"himaya\.E010.*HIMAYA_MASTER_KEY"):
        run("check")


def test_the_system_check_accepts_a_key_that_will_be_created_on_first_use() -> None:
    assert django_settings.HIMAYA_KEY_AUTOCREATE
    assert "no issues" in run("check")


def test_a_malformed_master_key_names_the_variable(settings: Any) -> None:
    settings.HIMAYA_MASTER_KEY = "not a key"
    settings.HIMAYA_BLIND_INDEX_KEY = encode_secret(generate_secret())
    with pytest.raises(ImproperlyConfigured, match="HIMAYA_MASTER_KEY must hold base64"):
        get_keyring()


def test_a_short_master_key_is_refused(settings: Any) -> None:
    use_environment_keys(settings, os.urandom(16))
    with pytest.raises(ImproperlyConfigured, match="HIMAYA_MASTER_KEY"):
        get_keyring()


def test_a_master_key_without_a_blind_index_key_names_the_missing_variable(settings: Any) -> None:
    settings.HIMAYA_MASTER_KEY = encode_secret(generate_secret())
    settings.HIMAYA_BLIND_INDEX_KEY = ""
    with pytest.raises(ImproperlyConfigured, match="HIMAYA_BLIND_INDEX_KEY"):
        get_keyring()


def test_a_key_file_readable_by_other_users_is_refused() -> None:
    get_keyring()
    path = keyring_path()
    path.chmod(0o644)
    reset_caches()
    with pytest.raises(ImproperlyConfigured, match="chmod 600"):
        get_keyring()


def test_a_damaged_key_file_is_a_clear_error() -> None:
    get_keyring()
    path = keyring_path()
    path.write_text("{not json", encoding="utf-8")
    reset_caches()
    with pytest.raises(ImproperlyConfigured, match=r"cannot be used: it is not valid JSON"):
        get_keyring()


def test_a_key_file_whose_key_does_not_match_its_id_is_refused() -> None:
    get_keyring()
    path = keyring_path()
    document = json.loads(path.read_text(encoding="utf-8"))
    document["master_keys"][0]["key"] = encode_secret(generate_secret())
    path.write_text(json.dumps(document), encoding="utf-8")
    reset_caches()
    with pytest.raises(ImproperlyConfigured, match="does not match its id"):
        get_keyring()


@pytest.mark.django_db
def test_keys_from_the_environment_seal_and_open_without_any_key_file(settings: Any) -> None:
    use_environment_keys(settings, generate_secret())
    person = make_person(name="Env Keys")
    assert fresh(person).full_name == "Env Keys"
    assert not Path(settings.KEYS_DIR, "keyring.json").exists()


@pytest.mark.django_db
def test_the_wrong_master_key_is_a_clear_error_not_a_decryption_traceback(settings: Any) -> None:
    person = make_person(name="Sealed Under The File Key")
    use_environment_keys(settings, generate_secret())
    with pytest.raises(ImproperlyConfigured) as caught:
        _ = fresh(person).full_name
    assert "HIMAYA_MASTER_KEY is wrong for this database" in str(caught.value)
    assert caught.value.__cause__ is None


@pytest.mark.django_db
def test_a_master_key_with_the_right_id_but_wrong_bytes_is_a_clear_error() -> None:
    from himaya.core.models import DataKey

    person = make_person(name="Tampered Key Row")
    row = DataKey.objects.get(pk=person.data_key_id)
    assert row.wrapped_key is not None
    wrapped = bytearray(row.wrapped_key)
    wrapped[-1] ^= 0x01
    DataKey.objects.filter(pk=row.pk).update(wrapped_key=bytes(wrapped))
    with pytest.raises(ImproperlyConfigured, match="does not open with that key") as caught:
        _ = fresh(person).full_name
    assert caught.value.__suppress_context__


@pytest.mark.django_db
def test_the_database_check_reports_data_keys_the_keyring_cannot_open(settings: Any) -> None:
    make_person(name="Someone")
    use_environment_keys(settings, generate_secret())
    with pytest.raises(SystemCheckError, match=r"himaya\.E011.*HIMAYA_MASTER_KEY"):
        run("check", "--database", "default")


@pytest.mark.django_db
def test_the_database_check_passes_with_the_right_keys() -> None:
    make_person(name="Someone")
    assert "no issues" in run("check", "--database", "default")
