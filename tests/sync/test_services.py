"""The service layer: one transaction of desired state, audit entry and outbox row.

No worker here: these tests look at what a service call leaves in the database, and at
what it refuses before anything is saved.
"""

from __future__ import annotations

import datetime as dt

import pytest
from auditlog.models import LogEntry
from django.core.exceptions import ValidationError

from portal.carriers.kinds import CarrierKind
from portal.customers.models import Customer
from portal.customers.services import create_customer, delete_customer, update_customer
from portal.forwards.models import CallForward
from portal.forwards.services import ForwardInput, WindowInput, set_forwards
from portal.numbers.models import NumberStatus
from portal.numbers.services import add_number, assign_number, release_number
from portal.subscribers.models import Subscriber
from portal.subscribers.services import create_subscriber, delete_subscriber, reset_sip_password
from portal.sync.models import JobOperation, JobState, SyncJob
from portal.trunks.services import create_trunk
from tests.factories import CarrierAccountFactory, CustomerFactory, StaffFactory, TrunkFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff():
    return StaffFactory().user


def account_of(kind: str, reseller):
    return CarrierAccountFactory(reseller=reseller, kind=kind)


def jobs_for(obj, kind: str | None = None):
    return SyncJob.objects.filter(object_kind=kind or type(obj).__name__.lower(), object_id=obj.pk)


def test_create_saves_state_audit_and_outbox_together(staff):
    reseller = staff.staff_membership.reseller
    customer = create_customer(
        reseller=reseller, name="Copper Studio", carrier_account=account_of(CarrierKind.SUREVOIP, reseller), actor=staff
    )
    assert customer.sync_state == "pending"
    job = jobs_for(customer).get()
    assert (job.state, job.operation, job.caused_by, job.reseller) == (JobState.QUEUED, JobOperation.PUSH, staff, reseller)
    entry = LogEntry.objects.get_for_object(customer).get()
    assert entry.actor == staff and entry.action == LogEntry.Action.CREATE


def test_invalid_input_saves_nothing(staff):
    reseller = staff.staff_membership.reseller
    with pytest.raises(ValidationError) as exc:
        create_customer(reseller=reseller, name="Bad Phone Ltd", phone="12345", actor=staff)
    assert "phone" in exc.value.message_dict
    assert not Customer.objects.exists() and not SyncJob.objects.exists()
    assert not LogEntry.objects.filter(content_type__model="customer").exists()


def test_validation_says_what_full_clean_says_and_leaves_constraints_to_the_database(staff):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from portal.sync.provisioning import validate

    reseller = staff.staff_membership.reseller
    account = account_of(CarrierKind.SUREVOIP, reseller)
    CustomerFactory(reseller=reseller, carrier_account=account, external_ref="CRM-1")
    bad = Customer(reseller=reseller, carrier_account=account, name="", external_ref="CRM-1", phone="12345")
    with pytest.raises(ValidationError) as ours:
        validate(bad)
    with pytest.raises(ValidationError) as djangos:
        bad.full_clean()
    assert ours.value.message_dict == djangos.value.message_dict  # every problem at once
    assert {"name", "phone", "__all__"} <= set(ours.value.message_dict)  # the reference: a constraint

    good = Customer(reseller=reseller, carrier_account=account, name="Copper Studio", external_ref="CRM-1")
    with CaptureQueriesContext(connection) as queries:
        validate(good)
    asked = " ".join(query["sql"] for query in queries.captured_queries)
    assert "CRM-1" not in asked  # the reference is the database's to refuse...
    with pytest.raises(ValidationError) as refused:
        create_customer(reseller=reseller, name="Copper Studio", external_ref="CRM-1", carrier_account=account)
    assert refused.value.messages == ["Another customer already has this external reference."]  # ...in words
    assert not Customer.objects.filter(name="Copper Studio").exists() and not jobs_for(good).exists()


def test_a_newer_change_supersedes_the_queued_one(staff):
    reseller = staff.staff_membership.reseller
    customer = create_customer(
        reseller=reseller, name="v1", carrier_account=account_of(CarrierKind.SUREVOIP, reseller), actor=staff
    )
    update_customer(customer, name="v2", actor=staff)
    update_customer(customer, name="v3", actor=staff)
    states = list(jobs_for(customer).order_by("pk").values_list("state", flat=True))
    assert states == [JobState.SUPERSEDED, JobState.SUPERSEDED, JobState.QUEUED]


