"""Each resource through a token: list, filter, create, read, update, delete, its actions; another
reseller's objects are 404 everywhere; refusals come back field by field; lists run a constant
number of queries."""

from __future__ import annotations

import pytest
from auditlog.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.customers.models import Customer, CustomerStatus
from portal.forwards.models import CallForward
from portal.numbers.models import EmergencyAddress, Number, NumberStatus
from portal.subscribers.models import Subscriber
from portal.sync.models import Drift, JobState, SyncJob, SyncState
from portal.trunks.models import Trunk
from tests.factories import CustomerFactory, NumberFactory, SyncJobFactory

from .conftest import token_for

pytestmark = pytest.mark.django_db


# ------------------------------------------------------------------ scoping, for every resource
def detail_paths(w) -> list[str]:
    """Every URL that names one object of reseller ``w``."""
    c, s, n, t, acct = (w["customer"].pk, w["subscriber"].pk, w["number"].pk, w["trunk"].pk, w["account"].pk)
    job = SyncJobFactory(carrier_account=w["account"]).pk
    return [f"/api/v1/customers/{c}/", f"/api/v1/subscribers/{s}/", f"/api/v1/subscribers/{s}/forwards/",
            f"/api/v1/numbers/{n}/", f"/api/v1/numbers/{n}/forwards/", f"/api/v1/numbers/{n}/emergency-address/",
            f"/api/v1/trunks/{t}/", f"/api/v1/carrier-accounts/{acct}/", f"/api/v1/sync-jobs/{job}/"]


def test_another_resellers_objects_are_404_for_every_method(api, world):
    api.as_(world["b"]["token"])
    for path in detail_paths(world["a"]):
        for method in ("get", "put", "patch", "delete"):
            response = getattr(api, method)(path, {})
            if response.status_code == 405:
                continue
            assert response.status_code == 404, (method, path, response.status_code)
            assert response.json() == {"code": "not_found", "detail": "Not found.", "fields": {}, "errors": []}
    a = world["a"]
    for action in (f"customers/{a['customer'].pk}/sync", f"numbers/{a['number'].pk}/release",
                   f"subscribers/{a['subscriber'].pk}/reset-password", f"trunks/{a['trunk'].pk}/take-password",
                   f"carrier-accounts/{a['account'].pk}/test"):
        assert api.post(f"/api/v1/{action}/").status_code == 404, action
    a["number"].refresh_from_db()
    assert a["number"].status == NumberStatus.ASSIGNED  # nothing happened to it


def test_lists_show_only_the_callers_reseller(api, world):
    api.as_(world["b"]["token"])
    for path in ("customers", "subscribers", "numbers", "trunks", "carrier-accounts", "forwards", "sync-jobs",
                 "audit-log"):
        body = api.get(f"/api/v1/{path}/").json()
        assert "Anchor" not in str(body), path


def test_objects_of_another_reseller_cannot_be_named_in_a_write(api, world):
    a, b = world["a"], world["b"]
    response = api.as_(a["token"]).post("/api/v1/subscribers/", {
        "customer": b["customer"].pk, "username": "201", "domain": "sip.example.com"})
    assert response.status_code == 400
    assert "customer" in response.json()["fields"]
    response = api.patch(f"/api/v1/numbers/{a['stock'].pk}/", {"customer": b["customer"].pk})
    assert response.status_code == 400 and "customer" in response.json()["fields"]
    response = api.post("/api/v1/customers/", {"name": "X", "carrier_account": b["account"].pk})
    assert response.status_code == 400 and "carrier_account" in response.json()["fields"]


