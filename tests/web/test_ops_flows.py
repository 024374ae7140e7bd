"""What each operations page does: alerts and their digest, the team, carrier accounts,
drift resolved from the pages, the global history, the dashboard's cost."""

from __future__ import annotations

import pytest
from auditlog.models import LogEntry
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portal.carriers.models import CarrierAccount
from portal.customers.models import Customer
from portal.customers.services import create_customer, update_customer
from portal.operations import alerts
from portal.operations.models import Alert
from portal.sync.models import Drift, JobState, SyncJob
from portal.tenancy.models import Role
from tests.factories import CarrierAccountFactory, CustomerFactory, PASSWORD, StaffFactory, SyncJobFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(client):
    membership = StaffFactory(manager=True)
    client.force_login(membership.user)
    return membership


# ------------------------------------------------------------------------------ alerts
def test_a_failed_job_makes_one_digest_to_the_managers_and_a_dashboard_alert_until_acknowledged(client, manager, settings):
    settings.ALERT_CHECK_CONNECTIONS = False
    other_manager = StaffFactory(reseller=manager.reseller, manager=True)
    StaffFactory(reseller=manager.reseller)  # an agent: not mailed
    account = CarrierAccountFactory(reseller=manager.reseller, name="Northwind Simwood")
    for n in range(3):
        SyncJobFactory(failed=True, carrier_account=account, object_repr=f"Customer {n}", finished_at=timezone.now())
    SyncJobFactory(failed=True, finished_at=timezone.now())  # another reseller's
    alerts.detect()
    assert alerts.send_digests("https://portal.example") == 1  # the other reseller has no manager to mail
    ours = [m for m in mail.outbox if manager.user.email in m.to]
    assert len(ours) == 1 and set(ours[0].to) == {manager.user.email, other_manager.user.email}
    assert "3 alerts" in ours[0].subject and "refused the change to Customer 0" in ours[0].body
    assert "https://portal.example/staff/sync/" in ours[0].body
    mail.outbox.clear()
    alerts.detect()
    assert alerts.send_digests() == 0 and not mail.outbox  # nothing new: no second mail

    home = client.get("/staff/").content.decode()
    assert "Northwind Simwood refused the change to Customer 0" in home
    alert = Alert.objects.filter(reseller=manager.reseller).first()
    client.post(f"/staff/alerts/{alert.pk}/do/acknowledge/", {"next": "/staff/"})
    alert.refresh_from_db()
    assert alert.acknowledged_by == manager.user
    assert alert.subject not in client.get("/staff/").content.decode()
    alerts.detect()
    assert Alert.objects.filter(key=alert.key).count() == 1  # an acknowledged event is not raised again


def test_waiting_changes_and_found_drift_are_alerts(settings, manager):
    settings.ALERT_CHECK_CONNECTIONS = False
    settings.ALERT_PENDING_AFTER = 60
    account = CarrierAccountFactory(reseller=manager.reseller, name="Slow Carrier")
    old = SyncJobFactory(carrier_account=account)
    SyncJob.objects.filter(pk=old.pk).update(created_at=timezone.now() - timezone.timedelta(minutes=5))
    found = alerts.detect()
    assert found["stuck"] == 1
    assert Alert.objects.get(kind="job_stuck").subject == "1 change waiting for Slow Carrier"


def test_a_carrier_account_that_does_not_answer_is_an_alert(settings, manager):
    settings.ALERT_CHECK_CONNECTIONS = True
    CarrierAccountFactory(reseller=manager.reseller, name="Gone Carrier", base_url="http://127.0.0.1:9/simwood")
    alerts.detect()
    alert = Alert.objects.get(kind="connection_failing")
    assert alert.subject == "Gone Carrier: the connection test fails" and "Simwood said" in alert.detail


# -------------------------------------------------------------------------------- team
def test_a_manager_changes_a_role_and_deactivates_a_login_that_then_cannot_log_in(client, manager):
    from django.test import Client

    agent = StaffFactory(reseller=manager.reseller)
    theirs = Client()
    assert theirs.post("/accounts/login/", {"login": agent.user.email, "password": PASSWORD}).status_code == 302
    assert theirs.get("/staff/").status_code == 200
    page = client.get("/staff/team/").content.decode()
    assert agent.user.email in page and "Authenticator app" in page

    client.post(f"/staff/team/{agent.pk}/do/make-manager/")
    agent.refresh_from_db()
    assert agent.role == Role.MANAGER
    client.post(f"/staff/team/{agent.pk}/do/deactivate/")
    agent.user.refresh_from_db()
    assert not agent.user.is_active
    assert theirs.get("/staff/").status_code == 302  # their session ended
    again = Client().post("/accounts/login/", {"login": agent.user.email, "password": PASSWORD})
    assert again.status_code != 302 or "/staff" not in again.get("Location", "")
    entry = LogEntry.objects.get_for_object(agent).latest("timestamp")
    assert entry.changes_dict == {"login": ["active", "deactivated"]} and entry.actor == manager.user


