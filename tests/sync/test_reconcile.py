"""Reconciliation: drift found against the real sandbox over HTTP, and resolved both ways.

Reconciliation runs in-process; sync jobs that set up the carrier side are run with the
real engine in-process too (``land``). Where a push must reach the carrier through the
normal path, a real worker process takes it.
"""

from __future__ import annotations

import time

import httpx
import pytest
from auditlog.models import LogEntry
from django.core.management import CommandError, call_command

from portal.carriers import get_adapter
from portal.customers.models import Customer
from portal.customers.services import create_customer
from portal.forwards.models import CallForward
from portal.forwards.services import ForwardInput, set_forwards
from portal.numbers.models import Number
from portal.numbers.services import add_number
from portal.subscribers.models import Subscriber
from portal.subscribers.services import create_subscriber
from portal.sync import engine
from portal.sync.models import Drift, DriftKind, JobOperation, JobState, ReconcileRun, Resolution, RunState, SyncJob
from portal.sync.reconcile import (
    ADOPT,
    PUSH,
    DriftResolutionError,
    ReconcileBusy,
    dry_run,
    import_account,
    reconcile,
    resolve,
    resolve_open,
)
from tests.factories import StaffFactory
from tests.sync.conftest import wait_for

DOMAIN = "pbx.example.com"


# ------------------------------------------------------------------ helpers
def land() -> None:
    """Run every queued sync job in-process with the real engine, oldest first (or let a worker)."""
    deadline = time.monotonic() + 30
    while (open_jobs := SyncJob.objects.open()).exists():
        assert time.monotonic() < deadline, f"jobs still open: {list(open_jobs.values('object_kind', 'state'))}"
        job = open_jobs.filter(state=JobState.QUEUED).order_by("pk").first()
        result = engine.run_job(job.pk) if job is not None else None
        if result is None or result.state != JobState.DONE:
            time.sleep(0.05)  # a worker has it, or it waits for the account's budget
    failed = SyncJob.objects.exclude(state__in=(JobState.DONE, JobState.SUPERSEDED))
    assert not failed.exists(), list(failed.values_list("last_error", flat=True))


class Simotel:
    """The carrier's own API, called with the account's credentials: changes made "by hand"."""

    def __init__(self, account) -> None:
        config = account.adapter_config()
        self.http = httpx.Client(
            base_url=config.base_url,
            auth=(config.settings["username"], config.credentials["password"]),
            headers={"X-APIKEY": config.credentials["api_key"]},
            timeout=10,
        )

    def call(self, service: str, body: dict) -> object:
        answer = self.http.post(service, json=body).json()
        assert answer["success"] == 1, answer
        return answer["data"]

    def user(self, number: str) -> dict | None:
        users = self.call("pbx/users/search", {"alike": False, "conditions": {"number": number}})
        return users[0] if users else None

    def update_user(self, number: str, **changes) -> None:
        user = {k: v for k, v in self.user(number).items() if k not in ("date", "queues", "secret")}
        self.call("pbx/users/update", {**user, **changes})

    def add_user(self, number: str, name: str, **fields) -> str:
        body = {"name": name, "number": number, "secret": "Secret123abc", "user_type": "SIP", **fields}
        return self.call("pbx/users/add", body)["_id"]

    def remove_user(self, number: str) -> None:
        self.call("pbx/users/remove", {"_id": self.user(number)["_id"]})


@pytest.fixture
def staff():
    return StaffFactory().user


@pytest.fixture
def simotel_account(sandbox_carrier_account, staff):
    account = sandbox_carrier_account("simotel", reseller=staff.staff_membership.reseller)
    account.settings = {**account.settings, "domain": DOMAIN}
    account.save()
    return account


@pytest.fixture
def reception(simotel_account, staff):
    """Subscriber 1001 "Reception", synced to the Simotel sandbox."""
    customer = create_customer(
        reseller=simotel_account.reseller, name="Harbour Dental", carrier_account=simotel_account, actor=staff
    )
    subscriber, _ = create_subscriber(
        customer=customer, username="1001", domain=DOMAIN, display_name="Reception", actor=staff
    )
    land()
    subscriber.refresh_from_db()
    assert subscriber.sync_state == "synced" and subscriber.remote_id
    return subscriber


