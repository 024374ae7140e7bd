"""The one scoping helper: each kind of user sees exactly their share, never more."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from portal.carriers.models import CarrierAccount
from portal.customers.models import Customer
from portal.forwards.models import CallForward, ForwardType
from portal.numbers.models import Number
from portal.subscribers.models import Subscriber
from portal.tenancy.models import Reseller, Role
from portal.tenancy.scoping import access_for
from tests.factories import (
    CustomerUserFactory,
    NumberFactory,
    StaffFactory,
    SubscriberFactory,
    SuperuserFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_resellers():
    """Reseller A and B, each with a customer that has a subscriber, a number and forwards."""
    world = {}
    for name in ("a", "b"):
        subscriber = SubscriberFactory()
        number = NumberFactory(customer=subscriber.customer, reseller=subscriber.customer.reseller)
        world[name] = {
            "reseller": subscriber.customer.reseller,
            "customer": subscriber.customer,
            "subscriber": subscriber,
            "number": number,
            "forwards": [
                CallForward.objects.create(subscriber=subscriber, type=ForwardType.BUSY),
                CallForward.objects.create(number=number, type=ForwardType.UNCONDITIONAL),
            ],
        }
    return world


def ids(queryset):
    return set(queryset.values_list("pk", flat=True))


def test_platform_admin_sees_every_reseller(two_resellers):
    admin = SuperuserFactory()
    assert ids(Customer.objects.for_user(admin)) == {two_resellers["a"]["customer"].pk, two_resellers["b"]["customer"].pk}
    assert Reseller.objects.for_user(admin).count() == 2


@pytest.mark.parametrize("role", [Role.MANAGER, Role.AGENT])
def test_staff_see_their_reseller_only(two_resellers, role):
    a = two_resellers["a"]
    user = StaffFactory(reseller=a["reseller"], role=role).user
    assert ids(Reseller.objects.for_user(user)) == {a["reseller"].pk}
    assert ids(Customer.objects.for_user(user)) == {a["customer"].pk}
    assert ids(Subscriber.objects.for_user(user)) == {a["subscriber"].pk}
    assert ids(Number.objects.for_user(user)) == {a["number"].pk}
    assert ids(CarrierAccount.objects.for_user(user)) == set(
        CarrierAccount.objects.filter(reseller=a["reseller"]).values_list("pk", flat=True)
    )
    # A forward reaches its reseller through either kind of owner.
    assert ids(CallForward.objects.for_user(user)) == {f.pk for f in a["forwards"]}


def test_customer_user_sees_their_customer_only(two_resellers):
    a = two_resellers["a"]
    sibling = SubscriberFactory(customer__reseller=a["reseller"])  # same reseller, other customer
    user = CustomerUserFactory(customer=a["customer"]).user
    assert ids(Customer.objects.for_user(user)) == {a["customer"].pk}
    assert sibling.pk not in ids(Subscriber.objects.for_user(user))
    assert ids(Subscriber.objects.for_user(user)) == {a["subscriber"].pk}
    assert ids(CallForward.objects.for_user(user)) == {f.pk for f in a["forwards"]}
    # Reseller-level records are not for customer users at all.
    assert not Reseller.objects.for_user(user).exists()
    assert not CarrierAccount.objects.for_user(user).exists()


def test_nobody_else_sees_anything(two_resellers):
    assert not Customer.objects.for_user(AnonymousUser()).exists()
    assert not Customer.objects.for_user(UserFactory()).exists()


def test_access_is_resolved_once_per_user_object(two_resellers, django_assert_num_queries):
    user = StaffFactory(reseller=two_resellers["a"]["reseller"]).user
    access_for(user)
    with django_assert_num_queries(0):
        assert access_for(user).reseller_id == two_resellers["a"]["reseller"].pk