def test_the_team_keeps_a_manager_and_nobody_locks_themselves_out(client, manager):
    page = client.get(f"/staff/team/{manager.pk}/").content.decode()
    assert "You cannot do this to your own login" in page
    client.post(f"/staff/team/{manager.pk}/do/deactivate/")
    manager.user.refresh_from_db()
    assert manager.user.is_active
    from django.core.exceptions import ValidationError

    from portal.accounts.services import change_role

    with pytest.raises(ValidationError, match="at least one active manager"):
        change_role(manager, Role.AGENT)  # the only manager, by anyone else (a script, the admin)
    other = StaffFactory(reseller=manager.reseller, manager=True)
    client.post(f"/staff/team/{other.pk}/do/make-agent/")
    other.refresh_from_db()
    assert other.role == Role.AGENT


# ------------------------------------------------------------------------- carrier accounts
def test_a_new_carrier_account_keeps_its_credentials_write_only_and_refuses_a_foreign_address(client, manager, settings):
    settings.CARRIER_ANY_HOST = False
    data = {"name": "Simwood main", "kind": "simwood", "enabled": "on", "base_url": "https://evil.example/v3",
            "account_id": "930001", "setting_api_user": "portal", "secret_api_key": "s3cret-key-value",
            "max_in_flight": 4, "connect_timeout": 5, "read_timeout": 15}
    bad = client.post("/staff/carriers/add/", data)
    assert bad.status_code == 200 and "credentials are sent nowhere else" in bad.content.decode()
    assert 'value="s3cret-key-value"' not in bad.content.decode()  # a secret is never rendered back
    ok = client.post("/staff/carriers/add/", {**data, "base_url": "https://api.simwood.com/v3"})
    account = CarrierAccount.objects.get(name="Simwood main")
    assert ok.status_code == 302 and account.credentials == {"api_key": "s3cret-key-value"}
    edit = client.get(f"/staff/carriers/{account.pk}/edit/").content.decode()
    assert "s3cret-key-value" not in edit and "A value is stored" in edit
    settings.CARRIER_ANY_HOST = True
    moved = client.post(f"/staff/carriers/{account.pk}/edit/", {**data, "base_url": "https://other.example/v3",
                                                                 "secret_api_key": ""})
    assert moved.status_code == 200 and "enter the API key" in moved.content.decode()
    account.refresh_from_db()
    assert account.base_url == "https://api.simwood.com/v3"


def test_test_connection_goes_through_the_service_to_the_sandbox(client, manager, sandbox_carrier_account):
    account = sandbox_carrier_account("simwood", reseller=manager.reseller)
    response = client.post(f"/staff/carriers/{account.pk}/do/test/", follow=True)
    assert "the carrier answered and the credentials work" in response.content.decode()
    CarrierAccount.objects.filter(pk=account.pk).update(credentials={"api_key": "wrong"})
    response = client.post(f"/staff/carriers/{account.pk}/do/test/", follow=True)
    assert "Simwood said" in response.content.decode()


# ------------------------------------------------------------------------------ drift
def test_drift_is_adopted_and_pushed_from_its_pages(client, manager):
    account = CarrierAccountFactory(reseller=manager.reseller, kind="surevoip",
                                    settings={"username": "portal"}, credentials={"password": "x"})
    ours = CustomerFactory(reseller=manager.reseller, carrier_account=account, name="Ours Ltd", remote_id="77",
                           phone="+442079460000")
    other = CustomerFactory(reseller=manager.reseller, carrier_account=account, name="Other Ltd", remote_id="78")
    first, second = (Drift.objects.create(reseller=manager.reseller, carrier_account=account, kind="differs",
                                          object_kind="customer", object_id=c.pk, remote_id=c.remote_id, label=c.name,
                                          diff={"name": [c.name, c.name + " (carrier)"]},
                                          theirs={"name": c.name + " (carrier)"}) for c in (ours, other))
    page = client.get(f"/staff/sync/drift/item/{first.pk}/").content.decode()
    assert "Ours Ltd (carrier)" in page and "In the portal" in page
    client.post(f"/staff/sync/drift/item/{first.pk}/do/adopt/")
    ours.refresh_from_db()
    assert ours.name == "Ours Ltd (carrier)"
    client.post(f"/staff/sync/drift/item/{second.pk}/do/push/")
    second.refresh_from_db()
    assert second.resolution == "pushed" and SyncJob.objects.filter(object_id=other.pk, state=JobState.QUEUED).exists()