# ------------------------------------------------------------------ customers
def test_customers_list_filter_create_read_update_delete(api, world):
    a = world["a"]
    api.as_(a["token"])
    CustomerFactory(reseller=a["reseller"], carrier_account=a["account"], name="Quay Dental",
                    status=CustomerStatus.SUSPENDED)
    assert [c["name"] for c in api.get("/api/v1/customers/?status=suspended").json()["results"]] == ["Quay Dental"]
    assert [c["name"] for c in api.get("/api/v1/customers/?q=quay").json()["results"]] == ["Quay Dental"]
    # ?q= finds a customer by one of its numbers, typed as people type it (the staff list's filterset)
    national = "020 7946 " + a["number"].e164[-4:]
    assert [c["name"] for c in api.get("/api/v1/customers/", {"q": national}).json()["results"]] == ["Anchor Clinic"]
    names = [c["name"] for c in api.get("/api/v1/customers/?ordering=-name").json()["results"]]
    assert names == sorted(names, reverse=True)

    created = api.post("/api/v1/customers/", {
        "name": "Harbour Dental", "carrier_account": a["account"].pk, "phone": "+44 20 7946 0999",
        "external_ref": "CRM-777", "email": "desk@harbour.example"})
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["phone"] == "+442079460999"  # normalised by the model, as on the pages
    assert body["sync_state"] == SyncState.PENDING and body["reseller"] == a["reseller"].pk
    assert created["Location"] == f"http://testserver/api/v1/customers/{body['id']}/"
    assert created["ETag"] == f'W/"{body["version"]}"'
    customer = Customer.objects.get(pk=body["id"])
    # Through the service: audited with the token's user as actor, and an outbox row.
    assert LogEntry.objects.get_for_object(customer).get().actor == a["agent"]
    assert SyncJob.objects.filter(object_kind="customer", object_id=customer.pk, caused_by=a["agent"]).exists()

    assert api.get(f"/api/v1/customers/{customer.pk}/").json()["name"] == "Harbour Dental"
    patched = api.patch(f"/api/v1/customers/{customer.pk}/", {"city": "Leeds", "status": "suspended"})
    assert patched.status_code == 200 and patched.json()["city"] == "Leeds"
    assert patched.json()["version"] != body["version"]
    put = api.put(f"/api/v1/customers/{customer.pk}/",
                  {"name": "Harbour Dental Ltd", "carrier_account": a["account"].pk})
    assert put.status_code == 200 and put.json()["name"] == "Harbour Dental Ltd"

    # Deleting a customer is a manager's; one with services is refused with the reason (409).
    assert api.delete(f"/api/v1/customers/{customer.pk}/").status_code == 403
    api.as_(a["manager_token"])
    refused = api.delete(f"/api/v1/customers/{a['customer'].pk}/")
    assert refused.status_code == 409 and "remove them first" in refused.json()["detail"]
    assert api.delete(f"/api/v1/customers/{customer.pk}/").status_code == 204
    assert not Customer.objects.filter(pk=customer.pk).exists()
    assert api.get(f"/api/v1/customers/{customer.pk}/").status_code == 404


def test_customer_rights_follow_the_pages(api, world):
    a = world["a"]
    customer = a["customer"]
    api.as_(a["token"])  # an agent
    refused = api.patch(f"/api/v1/customers/{customer.pk}/", {"status": "terminated"})
    assert refused.status_code == 403 and "manager" in refused.json()["detail"]
    from tests.factories import CarrierAccountFactory

    other = CarrierAccountFactory(reseller=a["reseller"])
    assert api.patch(f"/api/v1/customers/{customer.pk}/", {"carrier_account": other.pk}).status_code == 403
    assert api.patch(f"/api/v1/customers/{customer.pk}/", {"carrier_account": a["account"].pk}).status_code == 200
    api.as_(a["manager_token"])
    assert api.patch(f"/api/v1/customers/{customer.pk}/", {"status": "terminated"}).status_code == 200
    assert api.patch(f"/api/v1/customers/{customer.pk}/", {"carrier_account": other.pk}).status_code == 200


def test_every_refusal_is_named_field_by_field_at_once(api, world):
    a = world["a"]
    response = api.as_(a["token"]).post("/api/v1/customers/", {
        "email": "not-an-email", "status": "sleeping", "carrier_account": "one", "country": "GBR"})
    assert response.status_code == 400
    fields = response.json()["fields"]
    assert set(fields) == {"name", "email", "status", "carrier_account", "country"}
    assert fields["name"] == ["This field is required."]
    # A refusal of the service (the model's rules) names its field too.
    response = api.post("/api/v1/customers/", {"name": "X", "carrier_account": a["account"].pk, "phone": "12"})
    assert response.status_code == 400
    assert response.json()["fields"] == {"phone": ["Enter the number in international format, starting with + and "
                                                   "the country code (e.g. +44 20 7946 0000)."]}
    duplicate = api.post("/api/v1/customers/", {"name": "Y", "carrier_account": a["account"].pk,
                                                "external_ref": a["customer"].external_ref})
    assert duplicate.status_code == 400
    assert "external_ref" in duplicate.json()["fields"] or duplicate.json()["errors"]


