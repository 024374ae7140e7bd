"""Numbers: add to stock, assign, route, release. The only writers of Number."""

from __future__ import annotations

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


@service
def update_number(number: Number, *, actor=None, **changes) -> Number:
    previous_subscriber = number.subscriber if number.subscriber_id else None
    previous_trunk = number.trunk if number.trunk_id else None
    with change_by(actor):
        for name, value in changes.items():
            setattr(number, name, value)
        check_destination_and_forward(number)
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


def search_available_numbers(carrier_account, *, prefix: str = "", contains: str = "", limit: int = 20):
    """The numbers ``carrier_account`` offers now (``AvailableNumber``s), through its adapter.

    ``prefix`` is an E.164 prefix (``+44161``), ``contains`` digits anywhere in the number.
    The carrier's refusal or failure is a ValidationError in its own words; a search
    takes one request of the account's budget, like any other call.
    """
    from portal.carriers.base import CarrierError
    from portal.sync.engine import build_adapter

    caps = carrier_account.capabilities
    if not caps.number_inventory:
        raise ValidationError(
            {"carrier_account": f"{carrier_account.get_kind_display()} sells no numbers through its API."}
        )
    pattern = prefix or contains
    try:
        with build_adapter(carrier_account, max_wait=5.0) as adapter:
            return adapter.search_numbers(pattern, limit)
    except CarrierError as exc:
        raise ValidationError(f"{carrier_account.get_kind_display()} said: {exc.message}") from None


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
