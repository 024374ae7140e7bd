"""A real Celery worker process for the sync tests, on the test database and broker.

The worker is a separate process (``celery worker``), so the tests that use it commit
their data (``transactional_db``) and wait for the carrier's side to change.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from portal.carriers.kinds import KIND_FIELDS
from portal.carriers.models import CarrierAccount
from portal.celery import app as celery_app
from tests.factories import ResellerFactory

ROOT = Path(__file__).resolve().parents[2]


def test_database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def worker_env(**overrides: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=test_database_url(),
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


@pytest.fixture(scope="session")
def _purged_broker():
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
