"""Names of the values the accounts app keeps in a session. Timestamps are Unix seconds
(floats) so that tests and tools can move time by editing them in the stored session."""

from __future__ import annotations

#: When the second factor completed the sign-in (absolute timeout counts from here).
AUTH_AT = "himaya_auth_at"
#: Last request seen (idle timeout counts from here).
SEEN_AT = "himaya_seen_at"
#: Last time the person proved their second factor (sign-in or step-up).
OTP_AT = "himaya_otp_at"
#: The membership (user x agency x role) the person acts as.
MEMBERSHIP_ID = "himaya_membership_id"

#: Between the password step and the second factor: who, since when, and where to go next.
PENDING_USER_ID = "himaya_pending_user_id"
PENDING_AT = "himaya_pending_at"
PENDING_NEXT = "himaya_pending_next"

#: A one-shot notice for the sign-in page ("expired", "signed_out", "restart").
NOTICE = "himaya_login_notice"