# ------------------------------------------------------------------ subscribers
def test_subscribers_and_their_password_shown_once(api, world):
    a = world["a"]
    api.as_(a["token"])
    created = api.post("/api/v1/subscribers/", {"customer": a["customer"].pk, "username": "201",
                                                "domain": "sip.example.com", "display_name": "Front desk"})
    assert created.status_code == 201, created.json()
    body = created.json()
    password = body["sip_password"]
    assert len(password) >= 20 and body["carrier_account"] == a["account"].pk  # the customer's own
    subscriber = Subscriber.objects.get(pk=body["id"])
    assert subscriber.sip_password == password
    read = api.get(f"/api/v1/subscribers/{subscriber.pk}/").json()
    assert "sip_password" not in read and "password" not in read
    assert password not in str(api.get("/api/v1/subscribers/").json())

    assert api.get("/api/v1/subscribers/?q=front").json()["count"] == 1
    assert api.get(f"/api/v1/subscribers/?customer={a['customer'].pk}").json()["count"] == 2
    patched = api.patch(f"/api/v1/subscribers/{subscriber.pk}/", {"display_name": "Reception", "status": "locked"})
    assert patched.status_code == 200 and patched.json()["status"] == "locked"
    assert api.patch(f"/api/v1/subscribers/{subscriber.pk}/", {"password": "x" * 20}).json()["fields"]["password"]

    reset = api.post(f"/api/v1/subscribers/{subscriber.pk}/reset-password/")
    assert reset.status_code == 200 and reset.json()["sip_password"] not in (password, "")
    subscriber.refresh_from_db()
    assert subscriber.sip_password == reset.json()["sip_password"]

    bad = api.post("/api/v1/subscribers/", {"customer": a["customer"].pk, "username": "no spaces!",
                                            "domain": "not a domain"})
    assert bad.status_code == 400 and set(bad.json()["fields"]) == {"username", "domain"}
    taken = api.post("/api/v1/subscribers/", {"customer": a["customer"].pk, "username": "201",
                                              "domain": "sip.example.com"})
    assert taken.status_code == 400

    moved = api.patch(f"/api/v1/subscribers/{subscriber.pk}/", {"customer": CustomerFactory(
        reseller=a["reseller"]).pk})
    assert moved.status_code == 400 and "customer" in moved.json()["fields"]
    assert api.delete(f"/api/v1/subscribers/{subscriber.pk}/").status_code == 204
    assert not Subscriber.objects.filter(pk=subscriber.pk).exists()


# ------------------------------------------------------------------ numbers
def test_numbers_add_assign_route_release(api, world):
    a = world["a"]
    api.as_(a["token"])
    added = api.post("/api/v1/numbers/", {"e164": "+44 20 7946 0555", "carrier_account": a["account"].pk})
    assert added.status_code == 201, added.json()
    number = added.json()
    assert number["e164"] == "+442079460555" and number["status"] == "available"
    bad = api.post("/api/v1/numbers/", {"e164": "020 7946 0556", "carrier_account": a["account"].pk})
    assert bad.status_code == 400 and "e164" in bad.json()["fields"]

    path = f"/api/v1/numbers/{number['id']}/"
    assigned = api.patch(path, {"customer": a["customer"].pk, "subscriber": a["subscriber"].pk})
    assert assigned.status_code == 200, assigned.json()
    assert assigned.json()["status"] == "assigned"
    other_customer = CustomerFactory(reseller=a["reseller"], carrier_account=a["account"])
    wrong = api.patch(path, {"customer": other_customer.pk})
    assert wrong.status_code == 400 and "subscriber" in wrong.json()["fields"]  # the service says why
    back = api.patch(path, {"customer": None, "subscriber": None})
    assert back.status_code == 200 and back.json()["status"] == "available"

    assert api.get("/api/v1/numbers/?status=available").json()["count"] == 2
    assert api.get("/api/v1/numbers/", {"q": "020 7946 0555"}).json()["count"] == 1
    released = api.post(f"{path}release/")
    assert released.status_code == 200 and released.json()["status"] == "released"
    assert api.post(f"{path}release/").status_code == 409
    assert api.patch(path, {"destination": "+447911123456"}).status_code == 409
    ids = [n["id"] for n in api.get("/api/v1/numbers/").json()["results"]]
    assert number["id"] not in ids  # released numbers leave the inventory…
    assert api.get("/api/v1/numbers/?status=released").json()["count"] == 1  # …and stay in the history
    assert api.delete(path).status_code == 405  # numbers are released, not deleted


