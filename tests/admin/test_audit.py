"""A change saved in the admin is in the audit log, field by field, and on the object's history page."""

from __future__ import annotations

import pytest
from auditlog.models import LogEntry
from django.urls import reverse

from tests.factories import CustomerFactory, SuperuserFactory

pytestmark = pytest.mark.django_db


def test_customer_change_is_audited_with_field_level_diff(client, form_data):
    admin_user = SuperuserFactory()
    customer = CustomerFactory(name="Acme Plumbing Ltd", contact_name="Ann Old")
    client.force_login(admin_user)

    change_url = reverse("admin:customers_customer_change", args=[customer.pk])
    response = client.post(change_url, form_data(client.get(change_url), name="Acme Heating Ltd"))
    assert response.status_code == 302

    entry = LogEntry.objects.get_for_object(customer).get(action=LogEntry.Action.UPDATE)
    assert entry.actor == admin_user
    assert entry.changes_dict == {"name": ["Acme Plumbing Ltd", "Acme Heating Ltd"]}

    history = client.get(reverse("admin:customers_customer_history", args=[customer.pk]))
    assert history.status_code == 200
    assert history.context["log_entries"][0] == entry
    page = history.content.decode()
    assert "Acme Plumbing Ltd" in page and "Acme Heating Ltd" in page
    assert admin_user.email in page or str(admin_user) in page
