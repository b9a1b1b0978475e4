"""Statistics reads from a streaming replica, when production has one.

``DATABASE_REPLICA_URL`` names a read-only PostgreSQL hot standby (docs/deploy.md). Settings
then add it as the ``replica`` database and install :class:`StatsReplicaRouter`. Without the
variable there is one database and no router: development, tests and small deployments.
"""

from __future__ import annotations

from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model

REPLICA_ALIAS = "replica"


class StatsReplicaRouter:
    """Sends reads of the statistics app's models to the replica; everything else stays on
    the primary.

    Only statistics: dashboards and exports tolerate a replica a few seconds behind, and they
    are the heavy readers; a case file read right after its save does not tolerate lag, and
    sending it elsewhere would also split its audit trail from the read. A read made inside
    a transaction on the primary stays there too, because it may feed a write (a rollup's
    read-modify-write) and must see the current row. Raw SQL bypasses routers: statistics
    code that uses a cursor should take ``connections[router.db_for_read(Model)]``.
    """

    replica_apps: frozenset[str] = frozenset({"stats"})

    def db_for_read(self, model: type[Model], **hints: Any) -> str | None:
        if model._meta.app_label not in self.replica_apps:
            return None
        if connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return None
        return REPLICA_ALIAS

    def db_for_write(self, model: type[Model], **hints: Any) -> str | None:
        return None  # the default: the primary, always

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool | None:
        # Both aliases are the same data (the replica is a physical copy), so an object read
        # from one may point at an object read from the other.
        both = {obj1._state.db, obj2._state.db}
        return True if both <= {DEFAULT_DB_ALIAS, REPLICA_ALIAS} else None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        # The standby replays the primary's WAL, schema included; it is never migrated itself.
        return db != REPLICA_ALIAS
