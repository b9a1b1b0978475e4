"""Background tasks of the core app.

``audit_checkpoint`` signs the audit chain's head. Production runs it every few minutes
(see docs/architecture/audit.md): by ``manage.py audit_checkpoint`` from cron or a systemd
timer, or by enqueueing this task for the ``db_worker``.
"""

from __future__ import annotations

from django.tasks import task

from himaya.core.audit import create_checkpoint


@task()
def audit_checkpoint() -> dict[str, object]:
    """Signs the current audit head; a no-op when nothing was appended since the last one.

    Returns the checkpoint (sequence, head hash, key id) for the stored task result: hashes
    and numbers only, nothing about any person.
    """
    checkpoint = create_checkpoint()
    if checkpoint is None:
        return {"created": False}
    return {
        "created": True,
        "sequence": checkpoint.sequence,
        "head_hash": checkpoint.head_hash,
        "key_id": checkpoint.key_id,
    }
