"""Helpers for the encryption tests: people with their own data keys, read back fresh."""

from __future__ import annotations

from typing import Any

from himaya.core.actor import SYSTEM
from himaya.core.crypto import clear_data_key_cache, data_key_create
from himaya.core.models import DataKey
from tests.sealedapp.models import Note, Person


def make_person(
    *,
    name: str = "Fatima Zahra Benali",
    phone: str | None = None,
    cin: str | None = None,
    narrative: str = "",
    details: Any = None,
    label: str = "",
) -> Person:
    data_key = data_key_create(actor=SYSTEM, kind=DataKey.Kind.SURVIVOR)
    return Person.objects.create(
        data_key=data_key,
        full_name=name,
        phone=phone,
        cin=cin,
        narrative=narrative,
        details=details,
        label=label,
    )


def make_note(person: Person, body: str) -> Note:
    return Note.objects.create(person=person, body=body)


def fresh(person: Person) -> Person:
    """The person as a new request would see her: from the database, with a cold key cache."""
    clear_data_key_cache()
    return Person.objects.get(pk=person.pk)
