"""The log of requests the carriers received, so tests can assert what the portal sent."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

MAX_BODY = 64 * 1024


@dataclass
class LoggedRequest:
    seq: int
    time: float  # Unix time the request arrived
    carrier: str
    account: str | None
    method: str
    path: str
    query: str
    status: int
    body: str
    duration_ms: float


class RequestLog:
    def __init__(self, maxlen: int = 200_000) -> None:
        self.entries: deque[LoggedRequest] = deque(maxlen=maxlen)
        self._seq = 0

    def record(self, **fields: Any) -> None:
        self._seq += 1
        self.entries.append(LoggedRequest(seq=self._seq, **fields))

    def query(
        self, carrier: str | None = None, account: str | None = None, since: float | None = None
    ) -> list[dict[str, Any]]:
        return [
            asdict(entry)
            for entry in self.entries
            if (carrier is None or entry.carrier == carrier)
            and (account is None or entry.account == account)
            and (since is None or entry.time >= since)
        ]

    def clear(self) -> None:
        self.entries.clear()


def now() -> float:
    return time.time()
