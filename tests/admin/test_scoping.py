"""Reseller staff given admin access see their own reseller only, and what their role allows."""

from __future__ import annotations

import pytest
from django.urls import reverse

from portal.customers.models import Customer
from portal.tenancy.models import Role
from tests.factories import CarrierAccountFactory, CustomerFactory, StaffFactory

pytestmark = pytest.mark.django_db


def admin_staff(role, reseller=None):
    membership = StaffFactory(role=role, **({"reseller": reseller} if reseller else {}))
    membership.user.is_staff = True
    membership.user.save()
    return membership


def test_manager_sees_only_own_customers_and_gets_404_for_another_resellers(client):
    manager = admin_staff(Role.MANAGER)
    ours = CustomerFactory(reseller=manager.reseller, name="Our Customer Ltd")
    theirs = CustomerFactory(name="Their Customer Ltd")
    client.force_login(manager.user)

    changelist = client.get(reverse("admin:customers_customer_changelist")).content.decode()
    assert "Our Customer Ltd" in changelist
    assert "Their Customer Ltd" not in changelist
    assert theirs.reseller.name not in changelist  # not even in a filter
    assert client.get(reverse("admin:customers_customer_change", args=[ours.pk])).status_code == 200
    for view in ("change", "history", "delete"):
        assert client.get(reverse(f"admin:customers_customer_{view}", args=[theirs.pk])).status_code == 404


def test_manager_choices_are_scoped_and_reseller_is_fixed(client, form_data):
    manager = admin_staff(Role.MANAGER)
    CustomerFactory(reseller=manager.reseller, name="Our Customer Ltd")
    theirs = CustomerFactory(name="Their Customer Ltd")
    client.force_login(manager.user)

    found = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "subscribers", "model_name": "subscriber", "field_name": "customer", "term": "Customer"},
    ).json()["results"]
    assert [result["text"] for result in found] == ["Our Customer Ltd"]

    add_url = reverse("admin:customers_customer_add")
    # Naming the other reseller in the POST does not move the new customer there.
    typed = form_data(client.get(add_url), name="New Customer Ltd", reseller=theirs.reseller_id)
    response = client.post(add_url, typed)
    assert response.status_code == 302
    assert Customer.objects.get(name="New Customer Ltd").reseller == manager.reseller


def test_agent_works_with_customers_but_cannot_open_carrier_accounts(client):
    agent = admin_staff(Role.AGENT)
    account = CarrierAccountFactory(reseller=agent.reseller)
    client.force_login(agent.user)

    assert client.get(reverse("admin:customers_customer_changelist")).status_code == 200
    assert client.get(reverse("admin:carriers_carrieraccount_changelist")).status_code == 403
    assert client.get(reverse("admin:carriers_carrieraccount_change", args=[account.pk])).status_code == 403
    index = client.get(reverse("admin:index")).content.decode()
    assert "Carrier accounts" not in index
    assert "Staff memberships" not in index
