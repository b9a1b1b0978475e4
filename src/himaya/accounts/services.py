"""Every write of the accounts app: sign-in steps, sessions, accounts, memberships, devices.

Each write records its audit event in the same transaction. Audit metadata never holds a
password, a one-time code or a TOTP secret. Sign-in failures are committed before the error
is raised, so that an exception cannot roll back the count that protects the account.
"""

from __future__ import annotations

import time
from datetime import timedelta
from importlib import import_module

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from himaya.accounts import policies, selectors, session_keys, throttle
from himaya.accounts.actors import actor_for_user
from himaya.accounts.errors import CodeInvalid, CredentialsInvalid, LoginLocked
from himaya.accounts.models import Membership, User, UserSession
from himaya.accounts.roles import Role
from himaya.core import audit
from himaya.core.actor import SYSTEM, Actor
from himaya.core.errors import InvalidInput, PermissionDenied
from himaya.network.models import Agency

_MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
_DEVICE_NAME = "authenticator"


def _record(
    *,
    actor: Actor,
    action: str,
    target_type: str,
    target_id: int | str | None,
    metadata: dict[str, object] | None = None,
) -> None:
    audit.record(
        actor=actor, action=action, target_type=target_type, target_id=target_id, metadata=metadata
    )


def _require_account_manager(actor: Actor) -> None:
    if not policies.can_manage_accounts(actor):
        raise PermissionDenied


def _locked_error() -> LoginLocked:
    return LoginLocked(
        LoginLocked.default_message % {"minutes": throttle.lockout_minutes()},
    )


def _refuse_if_locked(*, username: str, address: str, stage: str, user_id: int | None) -> None:
    scope = throttle.locked_scope(username=username, address=address)
    if scope is None:
        return
    with transaction.atomic():
        _record(
            actor=SYSTEM,
            action="auth.login_refused_locked",
            target_type="user",
            target_id=user_id,
            metadata={"stage": stage, "scope": scope, "client": address},
        )
    raise _locked_error()


def _count_failure(*, username: str, address: str, stage: str, user_id: int | None) -> None:
    """Count a failure and record it (committed), then raise the matching error."""
    with transaction.atomic():
        newly_locked = throttle.register_failure(username=username, address=address)
        _record(
            actor=SYSTEM,
            action="auth.login_failed",
            target_type="user",
            target_id=user_id,
            metadata={"stage": stage, "client": address},
        )
        if newly_locked is not None:
            _record(
                actor=SYSTEM,
                action="auth.locked",
                target_type="user",
                target_id=user_id,
                metadata={"scope": newly_locked, "client": address},
            )
    if newly_locked is not None:
        raise _locked_error()


# --- Sign-in ------------------------------------------------------------------------------


def login_verify_password(
    *, request: HttpRequest | None, username: str, password: str, client_address: str
) -> User:
    """First step. Returns the user, or raises ``CredentialsInvalid`` / ``LoginLocked``.

    Unknown username, wrong password and disabled account are one and the same error, and
    Django's backend runs the password hasher for unknown names too, so neither the words
    nor the timing tell them apart. The lock is checked before the password, so a correct
    password does not get through a lock.
    """
    known_id = User.objects.filter(username=username).values_list("pk", flat=True).first()
    _refuse_if_locked(username=username, address=client_address, stage="password", user_id=known_id)
    user = authenticate(request, username=username, password=password)
    if not isinstance(user, User) or not user.is_active:
        _count_failure(
            username=username, address=client_address, stage="password", user_id=known_id
        )
        raise CredentialsInvalid
    return user


def _match_device(*, user: User, code: str) -> TOTPDevice | None:
    # Rows are locked while verifying so a code cannot be used twice by parallel requests
    # (django-otp remembers the last accepted time step).
    with transaction.atomic():
        for device in selectors.confirmed_totp_devices(user=user).select_for_update():
            if device.verify_token(code):
                return device
    return None


def login_verify_totp(*, user: User, code: str, client_address: str) -> TOTPDevice:
    """Second step against the user's confirmed devices; failures count like passwords."""
    username = user.get_username()
    _refuse_if_locked(username=username, address=client_address, stage="totp", user_id=user.pk)
    device = _match_device(user=user, code=code)
    if device is None:
        _count_failure(username=username, address=client_address, stage="totp", user_id=user.pk)
        raise CodeInvalid
    return device


@transaction.atomic
def totp_enrol_begin(*, user: User) -> None:
    """Forget any half-finished enrolment, so each sign-in attempt gets a fresh secret.

    Someone who once saw an unconfirmed secret (over a shoulder, or with a stolen password)
    cannot wait for the owner to confirm that same secret.
    """
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()


