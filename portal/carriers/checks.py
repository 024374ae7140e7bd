"""Whether a carrier account's address and credentials work: one request to the carrier."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ConnectionCheck:
    ok: bool
    detail: str


def check_connection(account) -> ConnectionCheck:
    """Ask the carrier once (through the account's request budget); its own words when it refuses."""
    from portal.sync.engine import build_adapter

    from .base import CarrierError

    label = account.get_kind_display()
    try:
        with build_adapter(account, max_wait=5.0) as adapter:
            adapter.test_connection()
    except CarrierError as exc:
        return ConnectionCheck(False, f"{label} said: {exc.message}")
    return ConnectionCheck(True, f"{label} accepted the account's credentials.")
