"""Every log line carries the request id, the user and the reseller; secrets never."""

from __future__ import annotations

import logging

from . import context


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = context.request_id.get()
        record.user = context.user_label.get()
        record.reseller = context.reseller_label.get()
        return True
