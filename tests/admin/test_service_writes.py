"""The admin writes through the domain services: outbox rows, audit entries, refusals as form errors."""

from __future__ import annotations

import pytest
from auditlog.models import LogEntry
from django.contrib.messages import get_messages
from django.urls import reverse

from portal.carriers.kinds import CarrierKind
from portal.customers.models import Customer
from portal.forwards.models import CallForward, ForwardDestination
from portal.subscribers.models import Subscriber
from portal.sync.models import JobOperation, JobState, SyncJob
from portal.trunks.models import Trunk
from tests.factories import (
    CarrierAccountFactory,
    CustomerFactory,
    NumberFactory,
    SubscriberFactory,
    SuperuserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user(client):
    user = SuperuserFactory()
    client.force_login(user)
    return user


def jobs_of(obj, kind: str | None = None):
    return SyncJob.objects.filter(object_kind=kind or obj._meta.model_name, object_id=obj.pk).order_by("pk")


def inline_rows(prefix: str, rows: list[dict]) -> dict:
    """POST data of an admin inline holding ``rows`` as new rows."""
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        data.update({f"{prefix}-{index}-{name}": value for name, value in row.items()})
    return data


def test_customer_saved_in_the_admin_queues_a_push_audited_as_the_admin(client, form_data, admin_user):
    account = CarrierAccountFactory(kind=CarrierKind.SUREVOIP)
    add_url = reverse("admin:customers_customer_add")
    typed = {"reseller": account.reseller_id, "carrier_account": account.pk, "name": "Copper Studio Ltd"}
    assert client.post(add_url, form_data(client.get(add_url), **typed)).status_code == 302

    customer = Customer.objects.get(name="Copper Studio Ltd")
    job = jobs_of(customer).get()
    assert (job.operation, job.state, job.caused_by, job.carrier_account) == (
        JobOperation.PUSH, JobState.QUEUED, admin_user, account
    )
    created = LogEntry.objects.get_for_object(customer).get()
    assert (created.action, created.actor) == (LogEntry.Action.CREATE, admin_user)

    change_url = reverse("admin:customers_customer_change", args=[customer.pk])
    assert client.post(change_url, form_data(client.get(change_url), contact_name="Ann Field")).status_code == 302
    assert list(jobs_of(customer).values_list("state", flat=True)) == [JobState.SUPERSEDED, JobState.QUEUED]
    assert LogEntry.objects.get_for_object(customer).get(action=LogEntry.Action.UPDATE).actor == admin_user


def test_a_trunk_field_the_carrier_cannot_hold_is_a_form_error_and_nothing_is_saved(client, form_data, admin_user):
    customer = CustomerFactory()
    simotel = CarrierAccountFactory(reseller=customer.reseller, kind=CarrierKind.SIMOTEL)
    add_url = reverse("admin:trunks_trunk_add")
    typed = {
        "customer": customer.pk,
        "carrier_account": simotel.pk,
        "name": "Head office PBX",
        "allowed_ips": '["192.0.2.10"]',
        "channels_in": "10",
    }
    response = client.post(add_url, form_data(client.get(add_url), **typed))

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors == {"channels_in": ["Simotel cannot hold concurrent inbound calls on a trunk; leave it empty."]}
    assert 'value="Head office PBX"' in response.content.decode()  # nothing typed is lost
    assert not Trunk.objects.exists() and not SyncJob.objects.exists()
    assert not LogEntry.objects.filter(content_type__model="trunk").exists()


def test_forwards_are_written_as_the_owners_set_and_a_refused_window_saves_nothing(client, admin_user):
    subscriber = SubscriberFactory(carrier_account__kind=CarrierKind.SIMOTEL)
    add_url = reverse("admin:forwards_callforward_add")
    forward = {"subscriber": subscriber.pk, "type": "unconditional", "enabled": "on"}
    destination = inline_rows("destinations", [{"position": "0", "target": "+44 20 7946 0123", "timeout": "20"}])
    window = {"weekdays": "[0, 1, 2, 3, 4]", "start": "09:00", "end": "17:00", "timezone": "Europe/London"}

    refused = client.post(add_url, {**forward, **destination, **inline_rows("windows", [window])})
    assert refused.status_code == 200
    assert refused.context["adminform"].form.non_field_errors() == [
        "Simotel: this carrier cannot limit a unconditional forward to time windows."
    ]
    assert not CallForward.objects.exists() and not ForwardDestination.objects.exists()
    assert not SyncJob.objects.exists()

    saved = client.post(add_url, {**forward, **destination, **inline_rows("windows", [])})
    assert saved.status_code == 302
    call_forward = CallForward.objects.get(subscriber=subscriber)
    assert [(d.target, d.timeout) for d in call_forward.destinations.all()] == [("+442079460123", 20)]
    assert call_forward.carrier_account == subscriber.carrier_account
    job = jobs_of(subscriber, "subscriber_forwards").get()
    assert job.caused_by == admin_user

    # Deleting it writes the owner's set without it: an empty set is pushed.
    delete_url = reverse("admin:forwards_callforward_delete", args=[call_forward.pk])
    assert client.post(delete_url, {"post": "yes"}).status_code == 302
    assert not CallForward.objects.exists()
    assert list(jobs_of(subscriber, "subscriber_forwards").values_list("operation", "state")) == [
        (JobOperation.PUSH, JobState.SUPERSEDED),
        (JobOperation.PUSH, JobState.QUEUED),
    ]


def test_a_holiday_window_is_written_through_the_admin_with_its_dates(client, admin_user):
    import datetime as dt

    subscriber = SubscriberFactory(carrier_account__kind=CarrierKind.SIPWISE)
    start, end = dt.date.today() + dt.timedelta(days=3), dt.date.today() + dt.timedelta(days=9)
    forward = {"subscriber": subscriber.pk, "type": "busy", "enabled": "on"}
    destination = inline_rows("destinations", [{"position": "0", "target": "+44 20 7946 0123", "timeout": "20"}])
    holiday = {"weekdays": "[]", "start_date": start.isoformat(), "start": "18:00", "end_date": end.isoformat(),
               "end": "08:00", "timezone": "Europe/London"}
    saved = client.post(reverse("admin:forwards_callforward_add"),
                        {**forward, **destination, **inline_rows("windows", [holiday])})
    assert saved.status_code == 302, saved.context["adminform"].form.errors if saved.context else saved
    window = CallForward.objects.get(subscriber=subscriber).windows.get()
    assert (window.weekdays, window.start_date, window.end_date) == ([], start, end)


def test_a_new_subscribers_generated_password_is_shown_once(client, form_data, admin_user):
    customer = CustomerFactory()
    account = CarrierAccountFactory(reseller=customer.reseller)
    add_url = reverse("admin:subscribers_subscriber_add")
    typed = {"customer": customer.pk, "carrier_account": account.pk, "username": "ext2001", "domain": "sip.example.com"}
    response = client.post(add_url, form_data(client.get(add_url), **typed), follow=True)

    subscriber = Subscriber.objects.get(username="ext2001")
    assert len(subscriber.sip_password) == 24
    assert subscriber.sip_password in response.content.decode()
    assert jobs_of(subscriber).get().caused_by == admin_user
    change_page = client.get(reverse("admin:subscribers_subscriber_change", args=[subscriber.pk]))
    assert subscriber.sip_password not in change_page.content.decode()


def test_delete_queues_a_carrier_delete_and_a_refused_bulk_delete_changes_nothing(client, admin_user):
    account = CarrierAccountFactory()
    empty = CustomerFactory(reseller=account.reseller, carrier_account=account)
    busy = SubscriberFactory(customer__reseller=empty.reseller).customer
    changelist = reverse("admin:customers_customer_changelist")

    both = {"action": "delete_selected", "_selected_action": [empty.pk, busy.pk], "post": "yes"}
    response = client.post(changelist, both)
    assert response.status_code == 302
    [message] = [str(m) for m in get_messages(response.wsgi_request)]
    assert message.startswith("Nothing was changed.") and "still has subscribers" in message
    assert Customer.objects.filter(pk__in=[empty.pk, busy.pk]).count() == 2
    assert not SyncJob.objects.exists()

    client.post(changelist, {**both, "_selected_action": [empty.pk]})
    assert not Customer.objects.filter(pk=empty.pk).exists()
    job = SyncJob.objects.get(object_kind="customer", object_id=empty.pk)
    assert (job.operation, job.caused_by) == (JobOperation.DELETE, admin_user)


def test_sync_now_queues_a_push_of_each_selected_object(client, admin_user):
    numbers = NumberFactory.create_batch(2)
    stock_on_no_carrier = NumberFactory(carrier_account=None)
    changelist = reverse("admin:numbers_number_changelist")
    selected = [number.pk for number in [*numbers, stock_on_no_carrier]]

    client.post(changelist, {"action": "sync_now", "_selected_action": selected})

    queued = SyncJob.objects.filter(state=JobState.QUEUED, operation=JobOperation.PUSH, caused_by=admin_user)
    assert sorted(queued.values_list("object_id", flat=True)) == sorted(n.pk for n in numbers)
