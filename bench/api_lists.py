"""The REST API at 100,000 numbers and 10,000 customers: its lists, and 1,000 creates.

Lists: each (first page, a filtered page, a search) is requested with a token through Django's
test client in this process, so the time is the server's alone (no network): the median of
``RUNS`` requests after a warm-up, and the queries it runs, which must be as many at a tenth
of the data as at all of it. Target: every median under 50 ms.

Creates: 1,000 customers POSTed one by one, each with its own Idempotency-Key as a CRM
would send them, through the customer service: validation, the row, its audit entry and its
outbox row (a sync job), and the hand-over of the job to the broker after the commit (no
worker runs: the carrier is not part of this figure). Target: under 20 s for all of them.

The token's request budget is lifted for the run (API_THROTTLE_RATE): the figures are the
server's, not the budget's.

    ./scripts/bench api_lists
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_api CELERY_BROKER_URL=redis://127.0.0.1:6379/10 \
        REDIS_URL=redis://127.0.0.1:6379/11 ./scripts/bench api_lists
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HTTPS_ONLY", "off")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")
os.environ.setdefault("API_THROTTLE_RATE", "100000000/min")

from _sync_harness import describe_setup, setup  # noqa: E402

CUSTOMERS = 10_000
NUMBERS = 100_000
CREATES = 1_000
RUNS = int(os.environ.get("BENCH_RUNS", "15"))
LIST_TARGET_MS = 50.0
CREATE_TARGET_S = 20.0

PAGES = [
    ("numbers, first page", "/api/v1/numbers/"),
    ("numbers, filtered", "/api/v1/numbers/?status=assigned&sync_state=synced"),
    ("numbers, search", "/api/v1/numbers/?q=020+3000+1234"),
    ("numbers, page 100", "/api/v1/numbers/?page=100"),
    ("customers, first page", "/api/v1/customers/"),
    ("customers, filtered", "/api/v1/customers/?status=suspended"),
    ("customers, search", "/api/v1/customers/?q=Customer+00321"),
    ("sync jobs, first page", "/api/v1/sync-jobs/"),
]


def create_customers(client, account, first: int, last: int) -> tuple[float, float, int]:
    """Wall time, this process's CPU time (the machine is shared: the difference is others' load), jobs."""
    from portal.sync.models import SyncJob

    jobs_before = SyncJob.objects.count()
    start, cpu = time.perf_counter(), time.process_time()
    for index in range(first, last):
        response = client.post(
            "/api/v1/customers/",
            {"name": f"API customer {index:04d}", "external_ref": f"API-{index:04d}", "carrier_account": account.pk,
             "email": f"desk{index}@api.example", "phone": f"+44161496{index % 1000:04d}", "city": "Manchester"},
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
        )
        assert response.status_code == 201, (index, response.content[:300])
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    return elapsed, cpu, SyncJob.objects.count() - jobs_before


def settle() -> None:
    """The database as it is in service some time after a bulk load: on PostgreSQL vacuumed and
    analysed (as autovacuum leaves it), on SQLite with the write-ahead log folded in (as its
    automatic checkpoints leave it), so that the next requests do not pay for the load."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM ANALYZE")
        else:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def main() -> int:
    cleanup = setup("api_lists")
    from django.conf import settings
    from django.test import Client, override_settings
    from staff_lists import bench_reseller, fill, measure

    from portal.apitokens.services import create_token
    from portal.celery import app
    from tests.factories import StaffFactory

    storages = {**settings.STORAGES,
                "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    failures = []
    try:
        with override_settings(STORAGES=storages):
            reseller, account = bench_reseller()
            manager = StaffFactory(reseller=reseller, manager=True).user
            token = create_token(manager, description="Benchmark", write_enabled=True).plaintext
            client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
            print(describe_setup())
            # A tenth of everything (the creates too, so that there are sync jobs to list), then the rest.
            fill(reseller, account, 0, CUSTOMERS // 10, 0, NUMBERS // 10)
            created_in, cpu, jobs = create_customers(client, account, 0, CREATES // 10)
            small = {path: measure(client, path, 1)[1] for _, path in PAGES}
            fill(reseller, account, CUSTOMERS // 10, CUSTOMERS, NUMBERS // 10, NUMBERS)
            settle()
            more_in, more_cpu, more_jobs = create_customers(client, account, CREATES // 10, CREATES)
            created_in, cpu, jobs = created_in + more_in, cpu + more_cpu, jobs + more_jobs
            app.control.purge()  # the jobs' messages: no worker is part of this benchmark
            settle()
            print(f"{NUMBERS:,} numbers, {CUSTOMERS + CREATES:,} customers, {jobs:,} sync jobs; "
                  f"median of {RUNS} requests, server side\n")
            print(f"{'list':<26}{'median ms':>10}{'queries':>9}{'at 1/10':>9}")
            for label, path in PAGES:
                median, queries = measure(client, path, RUNS)
                print(f"{label:<26}{median:>10.1f}{queries:>9}{small[path]:>9}")
                if median > LIST_TARGET_MS:
                    failures.append(f"{label}: {median:.1f} ms > {LIST_TARGET_MS} ms")
                if queries != small[path]:
                    failures.append(f"{label}: {queries} queries, {small[path]} at a tenth of the data")
            per = created_in / CREATES * 1000
            print(f"\n{CREATES:,} customers created through the API in {created_in:.1f} s "
                  f"({per:.1f} ms each; {jobs:,} outbox rows written); CPU of this process {cpu:.1f} s")
            if created_in > CREATE_TARGET_S:
                failures.append(f"creates: {created_in:.1f} s > {CREATE_TARGET_S} s")
            if jobs != CREATES:
                failures.append(f"creates: {jobs} outbox rows, not {CREATES}")
    finally:
        cleanup()
    for failure in failures:
        print("MISSED:", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