def open_drift(account, **filters):
    return list(Drift.objects.open().filter(carrier_account=account, **filters).order_by("pk"))


# ------------------------------------------------------------- in-process tests
@pytest.mark.django_db
def test_in_sync_account_has_no_drift(simotel_account, reception):
    run = reconcile(simotel_account)
    assert run.state == RunState.DONE and run.remote_objects == 1
    assert run.drift_found == {} and open_drift(simotel_account) == []


@pytest.mark.django_db
def test_changed_display_name_is_drift_and_adopting_takes_the_carriers_value(simotel_account, reception, staff):
    Simotel(simotel_account).update_user("1001", name="Front desk")

    run = reconcile(simotel_account, actor=staff)

    (drift,) = open_drift(simotel_account)
    assert (drift.kind, drift.object_kind, drift.object_id) == (DriftKind.DIFFERS, "subscriber", reception.pk)
    assert drift.diff == {"display_name": ["Reception", "Front desk"]}
    assert drift.run == run and run.drift_found == {"differs": 1}
    jobs_before = SyncJob.objects.count()

    resolve(drift, ADOPT, actor=staff)

    reception.refresh_from_db()
    assert reception.display_name == "Front desk" and reception.sync_state == "synced"
    assert SyncJob.objects.count() == jobs_before  # adopting queues no push back
    drift.refresh_from_db()
    assert (drift.resolution, drift.resolved_by, drift.is_open) == (Resolution.ADOPTED, staff, False)
    entry = LogEntry.objects.get_for_object(reception).filter(action=LogEntry.Action.UPDATE).latest("timestamp")
    assert entry.actor == staff and entry.changes_dict["display_name"] == ["Reception", "Front desk"]
    assert reconcile(simotel_account).drift_found == {}  # now they agree


@pytest.mark.django_db
def test_subscriber_deleted_at_the_carrier_is_missing_and_can_be_pushed_back_or_let_go(
    simotel_account, reception, staff
):
    carrier = Simotel(simotel_account)
    carrier.remove_user("1001")

    reconcile(simotel_account)
    (drift,) = open_drift(simotel_account)
    assert (drift.kind, drift.object_id, drift.label) == (DriftKind.MISSING_REMOTE, reception.pk, f"1001@{DOMAIN}")

    resolve(drift, PUSH, actor=staff)
    drift.refresh_from_db()
    assert drift.resolution == Resolution.PUSHED and drift.sync_job.caused_by == staff
    land()
    assert carrier.user("1001")["name"] == "Reception"  # created again from the portal's state

    carrier.remove_user("1001")
    reconcile(simotel_account)
    (drift,) = open_drift(simotel_account)
    resolve(drift, ADOPT, actor=staff)
    assert not Subscriber.objects.filter(pk=reception.pk).exists()
    assert not SyncJob.objects.filter(state=JobState.QUEUED).exists()  # nothing to tell the carrier
    deleted = LogEntry.objects.filter(object_pk=str(reception.pk), action=LogEntry.Action.DELETE).get()
    assert deleted.actor == staff


@pytest.mark.django_db
def test_subscriber_created_at_the_carrier_is_unknown_and_adopting_imports_it_with_its_forwards(
    simotel_account, reception, staff
):
    carrier = Simotel(simotel_account)
    policy = {"All": "", "Busy": "00442079460123", "No Answer": "", "UnAvailable": ""}
    remote_id = carrier.add_user("2001", "Warehouse", forward_policy=policy, active="no")

    reconcile(simotel_account)
    subscriber_drift, forwards_drift = open_drift(simotel_account)
    assert (subscriber_drift.kind, subscriber_drift.object_kind) == (DriftKind.UNKNOWN_LOCAL, "subscriber")
    assert subscriber_drift.remote_id == remote_id and subscriber_drift.object_id is None
    assert (forwards_drift.kind, forwards_drift.object_kind) == (DriftKind.UNKNOWN_LOCAL, "subscriber_forwards")

    with pytest.raises(DriftResolutionError, match="adopt the subscriber"):
        resolve(forwards_drift, ADOPT, actor=staff)  # its owner is not in the portal yet
    report = resolve_open(simotel_account, ADOPT, actor=staff)
    assert (report.resolved, report.failed) == (2, 0), report.errors

    imported = Subscriber.objects.get(username="2001")
    assert (imported.remote_id, imported.sync_state, imported.domain) == (remote_id, "synced", DOMAIN)
    assert (imported.display_name, imported.status) == ("Warehouse", "locked")
    assert imported.customer.name == f"Imported from {simotel_account.name}"
    (forward,) = CallForward.objects.filter(subscriber=imported)
    assert forward.type == "busy" and forward.sync_state == "synced"
    assert [d.target for d in forward.destinations.all()] == ["+442079460123"]
    assert not SyncJob.objects.filter(state=JobState.QUEUED).exists()
    created = LogEntry.objects.get_for_object(imported).get(action=LogEntry.Action.CREATE)
    assert created.actor == staff
    assert reconcile(simotel_account).drift_found == {}