def test_objects_on_no_carrier_stay_in_the_portal(staff):
    customer = create_customer(reseller=staff.staff_membership.reseller, name="Local Only", actor=staff)
    assert not SyncJob.objects.exists()
    assert customer.pk


def test_subscriber_gets_a_strong_password_shown_once(staff):
    customer = CustomerFactory(reseller=staff.staff_membership.reseller)
    customer.carrier_account = account_of(CarrierKind.SIMOTEL, customer.reseller)
    customer.save()
    subscriber, password = create_subscriber(customer=customer, username="1001", domain="pbx.example.com", actor=staff)
    assert len(password) >= 20 and subscriber.sip_password == password
    assert subscriber.carrier_account == customer.carrier_account
    new_password = reset_sip_password(subscriber, actor=staff)
    assert new_password != password
    assert Subscriber.objects.get(pk=subscriber.pk).sip_password == new_password
    assert jobs_for(subscriber).filter(state=JobState.QUEUED).count() == 1


def test_deleting_keeps_what_the_carrier_delete_needs(staff):
    customer = CustomerFactory(reseller=staff.staff_membership.reseller)
    customer.carrier_account = account_of(CarrierKind.SIMOTEL, customer.reseller)
    customer.save()
    subscriber, _ = create_subscriber(customer=customer, username="1002", domain="pbx.example.com", actor=staff)
    # The create lands after this copy was loaded: the delete still names what the carrier has.
    Subscriber.objects.filter(pk=subscriber.pk).update(remote_id="abc123")
    pk = subscriber.pk
    delete_subscriber(subscriber, actor=staff)
    job = SyncJob.objects.get(object_kind="subscriber", object_id=pk, operation=JobOperation.DELETE)
    assert job.payload == {
        "remote_id": "abc123",
        "lookup": {"username": "1002", "domain": "pbx.example.com", "customer_remote_id": None},
    }
    assert not Subscriber.objects.filter(pk=pk).exists()


def test_a_customer_with_services_is_not_deleted(staff):
    trunk = TrunkFactory(customer__reseller=staff.staff_membership.reseller)
    with pytest.raises(ValidationError, match="still has trunks"):
        delete_customer(trunk.customer, actor=staff)
    empty = CustomerFactory(reseller=trunk.customer.reseller)
    delete_customer(empty, actor=staff)
    assert not Customer.objects.filter(name=empty.name).exists()


def test_trunk_on_a_carrier_without_trunks_is_refused(staff):
    customer = CustomerFactory(reseller=staff.staff_membership.reseller)
    customer.carrier_account = account_of(CarrierKind.SUREVOIP, customer.reseller)
    customer.save()
    with pytest.raises(ValidationError) as exc:
        create_trunk(customer=customer, name="PBX", allowed_ips=["192.0.2.10"], actor=staff)
    assert "cannot hold SIP trunks" in exc.value.message_dict["carrier_account"][0]


def test_trunk_fields_the_carrier_cannot_hold_are_refused_by_field(staff):
    customer = CustomerFactory(reseller=staff.staff_membership.reseller)
    customer.carrier_account = account_of(CarrierKind.SIMOTEL, customer.reseller)
    customer.save()
    with pytest.raises(ValidationError) as exc:
        create_trunk(customer=customer, name="PBX", allowed_ips=["192.0.2.10"], channels_in=10, actor=staff)
    assert "concurrent inbound calls" in exc.value.message_dict["channels_in"][0]
    trunk = create_trunk(customer=customer, name="PBX", allowed_ips=["192.0.2.10"], host="pbx.example.com", actor=staff)
    assert jobs_for(trunk).filter(state=JobState.QUEUED).exists()


