"""Small TOTP helpers over django-otp's device: the base32 secret people type into an app,
and the code a device would accept now (for demo accounts and the test helpers)."""

from __future__ import annotations

from base64 import b32encode

from django_otp.oath import TOTP, hotp
from django_otp.plugins.otp_totp.models import TOTPDevice


def secret_base32(device: TOTPDevice) -> str:
    """The secret as authenticator apps expect it (RFC 4648 base32, no padding needed)."""
    return b32encode(device.bin_key).decode("ascii").rstrip("=")


def acceptable_code(device: TOTPDevice) -> str | None:
    """A code ``device`` accepts right now, or None if none is left in its window.

    django-otp refuses a code of a time step already used (replay protection), so when the
    current step's code was spent, the next step's code (inside the tolerance window) is
    given instead.
    """
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    now_t = int(totp.t())
    step = max(now_t, int(device.last_t) + 1)
    if step > now_t + int(device.tolerance):
        return None
    code = int(hotp(device.bin_key, step, digits=device.digits))
    return f"{code:0{int(device.digits)}d}"
