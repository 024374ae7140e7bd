"""Who and what the current request (or task) is about, for logs and audit entries."""

from __future__ import annotations

from contextvars import ContextVar

request_id: ContextVar[str] = ContextVar("request_id", default="-")
user_label: ContextVar[str] = ContextVar("user_label", default="-")
reseller_label: ContextVar[str] = ContextVar("reseller_label", default="-")