# ----------------------------------------------------------------------------- history
def test_the_history_is_scoped_filterable_exported_and_says_on_behalf_of(client, manager):
    account = CarrierAccountFactory(reseller=manager.reseller)
    customer = create_customer(reseller=manager.reseller, carrier_account=account, name="Anchor Clinic",
                               actor=manager.user)
    update_customer(customer, name="Anchor Clinic Ltd", actor=manager.user)
    elsewhere = CustomerFactory(name="Elsewhere Ltd")
    update_customer(elsewhere, name="Elsewhere Two", actor=None)
    entry = LogEntry.objects.get_for_object(customer).latest("timestamp")
    LogEntry.objects.filter(pk=entry.pk).update(additional_data={"on_behalf_of": {"name": "Anchor Clinic"}})
    customer_pk = customer.pk
    from portal.customers.services import delete_customer

    delete_customer(customer, actor=manager.user)
    page = client.get("/staff/history/").content.decode()
    assert "Anchor Clinic Ltd" in page and "Elsewhere" not in page
    assert "on behalf of Anchor Clinic" in page
    deleted = client.get("/staff/history/", {"action": LogEntry.Action.DELETE}).content.decode()
    assert "Anchor Clinic Ltd" in deleted  # a deleted object's history stays in its reseller's log
    assert customer_pk
    export = b"".join(client.get("/staff/history/", {"export": "csv"}).streaming_content).decode()
    assert "Anchor Clinic Ltd" in export and "Elsewhere" not in export
    nobody = client.get("/staff/history/", {"since": "2999-01-01"}).content.decode()
    assert "No changes match these filters." in nobody


# ---------------------------------------------------------------------------- dashboard
def test_the_dashboard_costs_the_same_queries_for_many_jobs_and_accounts_as_for_few(client, manager):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/staff/").status_code == 200
        return len(queries)

    first = CarrierAccountFactory(reseller=manager.reseller)
    SyncJobFactory.create_batch(3, failed=True, carrier_account=first, finished_at=timezone.now())
    few = count()
    for _ in range(3):
        account = CarrierAccountFactory(reseller=manager.reseller)
        SyncJobFactory.create_batch(5, carrier_account=account)
        SyncJobFactory.create_batch(5, failed=True, carrier_account=account, finished_at=timezone.now())
    many = count()
    # The request budget is one read per account (the limiter's own store); everything else is grouped.
    assert many - few <= 3
    assert Customer.objects.count() == 0


# ------------------------------------------------------------------------ carrier import
def test_a_carrier_account_is_imported_with_its_customer_mapped_to_one_of_ours(client, manager, sandbox_carrier_account):
    from portal.operations import services as operation_services
    from portal.sync import engine
    from portal.sync.progress import CountingAdapter
    from portal.sync.reconcile import reading_adapter, reconcile

    account = sandbox_carrier_account("surevoip", reseller=manager.reseller)
    address = {"email": "desk@example.com", "phone": "+441179460111", "contact_name": "Kira Lane",
               "address_line1": "1 Quay Street", "city": "Bristol", "postcode": "BS1 4AA"}
    at_carrier = create_customer(reseller=manager.reseller, carrier_account=account, name="Harbour Dental", **address)
    lone = create_customer(reseller=manager.reseller, carrier_account=account, name="Quay Vets", **address)
    while engine.run_next(account.pk):
        pass
    # The portal forgets both (as if the account had been run elsewhere until now).
    Customer.objects.filter(pk__in=[at_carrier.pk, lone.pk]).delete()
    ours = CustomerFactory(reseller=manager.reseller, carrier_account=account, name="Harbour Dental Practice")

    with CountingAdapter(reading_adapter(account), account.pk) as adapter:
        run = reconcile(account, actor=manager.user, adapter=adapter)
    assert run.state == "done" and run.remote_objects >= 2

    page = client.get(f"/staff/sync/import/{account.pk}/").content.decode()
    assert "Harbour Dental" in page and "Harbour Dental Practice" in page  # the carrier's, and ours to map it to
    harbour = Drift.objects.get(kind="unknown_local", label="Harbour Dental")
    response = client.post(f"/staff/sync/import/{account.pk}/", {f"map-{harbour.pk}": ours.pk})
    operation = manager.reseller.operations.get()
    assert response["Location"] == f"/staff/operations/{operation.pk}/"
    operation_services.run(operation.pk)
    operation.refresh_from_db()
    assert operation.state == "done"
    # SureVoIP's SIP accounts name no domain: the report says so, item by item, and the rest goes on.
    assert all("SIP domain" in reason for _, _, _, reason in operation.report), operation.report
    ours.refresh_from_db()
    assert ours.name == "Harbour Dental" and ours.remote_id and ours.sync_state == "synced"
    assert Customer.objects.get(name="Quay Vets").remote_id  # the other one imported as a new customer
    assert not SyncJob.objects.filter(state=JobState.QUEUED).exists()  # nothing pushed back
    report = client.get(f"/staff/sync/drift/{account.pk}/", {"state": "resolved"}).content.decode()
    assert "Adopted theirs" in report