def test_a_numbers_emergency_address(api, world):
    a = world["a"]
    path = f"/api/v1/numbers/{a['number'].pk}/emergency-address/"
    api.as_(a["token"])
    assert api.get(path).status_code == 404
    incomplete = api.put(path, {"name": "Anchor Clinic"})
    assert incomplete.status_code == 400
    assert set(incomplete.json()["fields"]) == {"premises", "thoroughfare", "locality", "postcode"}
    address = {"name": "Anchor Clinic", "premises": "12", "thoroughfare": "High Street", "locality": "London",
               "postcode": "sw1a 1aa"}
    saved = api.put(path, address)
    assert saved.status_code == 200 and saved.json()["postcode"] == "SW1A 1AA"
    assert EmergencyAddress.objects.get(number=a["number"]).thoroughfare == "High Street"
    assert api.get(path)["ETag"] == saved["ETag"]


# ------------------------------------------------------------------ trunks
def test_trunks(api, world):
    a = world["a"]
    api.as_(a["token"])
    created = api.post("/api/v1/trunks/", {"customer": a["customer"].pk, "name": "MainPBX", "type": "ip",
                                           "allowed_ips": ["192.0.2.10", "198.51.100.0/24"], "channels_in": 10,
                                           "max_cost_per_minute": "0.0500"})
    assert created.status_code == 201, created.json()
    trunk = created.json()
    assert trunk["allowed_ips"] == ["192.0.2.10", "198.51.100.0/24"] and trunk["password_available"] is False
    refused = api.post("/api/v1/trunks/", {"customer": a["customer"].pk, "name": "Second", "type": "ip",
                                           "allowed_ips": ["192.0.2.300"], "host": "pbx.example.com"})
    assert refused.status_code == 400
    assert set(refused.json()["fields"]) == {"host"}  # Simwood holds no host: the carrier's rule comes first
    refused = api.post("/api/v1/trunks/", {"customer": a["customer"].pk, "name": "Second", "type": "ip",
                                           "allowed_ips": ["192.0.2.300", "10.0.0.1/8"]})
    assert refused.status_code == 400 and len(refused.json()["fields"]["allowed_ips"]) == 2  # each bad one named
    path = f"/api/v1/trunks/{trunk['id']}/"
    assert api.patch(path, {"enabled": False}).json()["enabled"] is False
    assert api.get("/api/v1/trunks/?enabled=false").json()["count"] == 1
    no_password = api.post(f"{path}take-password/")
    assert no_password.status_code == 409 and "not given this trunk a password" in no_password.json()["detail"]
    Trunk.objects.filter(pk=trunk["id"]).update(password="Carrier-Made-Secret-1")
    assert api.get(path).json()["password_available"] is True
    taken = api.post(f"{path}take-password/")
    assert taken.status_code == 200 and taken.json() == {"password": "Carrier-Made-Secret-1"}
    assert api.post(f"{path}take-password/").status_code == 409  # once only
    assert api.delete(path).status_code == 204


