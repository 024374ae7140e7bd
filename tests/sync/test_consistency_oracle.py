"""The consistency oracle can fail: each kind of difference is planted in a real sandbox
account (through the carrier's own API, behind the portal's back) and must be reported.

A check that cannot fail is a defect, so each test first shows the oracle silent on the
same account, then plants one difference and looks for its line."""

from __future__ import annotations

import pytest

from portal.carriers import get_adapter
from portal.carriers.base import SubscriberSpec
from portal.customers.services import create_customer
from portal.customers.sync import customer_spec
from portal.numbers.models import Number
from portal.numbers.services import add_number, release_number
from portal.subscribers.services import create_subscriber
from portal.subscribers.sync import subscriber_spec
from tests.sync.consistency.oracle import oracle
from tests.sync.test_races import ANCHOR, run_due

pytestmark = pytest.mark.django_db


def adapter_of(account):
    return get_adapter(account.kind, account.adapter_config())


@pytest.fixture
def synced(sandbox_carrier_account, carrier_state):
    """A carrier account of ``kind`` with a customer (and a subscriber where it holds them),
    synced; the oracle finds nothing to say about it."""

    def make(kind: str):
        account = sandbox_carrier_account(kind)
        customer = create_customer(reseller=account.reseller, carrier_account=account, **ANCHOR)
        subscriber = None
        if account.capabilities.subscribers:
            domain = "" if account.capabilities.fixed_sip_domain else "pbx.example.com"
            subscriber, _ = create_subscriber(customer=customer, username="2001", domain=domain, display_name="Desk")
        run_due(account)
        run_due(account)
        assert oracle([account], carrier_state) == []
        customer.refresh_from_db()
        if subscriber is not None:
            subscriber.refresh_from_db()
        return account, customer, subscriber

    return make


def reported(lines: list[str], *words: str) -> bool:
    return any(all(word in line for word in words) for line in lines)


def test_a_subscriber_missing_at_the_carrier(synced, carrier_state):
    account, _, subscriber = synced("simotel")
    with adapter_of(account) as adapter:
        adapter.delete_subscriber(subscriber.remote_id)
    lines = oracle([account], carrier_state)
    assert reported(lines, "simotel subscriber 2001", "missing at the carrier"), lines


def test_a_subscriber_the_portal_does_not_have(synced, carrier_state):
    account, _, _ = synced("simotel")
    with adapter_of(account) as adapter:
        adapter.create_subscriber(SubscriberSpec(username="2999", domain="", password="Secret-2999-x", status="active"))
    lines = oracle([account], carrier_state)
    assert reported(lines, "simotel subscriber 2999", "not in the portal"), lines


def test_a_customer_held_twice(synced, carrier_state):
    account, customer, _ = synced("surevoip")
    with adapter_of(account) as adapter:
        adapter.create_customer(customer_spec(customer))
    lines = oracle([account], carrier_state)
    assert reported(lines, "surevoip customer Anchor Clinic", "held 2 times"), lines


def test_an_orphan_contact_at_sipwise(synced, carrier_state):
    account, customer, _ = synced("sipwise")
    with adapter_of(account) as adapter:
        adapter._create("customercontacts", adapter._contact_body(customer_spec(customer)))
    lines = oracle([account], carrier_state)
    assert reported(lines, "sipwise orphan: contact", "of no customer"), lines


def test_a_customer_terminated_behind_the_portals_back(synced, carrier_state):
    account, customer, _ = synced("sipwise")
    with adapter_of(account) as adapter:
        adapter.delete_customer(customer.remote_id)  # Sipwise terminates its subscribers with it
    lines = oracle([account], carrier_state)
    assert reported(lines, f"sipwise customer {customer.pk}", "missing at the carrier"), lines
    assert reported(lines, "sipwise subscriber 2001", "missing at the carrier"), lines


def test_a_field_that_differs(synced, carrier_state):
    account, _, subscriber = synced("sipwise")
    spec = subscriber_spec(subscriber, with_password=False)
    spec.display_name = "Changed by hand"
    with adapter_of(account) as adapter:
        adapter.update_subscriber(subscriber.remote_id, spec)
    lines = oracle([account], carrier_state)
    assert reported(lines, "sipwise subscriber 2001: display_name is 'Changed by hand' at the carrier, 'Desk'"), lines


def test_a_released_number_still_held(sandbox_carrier_account, carrier_state):
    account = sandbox_carrier_account("simwood")
    e164 = "+" + sorted(carrier_state(account)["stock"])[0]
    number = add_number(reseller=account.reseller, carrier_account=account, e164=e164)
    run_due(account)
    assert oracle([account], carrier_state) == []
    release_number(Number.objects.get(pk=number.pk), sync=False)  # the portal forgets it; Simwood still has it
    lines = oracle([account], carrier_state)
    assert reported(lines, f"simwood number {e164[1:]}", "released in the portal, still at the carrier"), lines


def test_a_change_left_queued(synced, carrier_state):
    account, customer, subscriber = synced("simotel")
    from portal.subscribers.services import update_subscriber

    update_subscriber(subscriber, display_name="Kitchen")  # no worker runs it
    lines = oracle([account], carrier_state)
    assert reported(lines, "left queued"), lines
    assert reported(lines, "shows pending"), lines
    assert reported(lines, "simotel subscriber 2001: name is 'Desk' at the carrier, 'Kitchen'"), lines
