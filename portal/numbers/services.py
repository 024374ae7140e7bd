"""Numbers: add to stock, assign, route, release. The only writers of Number."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError

from portal.sync.models import JobOperation, SyncState
from portal.sync.outbox import record_change
from portal.sync.provisioning import capabilities_of, change_by, save_adopted, save_and_sync, service

from .models import Number, NumberStatus


@service
def add_number(*, reseller, carrier_account, e164: str, actor=None, **fields) -> Number:
    """Take a number onto a carrier account (allocated at carriers that sell numbers)."""
    with change_by(actor):
        number = Number(reseller=reseller, carrier_account=carrier_account, e164=e164, **fields)
        check_allocated_to_customer(number)
        return save_and_sync(number, actor=actor)


def _touch_holders(actor, *holders) -> None:
    """Carriers that hold numbers on the subscriber (primary/alias) or the trunk (Sipwise)
    need it pushed too when a number comes or goes."""
    for holder in {h for h in holders if h is not None}:
        record_change(holder, actor=actor)


def check_destination_and_forward(number: Number) -> None:
    caps = capabilities_of(number)
    if caps is None or not caps.forward_is_destination or not number.destination or not number.pk:
        return
    from portal.forwards.services import DESTINATION_IS_FORWARD

    if number.forwards.filter(type="unconditional", enabled=True).exists():
        raise ValidationError({"destination": f"{number.carrier_account.get_kind_display()}: {DESTINATION_IS_FORWARD}."})


def check_allocated_to_customer(number: Number) -> None:
    """Where the carrier allocates a number to a customer (SureVoIP), a number it does not
    hold yet needs one: the page says so, instead of a job the carrier is sure to refuse."""
    caps = capabilities_of(number)
    if caps is None or not caps.numbers_stay_with_customer or number.customer_id or number.remote_id:
        return
    label = number.carrier_account.get_kind_display()
    raise ValidationError({"customer": f"{label} allocates a number to a customer: choose one."})


def check_stays_with_customer(number: Number, previous_customer_id: int | None) -> None:
    """Where the carrier allocates a number to a customer for good (SureVoIP), it cannot be
    given to another one (or taken back into stock) here: the carrier would keep it with the
    first while the portal showed it moved."""
    caps = capabilities_of(number)
    if caps is None or not caps.numbers_stay_with_customer:
        return
    if previous_customer_id is not None and number.customer_id != previous_customer_id:
        label = number.carrier_account.get_kind_display()
        raise ValidationError({"customer": f"{label} keeps a number with the customer it was allocated to: its API "
                                           f"cannot move it. Ask {label} to move it, then adopt it from the drift page."})


@service
def update_number(number: Number, *, actor=None, **changes) -> Number:
    previous_subscriber = number.subscriber if number.subscriber_id else None
    previous_trunk = number.trunk if number.trunk_id else None
    previous_customer_id = number.customer_id
    with change_by(actor):
        for name, value in changes.items():
            setattr(number, name, value)
        check_destination_and_forward(number)
        check_stays_with_customer(number, previous_customer_id)
        save_and_sync(number, actor=actor)
        current = number.subscriber if number.subscriber_id else None
        if current != previous_subscriber:
            if previous_subscriber is not None and previous_subscriber.primary_number_id == number.pk:
                previous_subscriber.primary_number = None
                previous_subscriber.save(update_fields=["primary_number"])
            _touch_holders(actor, previous_subscriber, current)
        current_trunk = number.trunk if number.trunk_id else None
        if current_trunk != previous_trunk:
            _touch_holders(actor, previous_trunk, current_trunk)
    return number


@service
def assign_number(number: Number, *, customer, subscriber=None, trunk=None, actor=None) -> Number:
    return update_number(
        number, customer=customer, subscriber=subscriber, trunk=trunk, status=NumberStatus.ASSIGNED, actor=actor
    )


@service
def adopt_number(number: Number | None = None, *, carrier_account, remote_id: str, actor=None, **fields) -> Number:
    """Take the carrier's values as the portal's (reconciliation, import); nothing is pushed back.

    With no ``number`` the carrier's one is imported; a released row of the same number
    comes back to life, as the carrier holds it again.
    """
    with change_by(actor):
        if number is None:
            number = Number(reseller_id=carrier_account.reseller_id, carrier_account=carrier_account)
        for name, value in fields.items():
            setattr(number, name, value)
        if number.status == NumberStatus.RELEASED or (number.status == NumberStatus.ASSIGNED and not number.customer_id):
            number.status = NumberStatus.AVAILABLE  # clean() makes it assigned when it has a customer
        return save_adopted(number, remote_id=remote_id)


@service
def release_number(number: Number, *, actor=None, sync: bool = True) -> Number:
    """Give the number back to the carrier; the row stays, as released, for the history.

    ``sync=False``: the carrier no longer has it; the row is only marked released.
    """
    previous_subscriber = number.subscriber if number.subscriber_id else None
    previous_trunk = number.trunk if number.trunk_id else None
    with change_by(actor):
        if sync:
            record_change(number, operation=JobOperation.DELETE, actor=actor)
        number.customer = number.subscriber = number.trunk = None
        number.destination = ""
        number.status = NumberStatus.RELEASED
        number.full_clean()
        if sync:
            number.save()  # its remote id goes when the release lands (the engine's to write)
        else:
            number.remote_id, number.sync_state, number.sync_error = "", SyncState.SYNCED, ""
            number.save_as_carrier_holds_it()
        if previous_subscriber is not None:
            if previous_subscriber.primary_number_id == number.pk:
                previous_subscriber.primary_number = None
                previous_subscriber.save(update_fields=["primary_number"])
        if sync:
            _touch_holders(actor, previous_subscriber, previous_trunk)
    return number


def search_available_numbers(carrier_account, *, prefix: str = "", contains: str = "", limit: int = 20,
                             block: int = 0):
    """The numbers ``carrier_account`` offers now (``AvailableNumber``s), through its adapter.

    ``prefix`` is an E.164 prefix (``+44161``), ``contains`` digits anywhere in the number.
    ``block`` N: one run of N consecutive numbers, where the carrier offers blocks of N
    (``Capabilities.number_blocks``). The carrier's refusal or failure is a ValidationError
    in its own words; a search takes one request of the account's budget, like any other call.
    """
    caps = carrier_account.capabilities
    label = carrier_account.get_kind_display()
    if not caps.number_inventory:
        raise ValidationError({"carrier_account": f"{label} sells no numbers through its API."})
    if block and block not in caps.number_blocks:
        sizes = ", ".join(str(size) for size in caps.number_blocks)
        raise ValidationError({"block": f"{label} offers blocks of {sizes} numbers." if sizes else
                               f"{label} offers no consecutive blocks through its API: search for single numbers."})
    pattern = prefix or contains
    return _ask_carrier(carrier_account, lambda adapter: adapter.search_numbers(pattern, limit, block=block))


def _ask_carrier(carrier_account, question):
    """A read from the carrier for a page (never a write: those go through the outbox)."""
    from portal.carriers.base import CarrierError
    from portal.sync.engine import build_adapter

    try:
        with build_adapter(carrier_account, max_wait=5.0) as adapter:
            return question(adapter)
    except CarrierError as exc:
        raise ValidationError(f"{carrier_account.get_kind_display()} said: {exc.message}") from None


@dataclass
class Taken:
    """What became of each number asked for, in the order asked."""

    added: list[Number] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)  # offered by the search, taken by someone else since
    refused: list[tuple[str, str]] = field(default_factory=list)  # (number, why the portal refused it)


def take_numbers(*, carrier_account, found=(), typed=(), customer=None, actor=None) -> Taken:
    """Take numbers onto a carrier account in one go (to ``customer``, or into stock).

    ``found`` came from a search of the carrier's available numbers (a consecutive block
    among them): the carrier is asked again which are still offered, since someone else
    may have taken some meanwhile; those are left out and listed, the rest are taken.
    ``typed`` are numbers the reseller already holds there, taken as they are. Each number
    is added through ``add_number`` (its own allocation job); one the portal refuses (already
    in stock) is listed with the reason and does not stop the others. One transaction.
    """
    found = list(dict.fromkeys(found))
    typed = [e164 for e164 in dict.fromkeys(typed) if e164 not in found]
    offered = set(found)
    if found and carrier_account.capabilities.number_inventory:
        offered = _ask_carrier(carrier_account, lambda adapter: adapter.still_available(found))
    taken = Taken(gone=[e164 for e164 in found if e164 not in offered])
    with change_by(actor):
        for e164 in [e164 for e164 in found if e164 in offered] + typed:
            try:
                taken.added.append(add_number(reseller=carrier_account.reseller, carrier_account=carrier_account,
                                              e164=e164, customer=customer, actor=actor))
            except ValidationError as exc:  # its savepoint is rolled back; the others stay
                taken.refused.append((e164, " ".join(exc.messages)))
    return taken


@service
def set_emergency_address(number: Number, *, actor=None, **fields):
    """Keep the number's 999 address in the portal and send it with the number.

    Only for carriers that hold one (``Capabilities.emergency_address``); empty fields
    are refused, as the emergency services need every line.
    """
    from .models import EmergencyAddress

    caps = capabilities_of(number)
    if caps is None or not caps.emergency_address:
        label = number.carrier_account.get_kind_display() if number.carrier_account_id else "No carrier account"
        raise ValidationError(f"{label} holds no emergency address for a number through its API.")
    with change_by(actor):
        address = EmergencyAddress.objects.filter(number=number).first() or EmergencyAddress(number=number)
        for name, value in fields.items():
            setattr(address, name, value)
        address.full_clean()
        address.save()
        record_change(number, actor=actor)
    return address
