"""What the sync benchmarks share: a throwaway database, the sandbox, real worker processes.

Each benchmark calls :func:`setup` first. Without ``DATABASE_URL`` it uses a fresh SQLite
file under ``var/bench/`` and a fresh SQLite-file Celery broker beside it (the embedded
default); with a PostgreSQL ``DATABASE_URL`` it creates (and at the end drops) a database
of its own next to the one named, and uses ``CELERY_BROKER_URL`` (purged first) and
``REDIS_URL`` as given. Then: a sandbox process on a free port, SureVoIP customers that
already exist at the carrier (so that each change is exactly one request: a ``PUT`` of
the customer), and ``celery worker`` processes on the same database and broker.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
BENCH_VAR = ROOT / "var" / "bench"
sys.path.insert(0, str(ROOT))


# ------------------------------------------------------------------ database and broker
def _throwaway_postgres(url: str, name: str) -> tuple[str, Callable[[], None]]:
    """A fresh database beside the one ``url`` names; returns its URL and how to drop it."""
    import psycopg

    parts = urlsplit(url)
    database = f"{parts.path.lstrip('/') or 'portal'}_bench_{name}"
    admin_url = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))

    def run(statement: str) -> None:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(statement)

    run(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    run(f'CREATE DATABASE "{database}"')
    return urlunsplit(parts._replace(path=f"/{database}")), lambda: run(
        f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'
    )


def setup(name: str) -> Callable[[], None]:
    """Point this process (and the workers it starts) at a throwaway database; migrate it.

    Returns the clean-up to call at the end (``BENCH_KEEP=1`` keeps the database to look at).
    """
    cleanup: Callable[[], None] = lambda: None  # noqa: E731
    given = os.environ.get("DATABASE_URL", "")
    if given.startswith(("postgres://", "postgresql://")):
        os.environ["DATABASE_URL"], cleanup = _throwaway_postgres(given, name)
    else:
        BENCH_VAR.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            for path in (BENCH_VAR / f"{name}.sqlite3{suffix}", BENCH_VAR / f"{name}-broker.sqlite3{suffix}"):
                path.unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{BENCH_VAR / f'{name}.sqlite3'}"
        os.environ.setdefault("CELERY_BROKER_URL", f"sqlite:///{BENCH_VAR / f'{name}-broker.sqlite3'}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")

    import django

    django.setup()
    from django.core.management import call_command

    from portal.celery import app

    call_command("migrate", verbosity=0)
    app.control.purge()  # nothing left over from an earlier run may reach the workers
    return (lambda: None) if os.environ.get("BENCH_KEEP") else cleanup


def describe_setup() -> str:
    from django.conf import settings
    from django.db import connection

    broker = settings.CELERY_BROKER_URL.split("://", 1)[0]
    limiter = "Redis" if settings.REDIS_URL else "database"
    return f"database {connection.vendor}, broker {broker}, limiter {limiter}"


# ----------------------------------------------------------------------------- workers
class Workers:
    """``celery worker`` processes (prefork) on this process's database and broker."""

    def __init__(self, processes: int, concurrency: int) -> None:
        self.processes = [
            subprocess.Popen(
                [
                    sys.executable, "-m", "celery", "-A", "portal.celery", "worker",
                    f"--hostname=bench{index}@%h", "--pool=prefork", f"--concurrency={concurrency}",
                    f"--loglevel={os.environ.get('BENCH_WORKER_LOGLEVEL', 'WARNING')}", "--without-gossip", "--without-mingle", "--without-heartbeat",
                ],
                cwd=ROOT,
                env=dict(os.environ),
                stdout=subprocess.DEVNULL,  # the start-up banner; warnings and errors still show
            )
            for index in range(processes)
        ]  # fmt: skip

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# ------------------------------------------------------------------ carrier and changes
def surevoip_account(sandbox, **fields):
    """A portal SureVoIP account on a fresh sandbox account without SureVoIP's own hourly limit."""
    from portal.core.demo import _carrier_account
    from portal.tenancy.models import Reseller

    stamp = time.time_ns()
    reseller = Reseller.objects.create(name=f"Benchmark reseller {stamp}", slug=f"bench-{stamp}")
    account = _carrier_account(reseller, "surevoip", sandbox)
    for key, value in fields.items():
        setattr(account, key, value)
    account.save()
    sandbox.http.patch(
        f"/_sandbox/accounts/{account.settings['sandbox_account']}", json={"rate_limit_per_hour": 1_000_000_000}
    ).raise_for_status()
    return account