@pytest.mark.django_db
def test_an_item_the_portal_cannot_take_stays_open_with_its_reason_and_the_rest_are_imported(
    simotel_account, staff
):
    carrier = Simotel(simotel_account)
    carrier.add_user("7", "Too short for a portal SIP username")
    carrier.add_user("2001", "Warehouse")
    reconcile(simotel_account)

    report = resolve_open(simotel_account, ADOPT, actor=staff)

    assert (report.resolved, report.failed) == (1, 1)
    (left,) = open_drift(simotel_account)
    assert left.label == "7" and left.resolution_error.startswith("username:")
    imported = Subscriber.objects.get(username="2001")  # its customer was made again after the rollback
    assert Customer.objects.filter(pk=imported.customer_id, name=f"Imported from {simotel_account.name}").exists()


@pytest.mark.django_db
def test_pushing_an_unknown_object_deletes_it_at_the_carrier_only_when_asked(simotel_account, reception, staff):
    carrier = Simotel(simotel_account)
    carrier.add_user("2002", "Stray")
    reconcile(simotel_account)
    (drift,) = open_drift(simotel_account)

    with pytest.raises(DriftResolutionError, match="delete it at the carrier"):
        resolve(drift, PUSH, actor=staff)
    drift.refresh_from_db()
    assert drift.is_open and "delete it at the carrier" in drift.resolution_error
    assert resolve_open(simotel_account, PUSH, actor=staff).skipped == 1

    resolve(drift, PUSH, actor=staff, delete_unknown=True)
    drift.refresh_from_db()
    assert drift.resolution == Resolution.DELETED_REMOTE
    assert drift.sync_job.operation == JobOperation.DELETE and drift.sync_job.payload["username"] == "2002"
    land()
    assert carrier.user("2002") is None and carrier.user("1001") is not None


@pytest.mark.django_db
def test_forwards_changed_at_the_carrier_differ_per_type(simotel_account, reception, staff):
    set_forwards(reception, [ForwardInput("busy", True, [("+442079460001", 20)])], actor=staff)
    land()
    Simotel(simotel_account).update_user(
        "1001", forward_policy={"All": "", "Busy": "00442079460002", "No Answer": "", "UnAvailable": ""}
    )

    reconcile(simotel_account)
    (drift,) = open_drift(simotel_account)
    assert drift.object_kind == "subscriber_forwards" and drift.object_id == reception.pk
    assert drift.diff == {
        "busy": [
            {"destinations": [["+442079460001", None]], "windows": []},
            {"destinations": [["+442079460002", None]], "windows": []},
        ]
    }
    resolve(drift, ADOPT, actor=staff)
    (forward,) = CallForward.objects.filter(subscriber=reception)
    assert [d.target for d in forward.destinations.all()] == ["+442079460002"]
    assert reconcile(simotel_account).drift_found == {}


@pytest.mark.django_db
def test_dry_run_shows_the_drift_and_changes_nothing(simotel_account, reception):
    carrier = Simotel(simotel_account)
    carrier.update_user("1001", name="Front desk")
    carrier.add_user("2003", "Stray")

    found = []
    counts = dry_run(simotel_account, found.append)

    assert sorted((f.kind, f.label) for f in found) == [
        (DriftKind.DIFFERS, f"1001@{DOMAIN}"),
        (DriftKind.UNKNOWN_LOCAL, "2003"),
    ]
    assert counts == {"differs": 1, "unknown_local": 1}
    assert not Drift.objects.exists() and not ReconcileRun.objects.exists()
    reception.refresh_from_db()
    assert reception.display_name == "Reception" and not Subscriber.objects.filter(username="2003").exists()


