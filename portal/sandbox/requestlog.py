"""The log of requests the carriers received, so tests can assert what the portal sent.

It lives in memory only (a restart empties it) and forgets its oldest entries once it
holds ``max_entries`` requests or ``max_body_bytes`` of logged bodies, so a long demo or a
benchmark cannot grow it without bound. Each body is kept up to ``MAX_BODY`` bytes.
Headers are not logged: they carry the carriers' credentials.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, fields
from typing import Any

MAX_BODY = 64 * 1024


@dataclass(slots=True)
class LoggedRequest:
    seq: int  # 1, 2, 3 ... in order of arrival since the sandbox started
    time: float  # Unix time the request arrived
    carrier: str
    account: str | None  # the sandbox account its credentials name, if any
    method: str
    path: str
    query: str
    status: int
    body: str
    duration_ms: float

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in FIELD_NAMES}


FIELD_NAMES = tuple(f.name for f in fields(LoggedRequest))


class RequestLog:
    def __init__(self, max_entries: int = 200_000, max_body_bytes: int = 64 * 1024 * 1024) -> None:
        self.entries: deque[LoggedRequest] = deque()
        self.max_entries = max_entries
        self.max_body_bytes = max_body_bytes
        self._body_bytes = 0
        self._seq = 0

    def record(self, **entry_fields: Any) -> None:
        self._seq += 1
        entry = LoggedRequest(seq=self._seq, **entry_fields)
        self.entries.append(entry)
        self._body_bytes += len(entry.body)
        while len(self.entries) > self.max_entries or self._body_bytes > self.max_body_bytes:
            self._body_bytes -= len(self.entries.popleft().body)

    def query(
        self, carrier: str | None = None, account: str | None = None, since: float | None = None
    ) -> list[dict[str, Any]]:
        return [
            entry.to_json()
            for entry in self.entries
            if (carrier is None or entry.carrier == carrier)
            and (account is None or entry.account == account)
            and (since is None or entry.time >= since)
        ]

    def clear(self) -> None:
        self.entries.clear()
        self._body_bytes = 0
