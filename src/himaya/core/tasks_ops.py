"""Operational tasks: small, harmless jobs that prove the task pipeline end to end.

``ping_task`` touches no survivor data. Operators enqueue it after a deployment (or the test
suite does) to see that a worker is running, that it can reach the database, and that its
result is stored: ``manage.py shell -c "from himaya.core.tasks_ops import ping_task;
print(ping_task.enqueue(echo='deploy').id)"`` and then look the result up by id.
"""

from __future__ import annotations

from django.tasks import task
from django.utils import timezone


@task()
def ping_task(*, echo: str = "ping") -> dict[str, str]:
    """Return ``echo`` with the worker's clock, so a stored result shows when it ran."""
    return {"echo": echo, "ran_at": timezone.now().isoformat()}
