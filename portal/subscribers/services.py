"""Subscribers (SIP accounts): the only writers of Subscriber."""

from __future__ import annotations

from portal.sync.outbox import record_change
from portal.sync.provisioning import change_by, delete_and_sync, save_and_sync

from .models import Subscriber, SubscriberStatus, generate_sip_password


def create_subscriber(*, customer, actor=None, password: str | None = None, **fields) -> tuple[Subscriber, str]:
    """Create a subscriber; returns it and its SIP password (generated unless given), shown once."""
    password = password or generate_sip_password()
    fields.setdefault("carrier_account", customer.carrier_account)
    with change_by(actor):
        subscriber = Subscriber(customer=customer, sip_password=password, **fields)
        save_and_sync(subscriber, actor=actor)
        if subscriber.primary_number_id:
            _route_primary_number(subscriber, actor)
    return subscriber, password


def update_subscriber(subscriber: Subscriber, *, actor=None, **changes) -> Subscriber:
    with change_by(actor):
        for name, value in changes.items():
            setattr(subscriber, name, value)
        save_and_sync(subscriber, actor=actor)
        if "primary_number" in changes and subscriber.primary_number_id:
            _route_primary_number(subscriber, actor)
    return subscriber


def _route_primary_number(subscriber: Subscriber, actor) -> None:
    number = subscriber.primary_number
    if number.subscriber_id != subscriber.pk:
        number.subscriber = subscriber
        number.full_clean()
        number.save()
        record_change(number, actor=actor)


def reset_sip_password(subscriber: Subscriber, *, actor=None) -> str:
    """A new strong password, sent to the carrier; returned once, never shown again."""
    password = generate_sip_password()
    update_subscriber(subscriber, sip_password=password, actor=actor)
    return password


def enable_subscriber(subscriber: Subscriber, *, actor=None) -> Subscriber:
    return update_subscriber(subscriber, status=SubscriberStatus.ACTIVE, actor=actor)


def disable_subscriber(subscriber: Subscriber, *, actor=None) -> Subscriber:
    return update_subscriber(subscriber, status=SubscriberStatus.LOCKED, actor=actor)


def delete_subscriber(subscriber: Subscriber, *, actor=None) -> None:
    with change_by(actor):
        numbers = list(subscriber.numbers.all())
        delete_and_sync(subscriber, actor=actor)
        for number in numbers:  # they stay the customer's, routed nowhere until reassigned
            number.refresh_from_db()
            record_change(number, actor=actor)
