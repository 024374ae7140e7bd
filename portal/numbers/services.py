"""Numbers: add to stock, assign, route, release. The only writers of Number."""

from __future__ import annotations

from portal.sync.models import JobOperation
from portal.sync.outbox import record_change
from portal.sync.provisioning import change_by, save_and_sync

from .models import Number, NumberStatus


def add_number(*, reseller, carrier_account, e164: str, actor=None, **fields) -> Number:
    """Take a number onto a carrier account (allocated at carriers that sell numbers)."""
    with change_by(actor):
        number = Number(reseller=reseller, carrier_account=carrier_account, e164=e164, **fields)
        return save_and_sync(number, actor=actor)


def _touch_subscribers(actor, *subscribers) -> None:
    """Carriers that hold numbers on the subscriber (primary/alias) need it pushed too."""
    for subscriber in {s for s in subscribers if s is not None}:
        record_change(subscriber, actor=actor)


def update_number(number: Number, *, actor=None, **changes) -> Number:
    previous_subscriber = number.subscriber if number.subscriber_id else None
    with change_by(actor):
        for name, value in changes.items():
            setattr(number, name, value)
        save_and_sync(number, actor=actor)
        current = number.subscriber if number.subscriber_id else None
        if current != previous_subscriber:
            if previous_subscriber is not None and previous_subscriber.primary_number_id == number.pk:
                previous_subscriber.primary_number = None
                previous_subscriber.save(update_fields=["primary_number"])
            _touch_subscribers(actor, previous_subscriber, current)
    return number


def assign_number(number: Number, *, customer, subscriber=None, trunk=None, actor=None) -> Number:
    return update_number(
        number, customer=customer, subscriber=subscriber, trunk=trunk, status=NumberStatus.ASSIGNED, actor=actor
    )


def release_number(number: Number, *, actor=None) -> Number:
    """Give the number back to the carrier; the row stays, as released, for the history."""
    previous_subscriber = number.subscriber if number.subscriber_id else None
    with change_by(actor):
        record_change(number, operation=JobOperation.DELETE, actor=actor)
        number.customer = number.subscriber = number.trunk = None
        number.destination = ""
        number.status = NumberStatus.RELEASED
        number.remote_id = ""
        number.full_clean()
        number.save()
        if previous_subscriber is not None:
            if previous_subscriber.primary_number_id == number.pk:
                previous_subscriber.primary_number = None
                previous_subscriber.save(update_fields=["primary_number"])
            _touch_subscribers(actor, previous_subscriber)
    return number
