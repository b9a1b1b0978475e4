"""Form submissions already acted on: a retried POST (double click, a refresh after a slow
answer) finds its token here and changes nothing a second time."""

from __future__ import annotations

from django.db import models

__all__ = ["FormSubmission"]


class FormSubmission(models.Model):
    #: SHA-256 of who submitted and the form's one-time token: nothing about her.
    key = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"FormSubmission {self.pk}"
