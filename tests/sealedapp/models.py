"""Stand-ins for the records later apps will seal: a subject with her own data key (like a
survivor), a note reaching her key through a relation, and an agency-like record."""

from __future__ import annotations

import uuid
from typing import ClassVar

from django.db import models

from himaya.core.fields import SealedCharField, SealedJSONField, SealedTextField
from himaya.core.models import DataKey

# The app is installed only under HIMAYA_ENV=test, while `make lint` runs mypy with the
# development settings: the attributes the django-stubs plugin would add are spelled out.


class Person(models.Model):
    objects: ClassVar[models.Manager[Person]]
    data_key_id: uuid.UUID

    data_key = models.ForeignKey(DataKey, on_delete=models.PROTECT, related_name="+")
    #: Not sealed on purpose: the canary test's positive control.
    label = models.CharField(max_length=100, blank=True, default="")
    full_name = SealedCharField(max_length=200, subject="data_key")
    phone = SealedCharField(max_length=32, subject="data_key", null=True, blank=True)
    cin = SealedCharField(max_length=16, subject="data_key", null=True, blank=True)
    narrative = SealedTextField(subject="data_key", blank=True, default="")
    details = SealedJSONField(subject="data_key", null=True, blank=True)

    def __str__(self) -> str:
        return f"Person {self.pk}"


class Note(models.Model):
    objects: ClassVar[models.Manager[Note]]
    person_id: int

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="notes")
    body = SealedTextField(subject="person.data_key")

    def __str__(self) -> str:
        return f"Note {self.pk}"
