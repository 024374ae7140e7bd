"""factory-boy factories for the portal's models, shared by the whole suite.

Every factory builds a consistent graph: a subscriber's customer, a number's reseller
and customer, a carrier account's reseller all belong to the same reseller unless a
test says otherwise. Users get the password ``PASSWORD`` so tests can log in with it.
"""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from portal.carriers.kinds import CarrierKind
from portal.carriers.models import CarrierAccount
from portal.customers.models import Customer, CustomerLogin
from portal.numbers.models import Number, NumberStatus
from portal.subscribers.models import Subscriber
from portal.tenancy.models import Reseller, Role, StaffMembership
from portal.trunks.models import Trunk, TrunkType

PASSWORD = "correct-horse-battery-staple"


class ResellerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Reseller
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Reseller {n}")
    slug = factory.Sequence(lambda n: f"reseller-{n}")


class UserFactory(factory.django.DjangoModelFactory):
    """A plain login with no reseller or customer; ``PASSWORD`` unless given."""

    class Meta:
        model = get_user_model()
        django_get_or_create = ("email",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save_password(self, create, extracted, **kwargs):
        if create:
            self.save()


class SuperuserFactory(UserFactory):
    """A platform admin."""

    is_staff = True
    is_superuser = True


class StaffFactory(factory.django.DjangoModelFactory):
    """A staff membership (and its user): ``StaffFactory(role=Role.MANAGER).user``."""

    class Meta:
        model = StaffMembership

    user = factory.SubFactory(UserFactory)
    reseller = factory.SubFactory(ResellerFactory)
    role = Role.AGENT

    class Params:
        manager = factory.Trait(role=Role.MANAGER)


class CarrierAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CarrierAccount

    reseller = factory.SubFactory(ResellerFactory)
    kind = CarrierKind.SIMWOOD
    name = factory.Sequence(lambda n: f"Carrier account {n}")
    base_url = "http://127.0.0.1:8100/simwood"
    account_id = factory.Sequence(lambda n: f"{930000 + n}")
    settings = factory.LazyFunction(lambda: {"api_user": "portal"})
    credentials = factory.Sequence(lambda n: {"api_key": f"carrier-api-key-{n}-do-not-show"})


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    reseller = factory.SubFactory(ResellerFactory)
    name = factory.Sequence(lambda n: f"Customer {n} Ltd")
    contact_name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"office{n}@customer.example")
    external_ref = factory.Sequence(lambda n: f"CRM-{n:05d}")


class CustomerUserFactory(factory.django.DjangoModelFactory):
    """A self-service login of one customer: ``CustomerUserFactory(customer=c).user``."""

    class Meta:
        model = CustomerLogin

    user = factory.SubFactory(UserFactory)
    customer = factory.SubFactory(CustomerFactory)


class SubscriberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subscriber

    customer = factory.SubFactory(CustomerFactory)
    carrier_account = factory.SubFactory(CarrierAccountFactory, reseller=factory.SelfAttribute("..customer.reseller"))
    username = factory.Sequence(lambda n: f"ext{1000 + n}")
    domain = "sip.example.com"
    sip_password = factory.Sequence(lambda n: f"SipSecret{n}xQz7Kp")
    display_name = factory.Faker("name")


def _ofcom_drama_number(n: int) -> str:
    # Ofcom keeps +44 20 7946 0000–0999 for fiction: valid, and never anybody's line.
    return f"+44207946{n % 1000:04d}"


class NumberFactory(factory.django.DjangoModelFactory):
    """A number in a customer's hands; ``NumberFactory(customer=None, reseller=r)`` for stock."""

    class Meta:
        model = Number

    customer = factory.SubFactory(CustomerFactory)
    reseller = factory.LazyAttribute(lambda o: o.customer.reseller if o.customer else ResellerFactory())
    carrier_account = factory.SubFactory(CarrierAccountFactory, reseller=factory.SelfAttribute("..reseller"))
    e164 = factory.Sequence(_ofcom_drama_number)
    status = factory.LazyAttribute(lambda o: NumberStatus.ASSIGNED if o.customer else NumberStatus.AVAILABLE)


class TrunkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Trunk

    customer = factory.SubFactory(CustomerFactory)
    carrier_account = factory.SubFactory(CarrierAccountFactory, reseller=factory.SelfAttribute("..customer.reseller"))
    name = factory.Sequence(lambda n: f"Trunk {n}")
    type = TrunkType.IP
    allowed_ips = factory.LazyFunction(lambda: ["192.0.2.10"])


class SyncJobFactory(factory.django.DjangoModelFactory):
    """An outbox row, as the engine leaves it: ``SyncJobFactory(failed=True)`` for a permanent failure."""

    class Meta:
        model = "sync.SyncJob"

    carrier_account = factory.SubFactory(CarrierAccountFactory)
    reseller = factory.SelfAttribute("carrier_account.reseller")
    object_kind = "customer"
    object_id = factory.Sequence(lambda n: n + 1)
    object_repr = factory.Sequence(lambda n: f"Customer {n} Ltd")

    class Params:
        failed = factory.Trait(
            state="failed", attempts=1, error_kind="permanent", last_error="The carrier refused the change."
        )
