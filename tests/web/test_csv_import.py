"""CSV import and export: a dry run that saves nothing, rows through the services, a per-row
report, round trips, and bad files refused with a clear reason."""

from __future__ import annotations

import pytest

from portal.customers.models import Customer
from portal.numbers.models import Number
from portal.operations import csvio, services
from portal.operations.models import Operation, OperationState
from portal.subscribers.models import Subscriber
from portal.sync.models import SyncJob
from tests.factories import CarrierAccountFactory, CustomerFactory, StaffFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    membership = StaffFactory(manager=True)
    CarrierAccountFactory(reseller=membership.reseller, name="Main")
    client.force_login(membership.user)
    return membership


def upload(client, object_type: str, text: str | bytes, name="import.csv"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = text.encode() if isinstance(text, str) else text
    return client.post("/staff/import/", {"object_type": object_type,
                                          "file": SimpleUploadedFile(name, data, content_type="text/csv")})


def checked(client, response) -> Operation:
    """The operation a valid upload made, checked by running its dry run here (as a worker would)."""
    assert response.status_code == 302, response.content.decode()[:3000]
    operation = Operation.objects.latest("pk")
    services.run(operation.pk)
    operation.refresh_from_db()
    return operation


CUSTOMERS = (
    "name,external_ref,email,phone,country\n"
    "Harbour Dental,HD-1,desk@harbour.example,020 7946 0123,GB\n"
    "Anchor Clinic,AC-1,not-an-email,,GB\n"
    "Quay Vets,QV-1,,+353 1 234 5678,IE\n"
)


def test_a_dry_run_reports_each_row_and_saves_nothing_then_the_good_rows_are_applied(client, staff):
    operation = checked(client, upload(client, "customers", CUSTOMERS))
    assert operation.state == OperationState.CHECKED
    assert operation.summary == {"created": 2, "error": 1}
    lines = {line: (outcome, reason) for line, outcome, label, reason in operation.report}
    assert lines[2][0] == "created" and lines[4][0] == "created"
    assert lines[3][0] == "error" and "email" in lines[3][1]
    assert not Customer.objects.exists() and not SyncJob.objects.exists()
    page = client.get(f"/staff/operations/{operation.pk}/").content.decode()
    assert "Apply: 2 rows" in page and "Enter a valid email address" in page

    client.post(f"/staff/operations/{operation.pk}/")
    operation.refresh_from_db()
    assert operation.state == OperationState.QUEUED
    services.run(operation.pk)
    operation.refresh_from_db()
    assert operation.state == OperationState.DONE and operation.summary == {"created": 2, "error": 1}
    harbour = Customer.objects.get(external_ref="HD-1")
    assert harbour.phone == "+442079460123"  # typed nationally, read in the customer's country
    assert Customer.objects.get(external_ref="QV-1").phone == "+35312345678"
    assert harbour.carrier_account.name == "Main"
    assert SyncJob.objects.filter(object_kind="customer").count() == 2  # through the service: queued for the carrier
    from auditlog.models import LogEntry

    assert LogEntry.objects.get_for_object(harbour).get().actor == staff.user


def test_the_export_round_trips_into_an_update(client, staff):
    CustomerFactory(reseller=staff.reseller, name="Harbour Dental", external_ref="HD-1",
                    carrier_account=staff.reseller.carrier_accounts.get())
    exported = b"".join(client.get("/staff/export/customers.csv").streaming_content).decode()
    assert exported.splitlines()[0].startswith("id,name,external_ref")
    assert checked(client, upload(client, "customers", exported)).summary == {"unchanged": 1}
    edited = exported.replace("Harbour Dental", "Harbour Dental Ltd")
    operation = checked(client, upload(client, "customers", edited))
    assert operation.summary == {"updated": 1}
    services.apply_csv(operation, staff.user)
    services.run(operation.pk)
    assert Customer.objects.get().name == "Harbour Dental Ltd"  # export, edit, import = update


def test_formulas_are_refused_on_import_and_neutralised_on_export(client, staff):
    operation = checked(client, upload(client, "customers", "name,email\n=HYPERLINK(\"http://x\"),a@b.example\n"))
    assert operation.summary == {"error": 1} and "formula" in operation.report[0][3]
    CustomerFactory(reseller=staff.reseller, name="@SUM(A1)", contact_name="-2+3")
    exported = b"".join(client.get("/staff/export/customers.csv").streaming_content).decode()
    assert "'@SUM(A1)" in exported and "'-2+3" in exported


@pytest.mark.parametrize("data, reason", [
    ("name,email\nCafé Été,a@b.example\n".encode("latin-1"), "not UTF-8"),
    ("nom,courriel\nHarbour,a@b.example\n", "has no “name” column"),
    ("", "empty"),
    ("name,email\n", "no rows"),
    ("name\nA,B,C\n", "more cells"),
])
def test_bad_files_get_a_clear_reason_and_change_nothing(client, staff, data, reason):
    response = upload(client, "customers", data)
    assert response.status_code == 200
    assert reason in response.content.decode() and "Nothing was changed" in response.content.decode()
    assert not Operation.objects.exists() and not Customer.objects.exists()


def test_a_file_too_large_is_refused(client, staff, settings):
    settings.CSV_IMPORT_MAX_BYTES = 1000
    response = upload(client, "customers", "name\n" + "x\n" * 600)
    assert "the portal takes up to" in response.content.decode() and not Operation.objects.exists()


def test_numbers_and_sip_accounts_find_their_customer_and_take_numbers_typed_any_way(client, staff):
    customer = CustomerFactory(reseller=staff.reseller, name="Harbour Dental", external_ref="HD-1", country="GB",
                               carrier_account=staff.reseller.carrier_accounts.get())
    subs = checked(client, upload(client, "subscribers", "customer,username,domain,display_name\n"
                                                         "HD-1,201,sip.harbour.example,Reception\n"
                                                         "Nobody,202,sip.harbour.example,\n"))
    services.apply_csv(subs, staff.user)
    services.run(subs.pk)
    assert Subscriber.objects.get(username="201").customer == customer
    numbers = checked(client, upload(client, "numbers", "number,customer,subscriber,destination\n"
                                                        "020 7946 0001,HD-1,201,\n"
                                                        "0044 20 7946 0002,HD-1,,07911 123456\n"
                                                        "12,HD-1,,\n"))
    assert numbers.summary == {"created": 2, "error": 1}
    services.apply_csv(numbers, staff.user)
    services.run(numbers.pk)
    first, second = Number.objects.order_by("e164")
    assert first.e164 == "+442079460001" and first.subscriber.username == "201"
    assert second.destination == "+447911123456" and second.customer == customer


def test_another_resellers_ids_are_errors_not_updates(client, staff):
    theirs = CustomerFactory(name="Elsewhere Ltd")
    operation = checked(client, upload(client, "customers", f"id,name\n{theirs.pk},Mine now\n"))
    assert operation.summary == {"error": 1} and "no customer with id" in operation.report[0][3]
    theirs.refresh_from_db()
    assert theirs.name == "Elsewhere Ltd"


def test_neutralise_keeps_numbers_and_marks_formulas():
    assert csvio.neutralise("+442079460001") == "+442079460001"
    assert csvio.neutralise("-12.5") == "-12.5"
    assert csvio.neutralise("=1+1") == "'=1+1"
    assert csvio.neutralise("+cmd|' /C calc'!A0") == "'+cmd|' /C calc'!A0"
