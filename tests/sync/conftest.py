"""A real Celery worker process for the sync tests, on the test database and broker.

The worker is a separate process (``celery worker``), so the tests that use it commit
their data (``transactional_db``) and wait for the carrier's side to change.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from portal.carriers.kinds import KIND_FIELDS
from portal.carriers.models import CarrierAccount
from portal.celery import app as celery_app
from portal.customers.services import create_customer
from portal.subscribers.models import Subscriber
from portal.subscribers.services import create_subscriber
from portal.sync.models import SyncJob, SyncState
from tests.factories import ResellerFactory
from tests.sync.consistency.infra import database_url

ROOT = Path(__file__).resolve().parents[2]


def race(*calls: Callable[[], object]) -> list[object]:
    """Run the calls in threads released at the same moment; their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(index: int, call: Callable[[], object]) -> None:
        try:
            barrier.wait()
            results[index] = call()
        finally:
            connection.close()  # each thread has its own connection

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def worker_env(**overrides: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url(),
        CELERY_BROKER_URL=celery_app.conf.broker_url,
        SECRET_KEY=settings.SECRET_KEY,
        FIELD_ENCRYPTION_KEYS=",".join(settings.FIELD_ENCRYPTION_KEYS),
        SYNC_BACKOFF_BASE="0.2",
        SYNC_BACKOFF_MAX="2",
        SYNC_PARENT_WAIT="2",
        LOG_LEVEL="WARNING",
    )
    env.update(overrides)
    return env


class WorkerProcess:
    def __init__(self, concurrency: int = 2, pool: str = "prefork", **env: str) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "portal.celery", "worker",
                f"--pool={pool}", f"--concurrency={concurrency}", "--loglevel=WARNING",
                "--without-gossip", "--without-mingle", "--without-heartbeat",
            ],
            cwd=ROOT,
            env=worker_env(**env),
        )

    def children(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True).stdout
        return [int(pid) for pid in out.split()]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(autouse=True)
def _fresh_fair_share() -> Iterator[None]:
    """Each test starts without the engine's view of which accounts wait (a per-process hint
    kept for SYNC_FAIR_SHARE_TTL): an account of the test run just before, seen waiting,
    would otherwise cut this test's accounts to a share of one job."""
    from portal.sync import engine

    engine._wanting = (0.0, [])
    yield
    engine._wanting = (0.0, [])


@pytest.fixture
def _purged_broker() -> Iterator[None]:
    """An empty queue before and after: an earlier test's messages (a stopped worker gives its
    unfinished ones back, retries wait with a countdown) would keep this test's workers busy."""
    celery_app.control.purge()
    yield
    celery_app.control.purge()


@pytest.fixture
def start_worker(django_db_setup, _purged_broker) -> Iterator[Callable[..., WorkerProcess]]:
    """Start real worker processes; all are stopped at the end of the test."""
    started: list[WorkerProcess] = []

    def start(**kwargs) -> WorkerProcess:
        worker = WorkerProcess(**kwargs)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def worker(start_worker) -> WorkerProcess:
    return start_worker()


def wait_for(condition: Callable[[], object], timeout: float = 30.0, interval: float = 0.1, message: str = ""):
    """Poll ``condition`` until it is truthy; fail with ``message`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s: {message or condition}")


@pytest.fixture
def sandbox_carrier_account(new_sandbox_account) -> Callable[..., CarrierAccount]:
    """A portal CarrierAccount backed by a fresh sandbox account of ``kind``."""

    def make(kind: str, reseller=None, **fields) -> CarrierAccount:
        created = new_sandbox_account(kind)
        spec = KIND_FIELDS[kind]
        remote = created["settings"]
        return CarrierAccount.objects.create(
            reseller=reseller or ResellerFactory(),
            kind=kind,
            name=f"{kind} {created['id']}",
            base_url=created["base_url"],
            account_id=str(remote.get(spec.account_id_key, "")) if spec.account_id_key else "",
            credentials={key: str(remote[key]) for key in spec.secrets},
            settings={k: str(v) for k, v in remote.items() if k not in spec.secrets and k != spec.account_id_key}
            | {"sandbox_account": created["id"]},
            **fields,
        )

    return make


# ----------------------------------------------------------- the sandbox side of an account
def sandbox_id(account: CarrierAccount) -> str:
    return account.settings["sandbox_account"]


@pytest.fixture
def carrier_log(sandbox_control) -> Callable[..., list[dict]]:
    """What the sandbox received for a carrier account (optionally since a Unix time), in order."""

    def entries(account: CarrierAccount, since: float | None = None) -> list[dict]:
        params = {"account": sandbox_id(account)} | ({"since": since} if since is not None else {})
        response = sandbox_control.get("/_sandbox/requests", params=params)
        response.raise_for_status()
        return sorted(response.json()["requests"], key=lambda entry: entry["seq"])

    return entries


@pytest.fixture
def carrier_state(sandbox_control) -> Callable[[CarrierAccount], dict]:
    """Everything the sandbox account behind a carrier account holds."""

    def state(account: CarrierAccount) -> dict:
        response = sandbox_control.get(f"/_sandbox/accounts/{sandbox_id(account)}/state")
        response.raise_for_status()
        return response.json()

    return state


@pytest.fixture
def account_faults(sandbox_faults) -> Callable[..., dict]:
    """Set the sandbox faults of one carrier account (no knobs: clear them); cleared after the test."""

    def put(account: CarrierAccount, **knobs) -> dict:
        return sandbox_faults({"account": sandbox_id(account), **knobs})

    return put


@contextmanager
def unreachable_broker() -> Iterator[None]:
    """This process's Celery app sends to a broker that is not there: a real connection failure.

    The app forgets its connection and producer pools on the way in and out, so that a
    connection opened earlier is not reused behind the changed URL (kombu keeps a pool
    per URL: the original one is found again afterwards).
    """

    def forget_connections() -> None:
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    conf = celery_app.conf
    original = conf.broker_url, conf.broker_write_url
    # The embedded broker is a SQLite file: one in a directory that does not exist.
    embedded = conf.broker_url.startswith("sqlite:")
    conf.broker_url = conf.broker_write_url = (
        "sqlite:////nonexistent/celery-broker.sqlite3" if embedded else "redis://127.0.0.1:1/0"
    )
    forget_connections()
    try:
        yield
    finally:
        conf.broker_url, conf.broker_write_url = original
        forget_connections()


# ------------------------------------------------------------------ changes to sync, and checks
USERS_ADD = "pbx/users/add"  # Simotel's create of a user (an extension)


def simotel_subscribers(account, usernames, actor=None) -> list[Subscriber]:
    """Subscribers (SIP extensions) of one customer on a Simotel account, through the services."""
    customer = create_customer(reseller=account.reseller, name="Harbour Dental", carrier_account=account, actor=actor)
    return [
        create_subscriber(customer=customer, username=username, domain="pbx.example.com", actor=actor)[0]
        for username in usernames
    ]


def job_of(obj, kind: str = "subscriber") -> SyncJob:
    """The latest sync job of an object."""
    return SyncJob.objects.filter(object_kind=kind, object_id=obj.pk).latest("pk")


def all_synced(objects) -> bool:
    model = type(objects[0])
    pks = [obj.pk for obj in objects]
    return model.objects.filter(pk__in=pks, sync_state=SyncState.SYNCED).count() == len(pks)