@pytest.mark.django_db
def test_a_new_run_replaces_open_drift_and_keeps_resolved_drift(simotel_account, reception, staff):
    carrier = Simotel(simotel_account)
    carrier.update_user("1001", name="Front desk")
    carrier.add_user("2004", "Stray")
    reconcile(simotel_account)
    differs, unknown = open_drift(simotel_account)
    resolve(differs, ADOPT, actor=staff)
    carrier.remove_user("2004")

    second = reconcile(simotel_account)

    assert second.drift_found == {} and open_drift(simotel_account) == []
    assert not Drift.objects.filter(pk=unknown.pk).exists()
    assert Drift.objects.get(pk=differs.pk).resolution == Resolution.ADOPTED


@pytest.mark.django_db
def test_one_run_per_account_at_a_time(simotel_account):
    ReconcileRun.objects.create(
        reseller=simotel_account.reseller, carrier_account=simotel_account, claimed_by=engine.worker_id()
    )
    with pytest.raises(ReconcileBusy):
        reconcile(simotel_account)


@pytest.mark.django_db
def test_a_carrier_failure_fails_the_run_and_keeps_the_last_drift(simotel_account, reception, sandbox_faults):
    Simotel(simotel_account).update_user("1001", name="Front desk")
    reconcile(simotel_account)
    sandbox_faults({"account": simotel_account.settings["sandbox_account"], "fail_next": {"count": 1, "status": 400}})

    failed = reconcile(simotel_account)

    assert failed.state == RunState.FAILED and failed.error
    assert [d.kind for d in open_drift(simotel_account)] == [DriftKind.DIFFERS]  # the last whole picture


@pytest.mark.django_db
def test_reconciliation_waits_for_the_carriers_rate_limit_instead_of_failing(
    simotel_account, reception, sandbox_faults
):
    carrier = Simotel(simotel_account)
    for number in ("3001", "3002", "3003"):
        carrier.add_user(number, f"User {number}")
    simotel_account.settings = {**simotel_account.settings, "page_size": "1"}
    simotel_account.save()
    limit = {"requests": 3, "window_seconds": 1}
    sandbox_faults({"account": simotel_account.settings["sandbox_account"], "rate_limit": limit})

    run = reconcile(simotel_account)

    assert run.state == RunState.DONE, run.error
    assert run.remote_objects == 4 and run.drift_found == {"unknown_local": 3}


# ------------------------------------------------------------------ numbers
@pytest.mark.django_db
def test_number_released_at_the_carrier_is_missing_and_adopting_releases_it_here(sandbox_carrier_account, staff):
    account = sandbox_carrier_account("simwood", reseller=staff.staff_membership.reseller)
    carrier = get_adapter("simwood", account.adapter_config())
    e164 = carrier.search_numbers(limit=1)[0].e164
    number = add_number(
        reseller=account.reseller, carrier_account=account, e164=e164, destination="+442079460777", actor=staff
    )
    land()
    number.refresh_from_db()
    carrier.release_number(number.remote_id)

    reconcile(account)
    (drift,) = open_drift(account, object_kind="number")  # (the sandbox account also has a trunk of its own)
    assert (drift.kind, drift.label) == (DriftKind.MISSING_REMOTE, e164)

    # Simwood never takes a released number back: pushing ours ends with its reason, shown on the number.
    resolve(drift, PUSH, actor=staff)
    engine.run_job(drift.sync_job_id)
    number.refresh_from_db()
    assert number.sync_state == "error" and number.sync_error

    reconcile(account)
    (drift,) = open_drift(account, object_kind="number")
    resolve(drift, ADOPT, actor=staff)
    number.refresh_from_db()
    assert (number.status, number.remote_id) == ("released", "")
    assert not SyncJob.objects.filter(state=JobState.QUEUED).exists()
    reconcile(account)
    assert open_drift(account, object_kind="number") == []


