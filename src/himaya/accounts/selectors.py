"""Reads about accounts: memberships and second-factor devices."""

from __future__ import annotations

from django.db.models import QuerySet
from django_otp.plugins.otp_totp.models import TOTPDevice

from himaya.accounts.models import Membership, User


def memberships_for_user(*, user: User) -> QuerySet[Membership]:
    """The active memberships a user may act as, in active agencies."""
    return (
        Membership.objects.filter(user=user, is_active=True, agency__is_active=True)
        .select_related("agency")
        .order_by("pk")
    )


def membership_for_user(*, user: User, membership_id: object) -> Membership | None:
    """The user's own active membership with this id, or None (never someone else's)."""
    try:
        pk = int(str(membership_id))
    except ValueError:
        return None
    return memberships_for_user(user=user).filter(pk=pk).first()


def has_confirmed_totp(*, user: User) -> bool:
    return bool(TOTPDevice.objects.filter(user=user, confirmed=True).exists())


def confirmed_totp_devices(*, user: User) -> QuerySet[TOTPDevice]:
    devices: QuerySet[TOTPDevice] = TOTPDevice.objects.filter(user=user, confirmed=True)
    return devices.order_by("pk")
