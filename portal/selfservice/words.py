"""What a customer reads: where calls go, and whether a change has reached the carrier.

The forward sentences come from the same specs the carrier is sent (``forwards.preview``),
so the home page says what the carrier does. Sync states are told as a customer thinks of
them: in place, being applied, or refused (with the carrier's own words and what to do).
"""

from __future__ import annotations

from dataclasses import dataclass

from portal.forwards.editor import owner_words
from portal.forwards.preview import describe, target_words
from portal.forwards.sync import forward_specs
from portal.sync.models import SyncState
from portal.ui.forms import national_format


def phone_label(subscriber) -> str:
    """“201 · Kira”, or “201” without a name (as the staff pages' pickers say it)."""
    return f"{subscriber.username} · {subscriber.display_name}" if subscriber.display_name else subscriber.username


def routing_words(number) -> str:
    """Where the number's calls go before any forward: a phone, a phone system, a destination."""
    said = national_format(number.e164)
    if number.subscriber_id:
        return f"Calls to {said} ring phone {phone_label(number.subscriber)}."
    if number.trunk_id:
        return f"Calls to {said} go to your phone system ({number.trunk.name})."
    if number.destination:
        return f"Calls to {said} go to {target_words(number.destination)}."
    return f"Calls to {said} are not sent anywhere yet."


def forwards_by_owner(forwards) -> dict[tuple[str, int], list]:
    """Forwards (with their destinations and windows prefetched) grouped by owner."""
    grouped: dict[tuple[str, int], list] = {}
    for forward in forwards:
        owner_id = forward.subscriber_id or forward.number_id
        grouped.setdefault((forward.owner_kind, owner_id), []).append(forward)
    return grouped


def forward_words(owner, forwards: list) -> list[str]:
    """The owner's forwards in plain words, one sentence each ([] when there are none)."""
    return describe(forward_specs(forwards), owner_words(owner)) if forwards else []


@dataclass(frozen=True)
class Status:
    """An object's state as its customer reads it."""

    state: str  # ok | pending | error | none
    label: str
    detail: str = ""

    @property
    def polls(self) -> bool:
        return self.state == "pending"


NOT_HELD = Status("none", "")


def status_of(obj) -> Status:
    """Where the change of ``obj`` is: in place, on its way, or refused by the carrier."""
    if not getattr(obj, "carrier_account_id", None):
        return NOT_HELD  # the portal alone holds it: nothing to wait for
    return _status(obj.sync_state, obj.sync_error)


def _status(state: str, error: str) -> Status:
    if state == SyncState.SYNCED:
        return Status("ok", "Up to date")
    if state == SyncState.ERROR:
        return Status("error", "Not applied", f"The carrier refused this change: “{error}”. Your previous settings "
                      "may still be in use. Change it and save again, or ask us for help.")
    if error.startswith("Retrying"):
        return Status("pending", "Being applied…", "This is taking longer than usual; we keep trying.")
    if error.startswith("Waiting"):
        return Status("pending", "Being applied…", "It waits for another change to go through first.")
    return Status("pending", "Being applied…")


def forwards_status(forwards: list) -> Status:
    """One state for an owner's forwards: refused if one was, on its way while one is."""
    held = [f for f in forwards if f.carrier_account_id]
    if not held:
        return NOT_HELD
    refused = next((f for f in held if f.sync_state == SyncState.ERROR), None)
    if refused is not None:
        return _status(SyncState.ERROR, refused.sync_error)
    waiting = next((f for f in held if f.sync_state != SyncState.SYNCED), None)
    if waiting is not None:
        return _status(waiting.sync_state, waiting.sync_error)
    return Status("ok", "Up to date")