@transaction.atomic
def totp_enrol_device(*, user: User) -> TOTPDevice:
    """The unconfirmed device being enrolled, created on first use."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=_DEVICE_NAME, confirmed=False)
    return device


def totp_enrol_confirm(*, user: User, code: str, client_address: str) -> TOTPDevice:
    """Confirm the device being enrolled with a code it produced."""
    username = user.get_username()
    _refuse_if_locked(username=username, address=client_address, stage="enrol", user_id=user.pk)
    if selectors.has_confirmed_totp(user=user):
        # Enrolment is only for a first device; adding one needs an administrator reset.
        raise PermissionDenied
    with transaction.atomic():
        device = (
            TOTPDevice.objects.select_for_update()
            .filter(user=user, confirmed=False)
            .order_by("pk")
            .first()
        )
        verified = device is not None and device.verify_token(code)
        if device is not None and verified:
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            _record(
                actor=actor_for_user(user),
                action="auth.totp_enrolled",
                target_type="user",
                target_id=user.pk,
                metadata={"client": client_address},
            )
            return device
    _count_failure(username=username, address=client_address, stage="enrol", user_id=user.pk)
    raise CodeInvalid


# --- Sessions -----------------------------------------------------------------------------


def session_start(
    *, request: HttpRequest, user: User, device: TOTPDevice, client_address: str
) -> None:
    """Both factors passed: sign in, bind the device, register the session, audit."""
    for key in (session_keys.PENDING_USER_ID, session_keys.PENDING_AT, session_keys.PENDING_NEXT):
        request.session.pop(key, None)
    auth_login(request, user, backend=_MODEL_BACKEND)  # new session key: no fixation
    otp_login(request, device)
    now = time.time()
    request.session[session_keys.AUTH_AT] = now
    request.session[session_keys.SEEN_AT] = now
    request.session[session_keys.OTP_AT] = now
    memberships = list(selectors.memberships_for_user(user=user)[:2])
    membership = memberships[0] if len(memberships) == 1 else None
    if membership is not None:
        request.session[session_keys.MEMBERSHIP_ID] = membership.pk
    if request.session.session_key is None:
        request.session.save()
    session_key = str(request.session.session_key)
    with transaction.atomic():
        # Rows older than the absolute timeout belong to sessions that cannot be alive.
        UserSession.objects.filter(
            user=user,
            created_at__lt=timezone.now()
            - timedelta(seconds=int(settings.SESSION_ABSOLUTE_SECONDS)),
        ).delete()
        UserSession.objects.update_or_create(session_key=session_key, defaults={"user": user})
        throttle.clear_account(username=user.get_username())
        _record(
            actor=actor_for_user(user, membership=membership, recently_verified=True),
            action="auth.login",
            target_type="user",
            target_id=user.pk,
            metadata={"client": client_address},
        )


_SESSION_END_ACTIONS = {"signed_out": "auth.logout", "expired": "auth.session_expired"}


def session_end(*, request: HttpRequest, reason: str) -> None:
    """End this session on the server (``reason``: ``signed_out``, ``expired`` or
    ``restart``; the sign-in page shows the matching notice).

    The session row is deleted, not just the cookie: the old cookie no longer works.
    """
    session_key = request.session.session_key
    user_id = request.session.get("_auth_user_id")
    user = getattr(request, "user", None)
    actor = actor_for_user(user) if isinstance(user, User) else SYSTEM
    auth_logout(request)  # flushes the session row and issues a fresh key
    with transaction.atomic():
        if session_key:
            UserSession.objects.filter(session_key=session_key).delete()
        if user_id is not None:
            _record(
                actor=actor,
                action=_SESSION_END_ACTIONS.get(reason, "auth.session_ended"),
                target_type="user",
                target_id=user_id,
            )
    request.session[session_keys.NOTICE] = reason


def _end_sessions(*, user: User) -> int:
    """Delete every registered session of ``user`` from the session store."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    keys = list(UserSession.objects.filter(user=user).values_list("session_key", flat=True))
    for key in keys:
        store(session_key=key).delete(key)
    UserSession.objects.filter(user=user).delete()
    return len(keys)


def step_up_verify(*, request: HttpRequest, user: User, code: str, client_address: str) -> None:
    """Prove the second factor again; sensitive actions need it to be recent."""
    device = login_verify_totp(user=user, code=code, client_address=client_address)
    otp_login(request, device)
    request.session[session_keys.OTP_AT] = time.time()
    with transaction.atomic():
        _record(
            actor=actor_for_user(user, recently_verified=True),
            action="auth.step_up",
            target_type="user",
            target_id=user.pk,
        )


def membership_choose(*, request: HttpRequest, user: User, membership_id: object) -> Membership:
    """Act as one of one's own active memberships (kept in the session)."""
    membership = selectors.membership_for_user(user=user, membership_id=membership_id)
    if membership is None:
        raise InvalidInput(_("Choose one of your roles."))
    request.session[session_keys.MEMBERSHIP_ID] = membership.pk
    with transaction.atomic():
        _record(
            actor=actor_for_user(user, membership=membership),
            action="auth.acting_as",
            target_type="membership",
            target_id=membership.pk,
            metadata={"role": membership.role, "agency_id": membership.agency_id},
        )
    return membership


# --- Accounts (system administrators) -----------------------------------------------------


