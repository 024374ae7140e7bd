"""What the sync engine and reconciliation know about call forwards, registered with them.

Forwards travel per owner (a subscriber or a number): one job writes an owner's whole set.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from django.db import models

from portal.carriers.base import CarrierAdapter, Destination, ForwardSpec, NotFoundError, TimeWindow
from portal.numbers.models import Number
from portal.subscribers.models import Subscriber
from portal.sync import objects, reconcilers
from portal.sync.objects import KINDS, Outcome, SyncedKind
from portal.sync.reconcilers import RECONCILERS

from .models import CallForward, ForwardWindow

DEFAULT_RING_SECONDS = 20


def forward_specs(forwards: list[CallForward]) -> list[ForwardSpec]:
    return [
        ForwardSpec(
            type=forward.type,
            enabled=forward.enabled,
            destinations=[Destination(d.target, d.timeout) for d in forward.destinations.all()],
            windows=[window_spec(w) for w in forward.windows.all()],
        )
        for forward in forwards
    ]


def window_spec(window: ForwardWindow) -> TimeWindow:
    from portal.forwards.services import WindowInput

    return WindowInput(list(window.weekdays), window.start, window.end, window.timezone, window.start_date,
                       window.end_date).spec()


def window_facts(window: TimeWindow) -> list:
    """A window as reconciliation compares it (dated: with its dates; weekly: its weekdays)."""
    if window.dated:
        return ["dated", window.start_date, window.start, window.end_date, window.end, window.timezone]
    return ["weekly", sorted(window.weekdays), window.start, window.end, window.timezone]


def owner_forwards(owner: Subscriber | Number) -> list[CallForward]:
    field = "subscriber" if isinstance(owner, Subscriber) else "number"
    return list(
        CallForward.objects.filter(**{field: owner}).prefetch_related("destinations", "windows").order_by("type")
    )


class ForwardsKind(SyncedKind):
    """All forwards of one owner (a subscriber or a number), written as one set."""

    owner_kind: str = ""

    def held(self, adapter):
        caps = adapter.capabilities
        return caps.forwards and self.owner_kind in caps.forward_owners

    def parent(self, obj, adapter):
        return (self.owner_kind, obj)

    def push(self, obj, adapter):
        caps = adapter.capabilities
        if self.owner_kind == "number" and caps.forward_is_destination:
            adapter.update_number(obj.remote_id, KINDS["number"].routing_spec(obj, caps))
        else:
            adapter.set_forwards(self.owner_kind, obj.remote_id, forward_specs(owner_forwards(obj)))
        return Outcome(obj.remote_id)

    def natural_key(self, obj):
        return KINDS[self.owner_kind].natural_key(obj)

    def gone(self, obj):
        return KINDS[self.owner_kind].gone(obj)  # a released number's forwards go nowhere

    def delete(self, remote_id, adapter):
        return None  # forwards go with their owner; an emptied set is a push of []

    def state_rows(self, object_id):
        return CallForward.objects.filter(**{f"{self.owner_kind}_id": object_id})

    def state_table(self):
        return CallForward._meta.db_table, f"{self.owner_kind}_id"

    def remote_id_of(self, obj):
        return obj.remote_id

    def record_landing(self, object_id, remote_id, secret):
        return None  # the owner's id, which its own job keeps


class SubscriberForwardsKind(ForwardsKind):
    owner_kind = "subscriber"


class NumberForwardsKind(ForwardsKind):
    owner_kind = "number"


class ForwardsReconciler:
    """The call forwards of each owner (a subscriber or a number), compared as one set.

    Only forwards in effect (switched on, with a destination) are compared: carriers
    differ in whether a switched-off forward is kept at all. Ring timeouts and time
    windows are compared only where the carrier holds them.
    """

    forwards = True

    def __init__(self, owner) -> None:
        self.owner = owner
        self.owner_kind = owner.name
        self.name = f"{owner.name}_forwards"

    def held(self, adapter: CarrierAdapter) -> bool:
        caps = adapter.capabilities
        if self.owner_kind == "number" and caps.forward_is_destination:
            return False  # one carrier field: compared (and adopted) as the number's destination
        return KINDS[self.name].held(adapter)

    def stream(self, adapter: CarrierAdapter) -> Iterator[tuple[str, list[ForwardSpec]]]:
        return adapter.iter_forwards(self.owner_kind)

    def fetch(self, adapter: CarrierAdapter, remote_id: str) -> list[ForwardSpec] | None:
        try:
            return adapter.fetch_forwards(self.owner_kind, remote_id)
        except NotFoundError:
            return None  # the owner itself is gone: that is the owner's drift

    def owners(self, account) -> models.QuerySet:
        return self.owner.portal(account)

    def facts(self, forwards: list[ForwardSpec], adapter: CarrierAdapter) -> dict:
        caps = adapter.capabilities
        in_effect = {}
        for forward in sorted(forwards, key=lambda f: f.type):
            if not (forward.enabled and forward.destinations):
                continue
            in_effect[forward.type] = {
                "destinations": [[d.target, d.timeout if caps.ring_timeouts else None] for d in forward.destinations],
                # In any order: a forward applies in each of its windows.
                "windows": sorted(window_facts(w) for w in forward.windows if caps.date_windows or not w.dated)
                if caps.time_windows
                else [],
            }
        return {"forwards": in_effect}

    def ours(self, forwards: list[CallForward], adapter: CarrierAdapter) -> dict:
        return self.facts(forward_specs(forwards), adapter)

    def portal_forwards(self, owners: list) -> dict[int, list[CallForward]]:
        """Every owner's forwards in one query, by owner pk."""
        field = f"{self.owner_kind}_id"
        grouped: dict[int, list[CallForward]] = {owner.pk: [] for owner in owners}
        rows = CallForward.objects.filter(**{f"{field}__in": list(grouped)}).prefetch_related("destinations", "windows")
        for forward in rows.order_by("type"):
            grouped[getattr(forward, field)].append(forward)
        return grouped

    @staticmethod
    def diff(ours: dict, theirs: dict) -> dict[str, list]:
        mine, carrier = ours["forwards"], theirs["forwards"]
        return {
            kind: [mine.get(kind), carrier.get(kind)]
            for kind in sorted(set(mine) | set(carrier))
            if mine.get(kind) != carrier.get(kind)
        }

    def label_of(self, owner) -> str:
        return f"forwards of {owner}"[:200]

    def adopt(self, owner, theirs: dict, actor) -> None:
        """Make the owner's forwards in effect the carrier's; its switched-off ones stay.

        Where the carrier holds no ring timeouts, a destination keeps the portal's own.
        """
        from portal.forwards.services import ForwardInput, current_forwards, set_forwards

        current = current_forwards(owner)
        own_timeouts = {(f.type, target): timeout for f in current for target, timeout in f.destinations}

        def ring_for(kind: str, target: str, timeout: int | None) -> int:
            return timeout if timeout is not None else own_timeouts.get((kind, target), DEFAULT_RING_SECONDS)

        inputs = [
            ForwardInput(
                kind,
                True,
                [(target, ring_for(kind, target, timeout)) for target, timeout in forward["destinations"]],
                [window_input(facts) for facts in forward["windows"]],
            )
            for kind, forward in theirs["forwards"].items()
        ]
        switched_off = [f for f in current if not f.enabled and f.type not in theirs["forwards"]]
        set_forwards(owner, inputs + switched_off, actor=actor, sync=False)


