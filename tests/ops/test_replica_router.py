"""The replica router: statistics reads go to the standby, nothing else does.

The statistics app is not wired to it here (the suite runs on one database), so the router is
pointed at the geo app's real models to prove its rules.
"""

from __future__ import annotations

import pytest
from django.db import transaction

from himaya.core.db_routers import REPLICA_ALIAS, StatsReplicaRouter
from himaya.geo.models import Province, Region
from himaya.network.models import Agency


class GeoReplicaRouter(StatsReplicaRouter):
    replica_apps = frozenset({"geo"})


def test_statistics_is_the_only_app_read_from_the_replica_by_default() -> None:
    assert StatsReplicaRouter.replica_apps == frozenset({"stats"})
    assert StatsReplicaRouter().db_for_read(Region) is None


# No database marker: no connection, so no transaction is open.
def test_reads_of_a_replica_app_go_to_the_replica_outside_a_transaction() -> None:
    router = GeoReplicaRouter()
    assert router.db_for_read(Region) == REPLICA_ALIAS
    assert router.db_for_read(Province) == REPLICA_ALIAS
    assert router.db_for_read(Agency) is None


@pytest.mark.django_db
def test_reads_inside_a_transaction_on_the_primary_stay_on_the_primary() -> None:
    router = GeoReplicaRouter()
    with transaction.atomic():
        assert router.db_for_read(Region) is None


def test_writes_always_go_to_the_primary() -> None:
    assert GeoReplicaRouter().db_for_write(Region) is None


def test_the_replica_is_never_migrated() -> None:
    router = StatsReplicaRouter()
    assert router.allow_migrate(REPLICA_ALIAS, "stats") is False
    assert router.allow_migrate("default", "stats") is True


def test_objects_from_primary_and_replica_may_be_related() -> None:
    region, province = Region(), Province()
    region._state.db, province._state.db = REPLICA_ALIAS, "default"
    assert StatsReplicaRouter().allow_relation(region, province) is True
    province._state.db = "elsewhere"
    assert StatsReplicaRouter().allow_relation(region, province) is None
