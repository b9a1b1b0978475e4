"""Core models: data keys for sealed fields (keys.py) and the audit chain (audit.py)."""

from himaya.core.models.audit import *  # noqa: F403
from himaya.core.models.keys import *  # noqa: F403
from himaya.core.models.submissions import *  # noqa: F403
