"""The staff number and customer lists at 100,000 numbers and 10,000 customers, against the admin.

Each page (first page, a filtered page, a search) is requested through Django's test
client in this process, so the time is the server's alone (no network, no browser): the
median of ``RUNS`` requests after a warm-up. The same run asks the Django admin's
changelist of the same model and data. Targets: our median under 50 ms, at most half the
admin's, and the same number of queries at a tenth of the data as at all of it.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_staff ./scripts/bench staff_lists
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HTTPS_ONLY", "off")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")

from _sync_harness import describe_setup, setup  # noqa: E402

CUSTOMERS = 10_000
NUMBERS = 100_000
RUNS = int(os.environ.get("BENCH_RUNS", "15"))
TARGET_MS = 50.0

PAGES = {
    "numbers": [
        ("first page", "/staff/numbers/", "/admin/numbers/number/"),
        ("filtered", "/staff/numbers/?status=assigned", "/admin/numbers/number/?status__exact=assigned"),
        ("search", "/staff/numbers/?q=020+3000+1234", "/admin/numbers/number/?q=%2B442030001234"),
    ],
    "customers": [
        ("first page", "/staff/customers/", "/admin/customers/customer/"),
        ("filtered", "/staff/customers/?status=suspended", "/admin/customers/customer/?status__exact=suspended"),
        ("search", "/staff/customers/?q=Customer+00321", "/admin/customers/customer/?q=Customer+00321"),
    ],
}


def fill(reseller, account, start_customer: int, end_customer: int, start_number: int, end_number: int) -> None:
    from portal.customers.models import Customer, CustomerStatus
    from portal.numbers.models import Number, NumberStatus
    from portal.sync.models import SyncState

    customers = Customer.objects.bulk_create(
        [
            Customer(reseller=reseller, carrier_account=account, name=f"Customer {i:05d}", external_ref=f"CRM-{i:05d}",
                     email=f"office{i}@customer.example", sync_state=SyncState.SYNCED,
                     status=CustomerStatus.SUSPENDED if i % 50 == 0 else CustomerStatus.ACTIVE)
            for i in range(start_customer, end_customer)
        ],
        batch_size=2000,
    )
    ids = [c.pk for c in customers] or list(Customer.objects.values_list("pk", flat=True))
    rows = []
    for i in range(start_number, end_number):
        owner = ids[i % len(ids)] if i % 5 else None  # one in five in stock
        rows.append(Number(reseller=reseller, carrier_account=account, e164=f"+4420{30000000 + i:08d}",
                           customer_id=owner, sync_state=SyncState.SYNCED,
                           status=NumberStatus.ASSIGNED if owner else NumberStatus.AVAILABLE))
        if len(rows) == 5000:
            Number.objects.bulk_create(rows)
            rows = []
    Number.objects.bulk_create(rows)


def bench_reseller():
    """The reseller the data is filled into, and its carrier account (nothing listens at its address)."""
    from portal.carriers.models import CarrierAccount
    from portal.tenancy.models import Reseller

    reseller = Reseller.objects.create(name="Bench Telecom", slug="bench")
    account = CarrierAccount.objects.create(reseller=reseller, kind="simwood", name="Bench Simwood",
                                            base_url="http://127.0.0.1:9/simwood", account_id="930001",
                                            settings={"api_user": "bench"}, credentials={"api_key": "x"})
    return reseller, account


def measure(client, path: str, runs: int) -> tuple[float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(2):
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - start) * 1000)
    with CaptureQueriesContext(connection) as queries:
        client.get(path)
    return statistics.median(times), len(queries)


def main() -> int:
    cleanup = setup("staff_lists")
    from django.conf import settings
    from django.test import Client, override_settings

    from tests.factories import StaffFactory

    storages = {**settings.STORAGES,
                "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    failures = []
    try:
        with override_settings(STORAGES=storages):
            reseller, account = bench_reseller()
            # A manager of the reseller, given the admin's staff flag: both pages see the same rows.
            manager = StaffFactory(reseller=reseller, manager=True).user
            manager.is_staff = True
            manager.save(update_fields=["is_staff"])
            client = Client()
            client.force_login(manager)
            print(describe_setup())
            fill(reseller, account, 0, CUSTOMERS // 10, 0, NUMBERS // 10)
            small = {path: measure(client, path, 1)[1] for pages in PAGES.values() for _, path, _ in pages}
            fill(reseller, account, CUSTOMERS // 10, CUSTOMERS, NUMBERS // 10, NUMBERS)
            from django.db import connection

            if connection.vendor == "postgresql":
                # The tables as autovacuum leaves them in service: statistics and visibility map.
                with connection.cursor() as cursor:
                    cursor.execute("VACUUM ANALYZE")
            print(f"{NUMBERS:,} numbers, {CUSTOMERS:,} customers; median of {RUNS} requests, server side\n")
            print(f"{'page':<24}{'ours ms':>9}{'admin ms':>10}{'ratio':>7}{'queries':>9}{'at 1/10':>9}")
            for model, pages in PAGES.items():
                for label, ours_path, admin_path in pages:
                    ours, queries = measure(client, ours_path, RUNS)
                    theirs, _ = measure(client, admin_path, RUNS)
                    ratio = ours / theirs
                    print(f"{model + ' ' + label:<24}{ours:>9.1f}{theirs:>10.1f}{ratio:>7.2f}{queries:>9}"
                          f"{small[ours_path]:>9}")
                    if ours > TARGET_MS:
                        failures.append(f"{model} {label}: {ours:.1f} ms > {TARGET_MS} ms")
                    if ratio > 0.5:
                        failures.append(f"{model} {label}: {ratio:.2f} of the admin's time > 0.5")
                    if queries != small[ours_path]:
                        failures.append(f"{model} {label}: {queries} queries, {small[ours_path]} at a tenth of the data")
    finally:
        cleanup()
    for failure in failures:
        print("MISSED:", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
