"""Accounts: staff users, their memberships in agencies, login security, and API tokens."""

from himaya.accounts.models.security import *  # noqa: F403
from himaya.accounts.models.tokens import *  # noqa: F403
from himaya.accounts.models.users import *  # noqa: F403