@pytest.mark.django_db
def test_trunk_allowed_ips_changed_at_the_carrier_differ_and_adopting_takes_them(simotel_account, staff):
    from portal.trunks.models import Trunk
    from portal.trunks.services import create_trunk

    customer = create_customer(reseller=simotel_account.reseller, name="Quay Ltd", carrier_account=simotel_account)
    trunk = create_trunk(customer=customer, name="quay-pbx", type="ip", allowed_ips=["192.0.2.10"], actor=staff)
    land()
    stored = Simotel(simotel_account).call("pbx/trunks/search", {"alike": False, "conditions": {"name": "quay-pbx"}})[0]
    writable = {k: v for k, v in stored.items() if k != "date"}
    permit = "192.0.2.10/255.255.255.255,198.51.100.0/255.255.255.0"
    Simotel(simotel_account).call("pbx/trunks/update", {**writable, "permit": permit})

    reconcile(simotel_account)
    (drift,) = open_drift(simotel_account)
    assert drift.object_kind == "trunk"
    assert drift.diff == {"allowed_ips": [["192.0.2.10"], ["192.0.2.10", "198.51.100.0/24"]]}

    resolve(drift, ADOPT, actor=staff)
    assert Trunk.objects.get(pk=trunk.pk).allowed_ips == ["192.0.2.10", "198.51.100.0/24"]
    assert reconcile(simotel_account).drift_found == {}


@pytest.mark.django_db
def test_surevoip_destination_changed_at_the_carrier_is_adopted_into_the_always_on_forward(
    sandbox_carrier_account, staff
):
    """SureVoIP keeps one field for both: a number the portal routes by an always-on forward keeps it so."""
    from portal.carriers.base import NumberSpec

    account = sandbox_carrier_account("surevoip", reseller=staff.staff_membership.reseller)
    customer = create_customer(
        reseller=account.reseller, name="Moor Ltd", email="office@moor.example", phone="+442079460100",
        carrier_account=account, actor=staff,
    )  # fmt: skip
    carrier = get_adapter("surevoip", account.adapter_config())
    e164 = carrier.search_numbers(limit=1)[0].e164
    number = add_number(reseller=account.reseller, carrier_account=account, e164=e164, customer=customer, actor=staff)
    land()
    always_on = [ForwardInput("unconditional", True, [("+442079460001", 20)])]
    set_forwards(Number.objects.get(pk=number.pk), always_on, actor=staff)
    land()
    number.refresh_from_db()
    assert carrier.fetch_number(number.remote_id).destination == "+442079460001"
    carrier.update_number(number.remote_id, NumberSpec(e164=e164, destination="+442079460002"))

    reconcile(account)
    (drift,) = open_drift(account, object_kind="number")  # (and the SIP account SureVoIP made: unknown)
    assert drift.diff == {"destination": ["+442079460001", "+442079460002"]}

    resolve(drift, ADOPT, actor=staff)
    number.refresh_from_db()
    (forward,) = CallForward.objects.filter(number=number)
    assert number.destination == "" and [d.target for d in forward.destinations.all()] == ["+442079460002"]
    reconcile(account)
    assert open_drift(account, object_kind="number") == []