class TestForwards:
    @pytest.fixture
    def subscriber(self, staff):
        customer = CustomerFactory(reseller=staff.staff_membership.reseller)
        customer.carrier_account = account_of(CarrierKind.SIMOTEL, customer.reseller)
        customer.save()
        subscriber, _ = create_subscriber(customer=customer, username="1003", domain="pbx.example.com", actor=staff)
        return subscriber

    def test_forwards_are_saved_as_one_set_with_one_job(self, subscriber, staff):
        set_forwards(
            subscriber,
            [ForwardInput("busy", True, [("+44 7400 123456", 20)]), ForwardInput("unconditional", False, [("+447400123457", 30)])],
            actor=staff,
        )
        forwards = {f.type: f for f in CallForward.objects.filter(subscriber=subscriber)}
        assert set(forwards) == {"busy", "unconditional"}
        assert forwards["busy"].destinations.get().target == "+447400123456"
        assert jobs_for(subscriber, "subscriber_forwards").filter(state=JobState.QUEUED).count() == 1
        set_forwards(subscriber, [ForwardInput("busy", True, [("+447400123458", 25)])], actor=staff)
        assert list(CallForward.objects.filter(subscriber=subscriber).values_list("type", flat=True)) == ["busy"]

    def test_what_the_carrier_cannot_hold_is_refused_before_saving(self, subscriber, staff):
        three = [("+447400123451", 20), ("+447400123452", 20), ("+447400123453", 20)]
        with pytest.raises(ValidationError, match="at most 1 destination"):
            set_forwards(subscriber, [ForwardInput("busy", True, three)], actor=staff)
        window = WindowInput([0, 1, 2, 3, 4], dt.time(9), dt.time(17))
        with pytest.raises(ValidationError, match="time windows"):
            set_forwards(subscriber, [ForwardInput("busy", True, three[:1], [window])], actor=staff)
        assert not CallForward.objects.exists()

    def test_loop_and_bad_destinations_are_reported_together(self, subscriber, staff):
        number = add_number(
            reseller=subscriber.customer.reseller, carrier_account=subscriber.carrier_account, e164="+442079460777", actor=staff
        )
        assign_number(number, customer=subscriber.customer, subscriber=subscriber, actor=staff)
        with pytest.raises(ValidationError) as exc:
            set_forwards(subscriber, [ForwardInput("busy", True, [("+442079460777", 20)]), ForwardInput("unconditional", True, [("nope", 20)])], actor=staff)
        assert any("loop" in m for m in exc.value.messages) and any("neither" in m for m in exc.value.messages)


def test_number_lifecycle_queues_allocation_and_release(staff):
    reseller = staff.staff_membership.reseller
    account = account_of(CarrierKind.SIMWOOD, reseller)
    number = add_number(reseller=reseller, carrier_account=account, e164="+44 20 7946 0888", actor=staff)
    assert number.e164 == "+442079460888" and number.status == NumberStatus.AVAILABLE
    customer = CustomerFactory(reseller=reseller)
    assign_number(number, customer=customer, actor=staff)
    assert number.status == NumberStatus.ASSIGNED
    release_number(number, actor=staff)
    number.refresh_from_db()
    assert (number.status, number.customer) == (NumberStatus.RELEASED, None)
    assert jobs_for(number).filter(operation=JobOperation.DELETE, state=JobState.QUEUED).exists()


@pytest.mark.django_db(transaction=True)
def test_a_change_run_again_after_a_lost_race_says_so_when_the_other_writer_deleted_its_object():
    """Two people deleted one trunk at once (the soak, PostgreSQL): one lost a deadlock, and
    its second run reloaded a trunk the other had deleted, a DoesNotExist (a 500) instead of
    words."""
    from django.db import OperationalError

    from portal.sync.provisioning import service
    from portal.trunks.models import Trunk

    trunk = TrunkFactory()
    runs = []

    @service
    def delete_it(obj):
        runs.append(obj.pk)
        if len(runs) == 1:
            Trunk.objects.filter(pk=obj.pk).delete()  # the other person's delete commits...
            raise OperationalError("database is locked")  # ...and this one lost the race

    with pytest.raises(ValidationError) as refused:
        delete_it(Trunk.objects.get(pk=trunk.pk))
    assert refused.value.messages == ["This trunk was deleted meanwhile."]
    assert len(runs) == 1


def test_forwards_set_for_a_sip_account_deleted_meanwhile_are_refused_in_words():
    """One person set a SIP account's forwards while another deleted it (the soak): the
    forwards were inserted for a row that was gone, and the commit failed on the foreign key."""
    from portal.subscribers.models import Subscriber
    from tests.factories import SubscriberFactory

    account = CarrierAccountFactory(kind=CarrierKind.SIMOTEL)
    subscriber = SubscriberFactory(carrier_account=account, customer__carrier_account=account)
    in_hand = Subscriber.objects.get(pk=subscriber.pk)
    Subscriber.objects.filter(pk=subscriber.pk).delete()  # the other person's delete
    with pytest.raises(ValidationError) as refused:
        set_forwards(in_hand, [ForwardInput("unconditional", True, [("+447400123456", 20)])])
    assert refused.value.messages == ["This SIP account was deleted meanwhile."]
    assert not CallForward.objects.exists()