def customers_at_the_carrier(account, count: int) -> list:
    """``count`` synced customers that the carrier already holds: a change is one PUT."""
    from django.utils import timezone

    from portal.carriers import get_adapter
    from portal.customers.models import Customer
    from portal.sync.models import SyncState
    from portal.customers.sync import customer_spec

    customers = [
        Customer(
            reseller=account.reseller,
            carrier_account=account,
            name=f"Bench customer {index}",
            email=f"bench{index}@customer.example",
            phone=f"+44207946{index % 1000:04d}",  # Ofcom keeps these for fiction
            sync_state=SyncState.SYNCED,
            synced_at=timezone.now(),
        )
        for index in range(count)
    ]
    with get_adapter(account.kind, account.adapter_config()) as adapter:
        for customer in customers:
            customer.remote_id = adapter.create_customer(customer_spec(customer))
    return Customer.objects.bulk_create(customers)


def change_customers(customers, label: str) -> tuple[float, list[int]]:
    """One change per customer through the service layer, committed together.

    Returns the time of the commit (the clock of the drain starts there, before the
    jobs are handed to the workers) and the jobs.
    """
    from django.db import transaction

    from portal.customers.services import update_customer
    from portal.sync.models import SyncJob

    committed = []
    with transaction.atomic():
        # The first callback after the commit: it runs before the hand-offs do.
        transaction.on_commit(lambda: committed.append(time.time()))
        for customer in customers:
            update_customer(customer, name=f"{customer.name.split(' #')[0]} #{label}")
        job_ids = list(
            SyncJob.objects.filter(object_kind="customer", object_id__in=[c.pk for c in customers], state="queued")
            .values_list("pk", flat=True)
        )
    return committed[0], job_ids


def wait_until_done(job_ids: list[int], timeout: float) -> None:
    """Poll until every job has finished; fail loudly if any is failed or left behind."""
    from portal.sync.models import JobState, SyncJob

    deadline = time.monotonic() + timeout
    jobs = SyncJob.objects.filter(pk__in=job_ids)
    while jobs.filter(state__in=(JobState.QUEUED, JobState.RUNNING)).exists():
        if time.monotonic() > deadline:
            left = jobs.filter(state__in=(JobState.QUEUED, JobState.RUNNING)).count()
            raise SystemExit(f"FAIL: {left} of {len(job_ids)} jobs still open after {timeout:.0f} s")
        time.sleep(0.25)
    failed = jobs.exclude(state=JobState.DONE).count()
    if failed:
        raise SystemExit(f"FAIL: {failed} jobs did not end done")


def sandbox_requests(sandbox, account, since: float) -> list[dict]:
    """What the carrier received for ``account`` since ``since`` (Unix time)."""
    response = sandbox.http.get(
        "/_sandbox/requests", params={"account": account.settings["sandbox_account"], "since": since}
    )
    response.raise_for_status()
    return response.json()["requests"]


def set_faults(sandbox, account, **knobs) -> None:
    """Set (or with no knobs clear) the sandbox faults of ``account``."""
    response = sandbox.http.put("/_sandbox/faults", json={"account": account.settings["sandbox_account"], **knobs})
    response.raise_for_status()


def in_flight_profile(job_ids: list[int]) -> tuple[float, float, float]:
    """(mean jobs running at once over the drain, median time a job ran from claim to done,
    when the first job was claimed: Unix time)."""
    from statistics import median

    from portal.sync.models import SyncJob

    spans = list(SyncJob.objects.filter(pk__in=job_ids).values_list("started_at", "finished_at"))
    first = min(s for s, _ in spans)
    busy = sum((finished - started).total_seconds() for started, finished in spans)
    whole = (max(f for _, f in spans) - first).total_seconds()
    return busy / whole, median((finished - started).total_seconds() for started, finished in spans), first.timestamp()