# ------------------------------------------------------------------- import
@pytest.mark.django_db
def test_import_of_a_whole_account_reads_every_page_and_leaves_nothing_to_reconcile(
    sandbox_carrier_account, sandbox_control, staff
):
    """Onboarding: customers, their SIP accounts and numbers (with a forward), paged two by two."""
    account = sandbox_carrier_account("surevoip", reseller=staff.staff_membership.reseller)
    account.settings = {**account.settings, "page_size": "2", "domain": "sip.surevoip.example"}
    account.save()
    carrier = get_adapter("surevoip", account.adapter_config())
    from portal.carriers.base import CustomerSpec, NumberSpec

    customer_ids = [
        carrier.create_customer(
            CustomerSpec(name=f"Firm {n}", contact_name="Ann Lee", email=f"firm{n}@example.com", phone="+442079460100")
        )
        for n in range(3)
    ]
    offered = [n.e164 for n in carrier.search_numbers(limit=3)]
    numbers = [carrier.allocate_number(e164, customer) for e164, customer in zip(offered, customer_ids)]
    carrier.update_number(numbers[0], NumberSpec(e164=offered[0], destination="+442079460999"))

    run, report = import_account(account, actor=staff)

    assert run.state == RunState.DONE and (report.resolved, report.failed) == (9, 0), report.errors
    customers = Customer.objects.filter(carrier_account=account).order_by("name")
    assert [(c.name, c.remote_id, c.sync_state) for c in customers] == [
        (f"Firm {n}", customer_ids[n], "synced") for n in range(3)
    ]
    for customer in customers:
        (subscriber,) = Subscriber.objects.filter(customer=customer)
        sip_account = customer.remote_id  # SureVoIP names a customer's SIP account after the customer
        assert (subscriber.username, subscriber.remote_id) == (sip_account, f"{customer.remote_id}:{sip_account}")
        (number,) = Number.objects.filter(customer=customer)
        assert number.status == "assigned" and number.remote_id.startswith(f"{customer.remote_id}:")
    # SureVoIP's one field is the number's destination (also shown as its always-on forward): taken once.
    routed = Number.objects.get(e164=offered[0])
    assert routed.destination == "+442079460999" and not CallForward.objects.filter(number=routed).exists()
    assert not SyncJob.objects.exists()  # an import queues nothing
    paged = sandbox_control.get(
        "/_sandbox/requests", params={"account": account.settings["sandbox_account"]}
    ).json()["requests"]
    assert any("page=2" in r["query"] and r["path"].endswith("/customers") for r in paged)

    assert reconcile(account).drift_found == {}  # what was imported is what the carrier has


# ----------------------------------------------------------------- the command
@pytest.mark.django_db
def test_command_dry_run_prints_and_records_nothing(simotel_account, reception, capsys):
    Simotel(simotel_account).update_user("1001", name="Front desk")
    call_command("reconcile", simotel_account.name, "--dry-run")
    out = capsys.readouterr().out
    assert "differs" in out and "Front desk" in out and "nothing was recorded" in out
    assert not Drift.objects.exists()


@pytest.mark.django_db
def test_command_adopt_imports_and_push_resolves(simotel_account, reception, staff, capsys):
    carrier = Simotel(simotel_account)
    carrier.add_user("2005", "Stray")
    carrier.update_user("1001", name="Front desk")

    call_command("reconcile", str(simotel_account.pk), "--push", "--as", staff.email)
    out = capsys.readouterr().out
    assert "1 differs, 1 unknown local" in out and "pushed: 1" in out and "left open" in out
    land()
    assert carrier.user("1001")["name"] == "Reception"

    call_command("reconcile", simotel_account.name, "--adopt", "--as", staff.email)
    assert "adopted: 1, failed: 0" in capsys.readouterr().out
    assert Subscriber.objects.get(username="2005").remote_id


@pytest.mark.django_db
@pytest.mark.parametrize(
    "arguments, message",
    [
        (["nobody"], "no carrier account"),
        (["{account}", "--delete-unknown"], "goes with --push"),
        (["{account}", "--as", "ghost@example.com"], "no user"),
    ],
)
def test_command_refuses_what_it_cannot_do(simotel_account, arguments, message):
    with pytest.raises(CommandError, match=message):
        call_command("reconcile", *[a.format(account=simotel_account.pk) for a in arguments])


# ------------------------------------------------------- with a real worker
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_periodic_task_records_drift_and_pushing_ours_lands_at_the_carrier(
    worker, simotel_account, reception, staff, settings
):
    from portal.sync.tasks import reconcile_all

    assert settings.CELERY_BEAT_SCHEDULE["reconcile-accounts"]["task"] == "portal.sync.tasks.reconcile_all"
    carrier = Simotel(simotel_account)
    carrier.update_user("1001", name="Front desk")

    reconcile_all.delay()
    run = wait_for(
        lambda: ReconcileRun.objects.filter(carrier_account=simotel_account, state=RunState.DONE).first(),
        timeout=60,
        message="the periodic reconciliation never ran",
    )
    assert run.drift_found == {"differs": 1}

    (drift,) = open_drift(simotel_account)
    resolve(drift, PUSH, actor=staff)
    wait_for(lambda: carrier.user("1001")["name"] == "Reception", timeout=60, message="push never landed")
    wait_for(lambda: SyncJob.objects.get(pk=drift.sync_job_id).state == JobState.DONE)
