"""Subscribers (SIP accounts): the only writers of Subscriber."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from portal.sync.outbox import record_change
from portal.sync.provisioning import (
    capabilities_of,
    change_by,
    delete_and_sync,
    lock_for_delete,
    save_adopted,
    save_and_sync,
    service,
)

from .models import Subscriber, SubscriberStatus, generate_sip_password


def check_domain(subscriber: Subscriber) -> None:
    """Some carriers keep subscribers in the account's own SIP domain: fill it in, or refuse another."""
    caps = capabilities_of(subscriber)
    if caps is None or not caps.fixed_sip_domain:
        return
    domain = subscriber.carrier_account.settings.get("domain", "")
    if not subscriber.domain:
        subscriber.domain = domain
    elif domain and subscriber.domain != domain:
        label = subscriber.carrier_account.get_kind_display()
        raise ValidationError({"domain": f"Subscribers on this {label} account live in its SIP domain {domain}."})


@service
def create_subscriber(*, customer, actor=None, password: str | None = None, **fields) -> tuple[Subscriber, str]:
    """Create a subscriber; returns it and its SIP password (generated unless given), shown once."""
    password = password or generate_sip_password(username=fields.get("username", ""))
    fields.setdefault("carrier_account", customer.carrier_account)
    with change_by(actor):
        subscriber = Subscriber(customer=customer, sip_password=password, **fields)
        check_domain(subscriber)
        save_and_sync(subscriber, actor=actor)
        if subscriber.primary_number_id:
            _route_primary_number(subscriber, actor)
    return subscriber, password


def check_rename(subscriber: Subscriber, previous: tuple[str, str]) -> None:
    """Some carriers keep a SIP account's username for good: refused here, in words, instead
    of a job the carrier is sure to refuse."""
    caps = capabilities_of(subscriber)
    if caps is None or caps.subscriber_renames or not subscriber.pk:
        return
    if (subscriber.username, subscriber.domain) != previous:
        label = subscriber.carrier_account.get_kind_display()
        raise ValidationError({"username": f"{label} cannot rename a SIP account: add a new one with the new "
                                           "username, and delete this one."})


@service
def update_subscriber(subscriber: Subscriber, *, actor=None, **changes) -> Subscriber:
    previous = (subscriber.username, subscriber.domain)
    with change_by(actor):
        for name, value in changes.items():
            setattr(subscriber, name, value)
        check_domain(subscriber)
        check_rename(subscriber, previous)
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


@service
def reset_sip_password(subscriber: Subscriber, *, actor=None) -> str:
    """A new strong password, sent to the carrier; returned once, never shown again."""
    password = generate_sip_password(username=subscriber.username)
    update_subscriber(subscriber, sip_password=password, actor=actor)
    return password


@service
def enable_subscriber(subscriber: Subscriber, *, actor=None) -> Subscriber:
    return update_subscriber(subscriber, status=SubscriberStatus.ACTIVE, actor=actor)


@service
def disable_subscriber(subscriber: Subscriber, *, actor=None) -> Subscriber:
    return update_subscriber(subscriber, status=SubscriberStatus.LOCKED, actor=actor)


@service
def adopt_subscriber(
    subscriber: Subscriber | None = None, *, customer=None, carrier_account, remote_id: str, actor=None, **fields
) -> Subscriber:
    """Take the carrier's values as the portal's (reconciliation, import); nothing is pushed back.

    With no ``subscriber`` the carrier's one is imported into ``customer``. Its SIP
    password stays unknown (carriers never read it back) until it is reset.
    """
    with change_by(actor):
        if subscriber is None:
            subscriber = Subscriber(customer=customer, carrier_account=carrier_account)
        for name, value in fields.items():
            setattr(subscriber, name, value)
        return save_adopted(subscriber, remote_id=remote_id)


@service
def delete_subscriber(subscriber: Subscriber, *, actor=None, sync: bool = True) -> None:
    """``sync=False``: the carrier no longer has it; only the portal's row goes."""
    with change_by(actor):
        lock_for_delete(subscriber)  # first: a number being routed to it meanwhile is in the list
        numbers = list(subscriber.numbers.all())
        delete_and_sync(subscriber, actor=actor, sync=sync)
        if not sync:
            return
        for number in numbers:  # they stay the customer's, routed nowhere until reassigned
            number.refresh_from_db()
            record_change(number, actor=actor)
