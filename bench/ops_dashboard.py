"""The staff dashboard with 100,000 sync jobs in the table.

Four carrier accounts, 100,000 jobs between them (nearly all done, as in service: some
superseded, 200 failed, 300 queued, a few running), 2,000 customers, a reconciliation run
and open drift per account, alerts and audit entries. The dashboard (``/staff/``) is asked
through Django's test client in this process, so the time is the server's alone: the
median of ``RUNS`` requests after a warm-up. Target: under 100 ms, and as many queries at a
tenth of the jobs as at all of them.

    ./scripts/bench ops_dashboard
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_ops ./scripts/bench ops_dashboard
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")
os.environ.setdefault("HTTPS_ONLY", "false")  # the test client speaks plain HTTP

from _sync_harness import describe_setup, setup  # noqa: E402

JOBS = 100_000
RUNS = int(os.environ.get("BENCH_RUNS", "25"))
TARGET_MS = 100.0


def fill_jobs(accounts, customers, start: int, end: int) -> None:
    from django.utils import timezone

    from portal.sync.models import SyncJob

    now = timezone.now()
    rows = []
    for i in range(start, end):
        account = accounts[i % len(accounts)]
        customer = customers[i % len(customers)]
        if i % 500 == 0:
            state, error = "failed", "Number not available"
        elif i % 333 == 0:
            state, error = "queued", ""
        elif i % 10 == 0:
            state, error = "superseded", ""
        else:
            state, error = "done", ""
        rows.append(SyncJob(reseller_id=account.reseller_id, carrier_account=account, object_kind="customer",
                            object_id=customer.pk, object_repr=customer.name, customer=customer, state=state,
                            last_error=error, error_kind="permanent" if error else "",
                            finished_at=now if state in ("failed", "done", "superseded") else None,
                            record=f"customer:{customer.pk}"))
        if len(rows) == 5000:
            SyncJob.objects.bulk_create(rows)
            rows = []
    SyncJob.objects.bulk_create(rows)


def measure(client, runs: int) -> tuple[float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(3):
        assert client.get("/staff/").status_code == 200
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get("/staff/")
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
    with CaptureQueriesContext(connection) as queries:
        client.get("/staff/")
    return statistics.median(times), len(queries)


def main() -> int:
    cleanup = setup("ops_dashboard")
    from django.conf import settings
    from django.test import Client, override_settings

    failures = []
    storages = {**settings.STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    try:
        with override_settings(STORAGES=storages):
            from django.db import connection
            from django.utils import timezone

            from portal.carriers.models import CarrierAccount
            from portal.customers.models import Customer
            from portal.customers.services import update_customer
            from portal.operations.models import Alert
            from portal.sync.models import Drift, ReconcileRun
            from portal.tenancy.models import Reseller
            from tests.factories import StaffFactory

            reseller = Reseller.objects.create(name="Bench Telecom", slug="bench")
            accounts = [CarrierAccount.objects.create(
                reseller=reseller, kind="simwood", name=f"Bench Simwood {n}", base_url="http://127.0.0.1:9/simwood",
                account_id=f"93000{n}", settings={"api_user": "bench"}, credentials={"api_key": "x"})
                for n in range(4)]
            customers = Customer.objects.bulk_create([
                Customer(reseller=reseller, carrier_account=accounts[i % 4], name=f"Customer {i:05d}",
                         sync_state="synced") for i in range(2000)])
            manager = StaffFactory(reseller=reseller, manager=True).user
            for account in accounts:
                run = ReconcileRun.objects.create(reseller=reseller, carrier_account=account, state="done",
                                                  finished_at=timezone.now(), remote_objects=25_000)
                Drift.objects.bulk_create([Drift(reseller=reseller, carrier_account=account, run=run, kind="differs",
                                                 object_kind="customer", object_id=c.pk, label=c.name,
                                                 diff={"name": [c.name, c.name + " Ltd"]})
                                           for c in customers[:50]])
            for n in range(20):
                Alert.objects.create(reseller=reseller, kind="job_failed", key=f"job:{n}", subject=f"Alert {n}")
            for customer in customers[:30]:
                update_customer(customer, contact_name="Kira Lane", actor=manager)
            client = Client()
            client.force_login(manager)
            print(describe_setup())
            fill_jobs(accounts, customers, 0, JOBS // 10)
            _, small = measure(client, 1)
            fill_jobs(accounts, customers, JOBS // 10, JOBS)
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("VACUUM ANALYZE")
            median, queries = measure(client, RUNS)
            print(f"{JOBS:,} sync jobs, 4 carrier accounts, 2,000 customers; median of {RUNS} requests, server side")
            print(f"dashboard: {median:.1f} ms median, {queries} queries ({small} at a tenth of the jobs)")
            if median > TARGET_MS:
                failures.append(f"{median:.1f} ms > {TARGET_MS} ms")
            if queries != small:
                failures.append(f"{queries} queries, {small} at a tenth of the jobs")
    finally:
        cleanup()
    for failure in failures:
        print("MISSED:", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
