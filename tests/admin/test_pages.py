"""Every admin page of the portal renders for a platform admin, without N+1 queries."""

from __future__ import annotations

import datetime

import pytest
from django.apps import apps
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.accounts.models import Invitation
from portal.forwards.models import CallForward, ForwardDestination, ForwardWindow
from tests.factories import (
    CarrierAccountFactory,
    CustomerFactory,
    CustomerUserFactory,
    NumberFactory,
    ResellerFactory,
    StaffFactory,
    SubscriberFactory,
    SuperuserFactory,
    TrunkFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def make_forward():
    forward = CallForward.objects.create(subscriber=SubscriberFactory())
    ForwardDestination.objects.create(forward=forward, target="+442079460999", timeout=20)
    ForwardWindow.objects.create(forward=forward, weekdays=[0, 1], start=datetime.time(9), end=datetime.time(17))
    return forward


def make_invitation():
    invitation = Invitation(email="new.colleague@example.com", reseller=ResellerFactory(), role="agent")
    invitation.issue_token()
    invitation.save()
    return invitation


# One way to make an object of every model the portal registers in the admin.
MAKERS = {
    "tenancy.reseller": ResellerFactory,
    "tenancy.staffmembership": StaffFactory,
    "accounts.user": UserFactory,
    "accounts.invitation": make_invitation,
    "carriers.carrieraccount": CarrierAccountFactory,
    "customers.customer": CustomerFactory,
    "customers.customerlogin": CustomerUserFactory,
    "subscribers.subscriber": SubscriberFactory,
    "numbers.number": NumberFactory,
    "trunks.trunk": TrunkFactory,
    "forwards.callforward": make_forward,
}


DOMAIN_APPS = {"tenancy", "accounts", "carriers", "customers", "subscribers", "numbers", "trunks", "forwards"}
EDITED_INLINE = {"forwards.forwarddestination", "forwards.forwardwindow", "numbers.emergencyaddress"}


def test_every_domain_model_has_an_admin_page_tested_here():
    domain_models = {
        model._meta.label_lower for app in DOMAIN_APPS for model in apps.get_app_config(app).get_models()
    }
    registered = {model._meta.label_lower for model in admin.site._registry}
    assert domain_models - EDITED_INLINE <= registered
    assert set(MAKERS) == domain_models - EDITED_INLINE


def admin_url(obj, view: str, *args) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_{view}", args=args)


@pytest.mark.parametrize("label", sorted(MAKERS))
def test_changelist_change_history_and_add_pages_render(client, label):
    client.force_login(SuperuserFactory())
    obj = MAKERS[label]()

    changelist = client.get(admin_url(obj, "changelist"))
    assert changelist.status_code == 200
    assert admin_url(obj, "change", obj.pk) in changelist.content.decode()
    assert client.get(admin_url(obj, "change", obj.pk)).status_code == 200
    assert client.get(admin_url(obj, "history", obj.pk)).status_code == 200
    model_admin = admin.site._registry[type(obj)]
    add = client.get(admin_url(obj, "add"))
    assert add.status_code == (200 if model_admin.has_add_permission(add.wsgi_request) else 403)


@pytest.mark.parametrize("label", sorted(MAKERS))
def test_changelist_queries_do_not_grow_with_rows(client, label):
    client.force_login(SuperuserFactory())
    obj = MAKERS[label]()
    url = admin_url(obj, "changelist")
    client.get(url)  # warm caches (content types, sessions)
    with CaptureQueriesContext(connection) as one_row:
        client.get(url)
    for _ in range(3):
        MAKERS[label]()
    with CaptureQueriesContext(connection) as more_rows:
        client.get(url)
    assert len(more_rows) == len(one_row), [q["sql"] for q in more_rows.captured_queries]
