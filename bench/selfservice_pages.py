"""The self-service pages of one customer among 2,000, with 200,000 audit entries.

A customer's Activity page reads the audit entries noted as the customer's
(``additional_data["customer"]``, portal/core/audit.py) among every customer's; the home
page tells every number and phone in words. Each page is requested through Django's test
client in this process (the server's time alone: no network, no browser), logged in as the
customer's user: the median of ``RUNS`` requests after a warm-up. The same is asked of the
customer's History tab on the staff pages. Targets: every median under 50 ms, and the same
number of queries at a tenth of the data as at all of it.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_self ./scripts/bench selfservice_pages
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HTTPS_ONLY", "false")  # the test client speaks plain HTTP
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")

from _sync_harness import describe_setup, setup  # noqa: E402

CUSTOMERS = 2_000
ENTRIES = 200_000
SERVICES = 30  # numbers (with a phone each) of the customer the pages are asked for
RUNS = int(os.environ.get("BENCH_RUNS", "15"))
TARGET_MS = 50.0


def fill_entries(customers: list[int], reseller_id: int, count: int, start: int) -> None:
    """Audit entries of number changes, spread over the customers and a year, as the log notes them."""
    from auditlog.models import LogEntry
    from django.contrib.contenttypes.models import ContentType
    from django.utils import timezone

    from portal.core.models import AuditEntryOwner
    from portal.numbers.models import Number

    number_type = ContentType.objects.get_for_model(Number)
    now = timezone.now()
    rng = random.Random(start)
    rows = []
    for i in range(start, start + count):
        rows.append(LogEntry(
            content_type=number_type, object_pk=str(i), object_id=i, object_repr=f"+4420{30000000 + i:08d}",
            action=LogEntry.Action.UPDATE, changes={"destination": ["", f"+4479{11000000 + i:08d}"]},
            timestamp=now - timedelta(minutes=rng.randrange(525_600))))
        if len(rows) == 5000 or i == start + count - 1:
            # bulk_create sends no signals: file the entries as the audit log does.
            made = LogEntry.objects.bulk_create(rows)
            if made[0].pk is None:  # a database that returns no ids: read them back
                made = list(LogEntry.objects.filter(object_id__gte=made[0].object_id,
                                                    object_id__lte=made[-1].object_id).order_by("object_id"))
            AuditEntryOwner.objects.bulk_create([
                AuditEntryOwner(entry=entry, customer_id=customers[entry.object_id % len(customers)],
                                reseller_id=reseller_id, timestamp=entry.timestamp) for entry in made])
            rows = []


def measure(client, path: str, runs: int) -> tuple[float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(2):
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        client.get(path)
        times.append((time.perf_counter() - start) * 1000)
    with CaptureQueriesContext(connection) as queries:
        client.get(path)
    return statistics.median(times), len(queries)


def main() -> int:
    cleanup = setup("selfservice_pages")
    from django.conf import settings
    from django.db import connection
    from django.test import Client, override_settings

    from portal.carriers.models import CarrierAccount
    from portal.customers.models import Customer
    from portal.forwards.services import ForwardInput, set_forwards
    from portal.numbers.models import Number
    from portal.subscribers.models import Subscriber
    from portal.tenancy.models import Reseller
    from tests.factories import CustomerUserFactory, StaffFactory

    storages = {**settings.STORAGES,
                "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    failures = []
    try:
        with override_settings(STORAGES=storages):
            reseller = Reseller.objects.create(name="Bench Telecom", slug="bench")
            account = CarrierAccount.objects.create(reseller=reseller, kind="simwood", name="Bench Simwood",
                                                    base_url="http://127.0.0.1:9/simwood", account_id="930001",
                                                    settings={"api_user": "bench"}, credentials={"api_key": "x"})
            customers = Customer.objects.bulk_create([
                Customer(reseller=reseller, carrier_account=account, name=f"Customer {i:05d}")
                for i in range(CUSTOMERS)])
            ours = customers[0]
            for i in range(SERVICES):
                subscriber = Subscriber.objects.create(customer=ours, carrier_account=account, username=f"2{i:02d}",
                                                       domain="sip.bench.example", display_name=f"Desk {i}")
                number = Number.objects.create(reseller=reseller, customer=ours, carrier_account=account,
                                               e164=f"+44113496{i:04d}", subscriber=subscriber, status="assigned")
                if i % 3 == 0:
                    set_forwards(number, [ForwardInput("unconditional", True, [("+447911123456", 20)])])
            user = CustomerUserFactory(customer=ours).user
            customer_client, staff_client = Client(), Client()
            customer_client.force_login(user)
            staff_client.force_login(StaffFactory(reseller=reseller, manager=True).user)
            pages = [("self-service home", customer_client, "/my/"),
                     ("activity, first page", customer_client, "/my/activity/"),
                     ("activity, page 3", customer_client, "/my/activity/?page=3"),
                     ("staff History tab", staff_client, f"/staff/customers/{ours.pk}/history/")]
            print(describe_setup())
            ids = [c.pk for c in customers]
            fill_entries(ids, reseller.pk, ENTRIES // 10, 0)
            small = {path: measure(client, path, 1)[1] for _, client, path in pages}
            fill_entries(ids, reseller.pk, ENTRIES - ENTRIES // 10, ENTRIES // 10)
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("VACUUM ANALYZE")
            print(f"{CUSTOMERS:,} customers, {ENTRIES:,} audit entries, {SERVICES} numbers and phones on the "
                  f"customer's home; median of {RUNS} requests, server side\n")
            print(f"{'page':<24}{'ms':>8}{'queries':>9}{'at 1/10':>9}")
            for label, client, path in pages:
                median, queries = measure(client, path, RUNS)
                print(f"{label:<24}{median:>8.1f}{queries:>9}{small[path]:>9}")
                if median > TARGET_MS:
                    failures.append(f"{label}: {median:.1f} ms > {TARGET_MS} ms")
                if queries != small[path]:
                    failures.append(f"{label}: {queries} queries, {small[path]} at a tenth of the data")
    finally:
        cleanup()
    for failure in failures:
        print("MISSED:", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