def window_input(facts: list):
    """A window as the carrier holds it (``window_facts``), as the services take it."""
    from portal.forwards.services import WindowInput

    if facts[0] == "dated":
        _, start_date, start, end_date, end, zone = facts
        return WindowInput([], dt.time.fromisoformat(start), dt.time.fromisoformat(end), zone,
                           dt.date.fromisoformat(start_date), dt.date.fromisoformat(end_date))
    # Facts recorded before dated windows had no kind in front.
    weekdays, start, end, zone = facts[1:] if facts[0] == "weekly" else facts
    return WindowInput(weekdays, dt.time.fromisoformat(start), end_of_window(end), zone)


def end_of_window(value: str) -> dt.time:
    # A carrier may end a day at 24:00; the portal's day ends a second before.
    return dt.time(23, 59, 59) if value == "24:00" else dt.time.fromisoformat(value)


def register() -> None:
    """Make the sync engine and reconciliation know call forwards (when the app is ready)."""
    objects.register(SubscriberForwardsKind("subscriber_forwards", Subscriber, ("customer",)), of_model=False)
    objects.register(NumberForwardsKind("number_forwards", Number, ("customer",)), of_model=False)
    objects.PUSHED_AS[CallForward] = lambda forward: (forward.owner, f"{forward.owner_kind}_forwards")
    reconcilers.register(ForwardsReconciler(RECONCILERS["subscriber"]), forwards=True)
    reconcilers.register(ForwardsReconciler(RECONCILERS["number"]), forwards=True)