# ------------------------------------------------------------------ forwards
def test_an_owners_forwards_as_a_set(api, world):
    a = world["a"]
    api.as_(a["token"])
    path = f"/api/v1/numbers/{a['number'].pk}/forwards/"
    empty = api.get(path)
    assert empty.json()["forwards"] == []
    wanted = {"forwards": [
        {"type": "unconditional", "enabled": False, "destinations": [{"target": "+447911123456"}]},
        {"type": "no_answer", "destinations": [{"target": "+447911123456", "timeout": 15},
                                               {"target": "sip:voicemail@pbx.example.com", "timeout": 30}],
         "windows": [{"weekdays": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:30"}]},
    ]}
    saved = api.put(path, wanted, HTTP_IF_MATCH=empty["ETag"])
    assert saved.status_code == 200, saved.json()
    body = saved.json()
    assert [f["type"] for f in body["forwards"]] == ["no_answer", "unconditional"]
    assert body["forwards"][0]["destinations"][1] == {"target": "sip:voicemail@pbx.example.com", "timeout": 30}
    assert body["sync_state"] == "pending"
    assert api.put(path, wanted, HTTP_IF_MATCH=empty["ETag"]).status_code == 412  # the set changed since
    # What the carrier cannot hold is refused under "forwards", in its words; nothing is saved.
    refused = api.put(path, {"forwards": [{"type": "busy", "destinations": [{"target": "+447911123456"}]}]})
    assert refused.status_code == 400
    assert "Simwood" in " ".join(refused.json()["fields"]["forwards"])
    assert CallForward.objects.filter(number=a["number"]).count() == 2
    typed = api.put(path, {"forwards": [{"type": "no_answer", "destinations": [{"target": "+447911123456",
                                                                               "timeout": "long"}]}]})
    assert typed.json()["fields"] == {"forwards.0.destinations.0.timeout": ["A valid integer is required."]}
    looped = api.put(path, {"forwards": [{"type": "unconditional",
                                          "destinations": [{"target": a["number"].e164}]}]})
    assert looped.status_code == 400 and "loop" in str(looped.json()["fields"]["forwards"])
    cleared = api.put(path, {"forwards": []})
    assert cleared.status_code == 200 and cleared.json()["forwards"] == []
    assert not CallForward.objects.filter(number=a["number"]).exists()


def test_forwards_one_by_one(api, world):
    a = world["a"]
    api.as_(a["token"])
    created = api.post("/api/v1/forwards/", {"number": a["number"].pk, "type": "unconditional",
                                             "destinations": [{"target": "+447911123456"}]})
    assert created.status_code == 201, created.json()
    forward = created.json()
    assert forward["owner"] == "number" and forward["number"] == a["number"].pk
    again = api.post("/api/v1/forwards/", {"number": a["number"].pk, "type": "unconditional",
                                           "destinations": [{"target": "+447911123457"}]})
    assert again.status_code == 400 and "type" in again.json()["fields"]
    ownerless = api.post("/api/v1/forwards/", {"type": "busy"})
    assert ownerless.status_code == 400
    path = f"/api/v1/forwards/{forward['id']}/"
    stale = created["ETag"]
    changed = api.patch(path, {"enabled": False}, HTTP_IF_MATCH=stale)
    assert changed.status_code == 200 and changed.json()["enabled"] is False
    assert changed.json()["destinations"] == [{"target": "+447911123456", "timeout": 20}]  # kept
    assert api.patch(path, {"enabled": True}, HTTP_IF_MATCH=stale).status_code == 412
    assert api.get(f"/api/v1/forwards/?number={a['number'].pk}&enabled=false").json()["count"] == 1
    assert api.get(f"/api/v1/forwards/?customer={a['customer'].pk}").json()["count"] == 1
    assert api.delete(path).status_code == 204
    assert not CallForward.objects.filter(number=a["number"]).exists()


# ------------------------------------------------------------------ carrier accounts, sync, drift, audit
def test_carrier_accounts_never_show_credentials_and_only_managers_test_them(api, world):
    a = world["a"]
    secret = a["account"].credentials["api_key"]
    body = api.as_(a["token"]).get("/api/v1/carrier-accounts/").json()
    assert secret not in str(body)
    assert body["results"][0]["credentials_set"] == ["api_key"]
    assert body["results"][0]["capabilities"]["number_inventory"] is True
    path = f"/api/v1/carrier-accounts/{a['account'].pk}/test/"
    assert api.post(path).status_code == 403
    tested = api.as_(a["manager_token"]).post(path)  # nothing listens at its address: the carrier's failure, said
    assert tested.status_code == 200 and tested.json()["ok"] is False and tested.json()["detail"]


def test_sync_jobs_are_read_and_failed_ones_retried(api, world):
    a = world["a"]
    api.as_(a["token"])
    failed = SyncJobFactory(carrier_account=a["account"], failed=True, object_kind="customer",
                            object_id=a["customer"].pk, object_repr=str(a["customer"]))
    done = SyncJobFactory(carrier_account=a["account"], state=JobState.DONE)
    listed = api.get("/api/v1/sync-jobs/?state=failed").json()
    assert [j["id"] for j in listed["results"]] == [failed.pk]
    assert listed["results"][0]["last_error"] == "The carrier refused the change."
    retried = api.post(f"/api/v1/sync-jobs/{failed.pk}/retry/")
    assert retried.status_code == 200 and retried.json()["state"] == "queued"
    refused = api.post(f"/api/v1/sync-jobs/{done.pk}/retry/")
    assert refused.status_code == 409 and "Only a failed job" in refused.json()["detail"]
    synced = api.post(f"/api/v1/customers/{a['customer'].pk}/sync/")
    assert synced.status_code == 202 and synced.json()[0]["object_kind"] == "customer"


def test_drift_is_read_and_resolved(api, world):
    a = world["a"]
    customer = a["customer"]
    Customer.objects.filter(pk=customer.pk).update(sync_state=SyncState.SYNCED, remote_id="C-1")
    differs = Drift.objects.create(reseller=a["reseller"], carrier_account=a["account"], kind="differs",
                                   object_kind="customer", object_id=customer.pk, remote_id="C-1",
                                   label=customer.name, diff={"city": ["", "Leeds"]},
                                   theirs={"city": "Leeds", "name": customer.name})
    unknown = Drift.objects.create(reseller=a["reseller"], carrier_account=a["account"], kind="unknown_local",
                                   object_kind="trunk", remote_id="T-9", label="Mystery trunk",
                                   theirs={"name": "Mystery trunk"})
    api.as_(a["token"])
    assert api.get("/api/v1/drift/?open=true&kind=differs").json()["results"][0]["diff"] == {"city": ["", "Leeds"]}
    bad = api.post(f"/api/v1/drift/{differs.pk}/resolve/", {"how": "sideways"})
    assert bad.status_code == 400 and "how" in bad.json()["fields"]
    pushed = api.post(f"/api/v1/drift/{differs.pk}/resolve/", {"how": "push"})
    assert pushed.status_code == 200, pushed.json()
    assert pushed.json()["resolution"] == "pushed" and pushed.json()["sync_job"]
    refused = api.post(f"/api/v1/drift/{unknown.pk}/resolve/", {"how": "push"})
    assert refused.status_code == 409 and "confirm that explicitly" in refused.json()["detail"]
    unknown.refresh_from_db()
    assert unknown.resolution_error  # the reason is kept on the item
    assert api.get("/api/v1/drift/?open=true").json()["count"] == 1


def test_the_audit_log_shows_who_changed_what_in_scope(api, world):
    a, b = world["a"], world["b"]
    api.as_(a["token"]).patch(f"/api/v1/customers/{a['customer'].pk}/", {"city": "York"})
    api.as_(b["token"]).patch(f"/api/v1/customers/{b['customer'].pk}/", {"city": "Bath"})
    entries = api.as_(a["token"]).get(f"/api/v1/audit-log/?object_type=customer&object_id={a['customer'].pk}"
                                      "&action=update").json()["results"]
    assert len(entries) == 1
    assert entries[0]["changes"]["city"] == ["", "York"] and entries[0]["actor_email"] == a["agent"].email
    assert "Bath" not in str(api.get("/api/v1/audit-log/?page_size=500").json())
    # A deleted object's entries stay visible to its reseller (a person of the reseller made them).
    api.as_(a["manager_token"]).delete(f"/api/v1/trunks/{a['trunk'].pk}/")
    deletes = api.get("/api/v1/audit-log/?object_type=trunk&action=delete").json()["results"]
    assert [e["object_id"] for e in deletes] == [a["trunk"].pk]


def test_available_numbers_come_from_the_carrier(api, world, sandbox_carrier_account):
    account = sandbox_carrier_account("simwood", reseller=world["a"]["reseller"])
    api.as_(world["a"]["token"])
    found = api.get(f"/api/v1/available-numbers/?carrier_account={account.pk}&limit=5")
    assert found.status_code == 200, found.json()
    numbers = found.json()
    assert 0 < len(numbers) <= 5 and all(n["e164"].startswith("+") for n in numbers)
    sipwise = sandbox_carrier_account("sipwise", reseller=world["a"]["reseller"])
    refused = api.get(f"/api/v1/available-numbers/?carrier_account={sipwise.pk}")
    assert refused.status_code == 400 and "sells no numbers" in refused.json()["fields"]["carrier_account"][0]
    assert api.get("/api/v1/available-numbers/?limit=1000").status_code == 400


# ------------------------------------------------------------------ query counts
@pytest.mark.parametrize("path", ["customers", "subscribers", "numbers", "trunks", "forwards", "sync-jobs",
                                  "audit-log", "carrier-accounts"])
def test_lists_run_as_many_queries_for_many_rows_as_for_few(api, world, path):
    a = world["a"]
    api.as_(a["token"])

    def queries() -> int:
        api.get(f"/api/v1/{path}/?page_size=200")  # warm: last use written, content types cached
        with CaptureQueriesContext(connection) as captured:
            assert api.get(f"/api/v1/{path}/?page_size=200").status_code == 200
        return len(captured)

    # At least one row of each (an empty page runs no query of its own, nor its prefetches).
    CallForward.objects.create(number=a["number"], type="unconditional", carrier_account=a["account"])
    SyncJobFactory(carrier_account=a["account"], caused_by=a["agent"])
    few = queries()
    for i in range(30):
        customer = CustomerFactory(reseller=a["reseller"], carrier_account=a["account"])
        number = NumberFactory(customer=customer, carrier_account=a["account"], e164=f"+44161496{i:04d}")
        CallForward.objects.create(number=number, type="unconditional", carrier_account=a["account"])
        SyncJobFactory(carrier_account=a["account"], caused_by=a["manager"])
    from tests.factories import CarrierAccountFactory, SubscriberFactory, TrunkFactory

    for _ in range(10):
        SubscriberFactory(customer=a["customer"], carrier_account=a["account"])
        TrunkFactory(customer=a["customer"], carrier_account=a["account"])
        CarrierAccountFactory(reseller=a["reseller"])
    more = queries()
    assert more == few, connection.queries[-more:]
    assert Number.objects.filter(reseller=a["reseller"]).count() > 30


def test_a_platform_admin_sees_every_reseller_and_creates_for_the_carrier_accounts_one(api, world):
    from tests.factories import SuperuserFactory

    admin_token = token_for(SuperuserFactory())
    api.as_(admin_token)
    names = {c["name"] for c in api.get("/api/v1/customers/").json()["results"]}
    assert {"Anchor Clinic", "Birch Clinic"} <= names
    refused = api.post("/api/v1/numbers/", {"e164": "+44 20 7946 0777"})
    assert refused.status_code == 400 and "carrier_account" in refused.json()["fields"]
    created = api.post("/api/v1/customers/", {"name": "Cedar Dental", "carrier_account": world["b"]["account"].pk})
    assert created.status_code == 201 and created.json()["reseller"] == world["b"]["reseller"].pk
    assert "Cedar Dental" in str(api.as_(world["b"]["token"]).get("/api/v1/customers/").json())
    assert "Cedar Dental" not in str(api.as_(world["a"]["token"]).get("/api/v1/customers/").json())


def test_api_writes_leave_no_audit_receiver_behind_and_record_the_callers_address(world):
    from django.db.models.signals import pre_save

    from auditlog.models import LogEntry

    from .conftest import Api

    a = world["a"]
    api = Api(REMOTE_ADDR="203.0.113.9").as_(a["token"])
    before = len(pre_save.receivers)
    for index in range(3):
        response = api.post("/api/v1/customers/", {"name": f"Leak check {index}", "carrier_account": a["account"].pk},
                            format="json")
        assert response.status_code == 201, response.content
    assert len(pre_save.receivers) == before, "each request left a signal receiver connected"
    entry = LogEntry.objects.filter(content_type__model="customer", action=LogEntry.Action.CREATE).latest("pk")
    assert (entry.actor, entry.remote_addr) == (a["agent"], "203.0.113.9")
