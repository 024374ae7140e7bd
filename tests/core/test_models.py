"""Model-level rules: what ``full_clean`` refuses, with a bad and a good value each."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from portal.numbers.models import Number, NumberStatus
from tests.factories import (
    CarrierAccountFactory,
    CustomerFactory,
    NumberFactory,
    SubscriberFactory,
    TrunkFactory,
)

pytestmark = pytest.mark.django_db


def errors_of(obj) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as exc:
        obj.full_clean()
    return exc.value.message_dict


class TestNumber:
    def test_number_is_stored_as_e164(self):
        number = NumberFactory.build(e164="+44 20 7946 0123", customer=CustomerFactory())
        number.carrier_account = CarrierAccountFactory(reseller=number.reseller)
        number.full_clean()
        assert number.e164 == "+442079460123"

    def test_national_number_is_refused(self):
        number = NumberFactory.build(e164="020 7946 0123", customer=CustomerFactory())
        number.carrier_account = CarrierAccountFactory(reseller=number.reseller)
        assert "international format" in errors_of(number)["e164"][0]

    def test_number_already_assigned_elsewhere(self):
        taken = NumberFactory(e164="+442079460500")
        other_account = CarrierAccountFactory(reseller=taken.reseller)
        again = Number(reseller=taken.reseller, carrier_account=other_account, e164="+442079460500")
        assert "already assigned elsewhere" in errors_of(again)["e164"][0]
        taken.status = NumberStatus.RELEASED
        taken.save()
        again.full_clean()  # a released number can be taken again

    def test_unique_per_carrier_account(self):
        taken = NumberFactory(e164="+442079460501", status=NumberStatus.RELEASED)
        again = Number(reseller=taken.reseller, carrier_account=taken.carrier_account, e164="+442079460501")
        assert "already on this carrier account" in " ".join(errors_of(again)["__all__"])

    def test_routing_to_another_customers_subscriber(self):
        number = NumberFactory()
        stranger = SubscriberFactory(customer=CustomerFactory(reseller=number.reseller))
        number.subscriber = stranger
        assert "another customer" in errors_of(number)["subscriber"][0]
        number.subscriber = SubscriberFactory(customer=number.customer)
        number.full_clean()

    def test_routes_to_subscriber_or_trunk_not_both(self):
        number = NumberFactory()
        number.subscriber = SubscriberFactory(customer=number.customer)
        number.trunk = TrunkFactory(customer=number.customer)
        assert "not both" in errors_of(number)["trunk"][0]

    def test_destination_is_checked_and_cannot_be_itself(self):
        number = NumberFactory(e164="+442079460502")
        number.destination = "pbx.example.com"
        assert "neither" in errors_of(number)["destination"][0]
        number.destination = "+44 20 7946 0502"
        assert "itself" in errors_of(number)["destination"][0]
        number.destination = "sip:reception@pbx.example.com"
        number.full_clean()


class TestSubscriber:
    def test_primary_number_already_assigned_elsewhere(self):
        first = SubscriberFactory()
        number = NumberFactory(customer=first.customer, reseller=first.customer.reseller)
        number.subscriber = first
        number.save()
        second = SubscriberFactory(customer=first.customer, carrier_account=first.carrier_account)
        second.primary_number = number
        assert "already assigned elsewhere" in errors_of(second)["primary_number"][0]
        first.primary_number = number
        first.full_clean()

    @pytest.mark.parametrize(("username", "ok"), [("alice.smith", True), ("-alice", False), ("a b", False)])
    def test_username(self, username, ok):
        subscriber = SubscriberFactory(username="placeholder")
        subscriber.username = username
        if ok:
            subscriber.full_clean()
        else:
            assert "username" in errors_of(subscriber)

    @pytest.mark.parametrize(("domain", "ok"), [("sip.example.com", True), ("localhost", False), ("sip..example", False)])
    def test_domain(self, domain, ok):
        subscriber = SubscriberFactory()
        subscriber.domain = domain
        if ok:
            subscriber.full_clean()
        else:
            assert "domain" in errors_of(subscriber)


class TestTrunk:
    def test_allowed_ips_are_checked_one_by_one(self):
        trunk = TrunkFactory(allowed_ips=["192.0.2.10", "192.0.2.0/24", "2001:db8::/32"])
        trunk.full_clean()
        trunk.allowed_ips = ["192.0.2.10", "192.0.2.1/24", "not-an-ip"]
        messages = errors_of(trunk)["allowed_ips"]
        assert len(messages) == 2
        assert "192.0.2.1/24" in messages[0] and "not-an-ip" in messages[1]

    def test_ip_trunk_needs_an_address(self):
        trunk = TrunkFactory(allowed_ips=[])
        assert "at least one address" in errors_of(trunk)["allowed_ips"][0]

    def test_cli(self):
        trunk = TrunkFactory(force_cli=True, default_cli="")
        assert "default CLI" in errors_of(trunk)["default_cli"][0]
        trunk.default_cli = "+44 20 7946 0999"
        trunk.full_clean()
        assert trunk.default_cli == "+442079460999"


def test_customer_phone_and_carrier_account_of_another_reseller():
    customer = CustomerFactory(phone="020 7946 0000")
    assert "phone" in errors_of(customer)
    customer.phone = "+44 20 7946 0000"
    customer.carrier_account = CarrierAccountFactory()  # another reseller's
    assert "another reseller" in errors_of(customer)["carrier_account"][0]
    customer.carrier_account = CarrierAccountFactory(reseller=customer.reseller)
    customer.full_clean()
    assert customer.phone == "+442079460000"
