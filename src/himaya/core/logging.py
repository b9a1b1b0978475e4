"""Log records carry the request id, never identifying data."""

from __future__ import annotations

import logging

from himaya.core.request_context import current_request_id


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id() or "-"
        return True