@transaction.atomic
def user_create(
    *,
    actor: Actor,
    username: str,
    password: str | None,
    display_name: str = "",
    preferred_language: str = "ar",
) -> User:
    """Create a staff account. ``password=None`` leaves it unusable until one is set."""
    _require_account_manager(actor)
    if User.objects.filter(username=username).exists():
        raise InvalidInput(_("This username is already taken."))
    user = User(username=username, display_name=display_name, preferred_language=preferred_language)
    if password is None:
        user.set_unusable_password()
    else:
        user.set_password(password)
    user.save()
    _record(actor=actor, action="account.created", target_type="user", target_id=user.pk)
    return user


@transaction.atomic
def user_update(*, actor: Actor, user: User, display_name: str, preferred_language: str) -> User:
    _require_account_manager(actor)
    user.display_name = display_name
    user.preferred_language = preferred_language
    user.save(update_fields=["display_name", "preferred_language"])
    _record(actor=actor, action="account.updated", target_type="user", target_id=user.pk)
    return user


@transaction.atomic
def user_set_password(*, actor: Actor, user: User, password: str) -> User:
    """Set a new password and end the account's sessions (it may have been compromised)."""
    _require_account_manager(actor)
    user.set_password(password)
    user.save(update_fields=["password"])
    ended = _end_sessions(user=user)
    _record(
        actor=actor,
        action="account.password_set",
        target_type="user",
        target_id=user.pk,
        metadata={"sessions_ended": ended},
    )
    return user


@transaction.atomic
def user_disable(*, actor: Actor, user: User) -> User:
    """Disable an account and end all its sessions on the server, immediately."""
    _require_account_manager(actor)
    if actor.user_id is not None and actor.user_id == user.pk:
        raise PermissionDenied(_("You cannot disable your own account."))
    locked = User.objects.select_for_update().get(pk=user.pk)
    if locked.is_active:
        locked.is_active = False
        locked.save(update_fields=["is_active"])
    ended = _end_sessions(user=locked)
    _record(
        actor=actor,
        action="account.disabled",
        target_type="user",
        target_id=locked.pk,
        metadata={"sessions_ended": ended},
    )
    user.is_active = False
    return locked


@transaction.atomic
def user_enable(*, actor: Actor, user: User) -> User:
    _require_account_manager(actor)
    locked = User.objects.select_for_update().get(pk=user.pk)
    if not locked.is_active:
        locked.is_active = True
        locked.save(update_fields=["is_active"])
    _record(actor=actor, action="account.enabled", target_type="user", target_id=locked.pk)
    user.is_active = True
    return locked


@transaction.atomic
def totp_reset(*, actor: Actor, user: User) -> None:
    """Remove the account's second-factor devices (lost phone). The next sign-in enrols a
    new one; existing sessions end, since they were proved with the old device."""
    _require_account_manager(actor)
    TOTPDevice.objects.filter(user=user).delete()
    ended = _end_sessions(user=user)
    _record(
        actor=actor,
        action="auth.totp_reset",
        target_type="user",
        target_id=user.pk,
        metadata={"sessions_ended": ended},
    )


@transaction.atomic
def totp_provision(*, actor: Actor, user: User, key_hex: str | None = None) -> TOTPDevice:
    """Give an account a confirmed TOTP device directly (demo accounts, test helpers).

    Real staff enrol their own device at first sign-in; this exists for seeding, where the
    secret is printed for people trying the software.
    """
    _require_account_manager(actor)
    device = TOTPDevice(user=user, name=_DEVICE_NAME, confirmed=True)
    if key_hex is not None:
        device.key = key_hex
    device.full_clean(exclude=["user"])
    device.save()
    _record(actor=actor, action="auth.totp_provisioned", target_type="user", target_id=user.pk)
    return device


@transaction.atomic
def membership_grant(*, actor: Actor, user: User, agency: Agency, role: str) -> Membership:
    """Give ``user`` ``role`` in ``agency`` (re-activates a revoked identical membership)."""
    _require_account_manager(actor)
    if role not in Role.values:
        raise InvalidInput(_("Unknown role."))
    membership, created = Membership.objects.select_for_update().get_or_create(
        user=user, agency=agency, role=role
    )
    if not created and membership.is_active:
        return membership
    if not membership.is_active:
        membership.is_active = True
        membership.save(update_fields=["is_active"])
    _record(
        actor=actor,
        action="membership.granted",
        target_type="membership",
        target_id=membership.pk,
        metadata={"user_id": user.pk, "agency_id": agency.pk, "role": role},
    )
    return membership


@transaction.atomic
def membership_revoke(*, actor: Actor, membership: Membership) -> Membership:
    _require_account_manager(actor)
    if membership.is_active:
        membership.is_active = False
        membership.save(update_fields=["is_active"])
        _record(
            actor=actor,
            action="membership.revoked",
            target_type="membership",
            target_id=membership.pk,
            metadata={"user_id": membership.user_id, "agency_id": membership.agency_id},
        )
    return membership
