"""The real parts the consistency run drives: sandbox accounts, worker processes, a broker proxy.

Shared by the CI test (``tests/sync/test_consistency.py``) and the soak (``bench/sync_soak.py``),
so neither needs pytest fixtures.
"""

from __future__ import annotations

import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

ROOT = Path(__file__).resolve().parents[3]


# ------------------------------------------------------------------------ carrier accounts
def carrier_account(control: httpx.Client, kind: str, reseller, **fields):
    """A portal CarrierAccount backed by a fresh sandbox account of ``kind``."""
    from portal.carriers.kinds import KIND_FIELDS
    from portal.carriers.models import CarrierAccount

    response = control.post("/_sandbox/accounts", json={"carrier": kind})
    response.raise_for_status()
    created = response.json()
    spec = KIND_FIELDS[kind]
    remote = created["settings"]
    return CarrierAccount.objects.create(
        reseller=reseller,
        kind=kind,
        name=f"{kind} {created['id']}",
        base_url=created["base_url"],
        account_id=str(remote.get(spec.account_id_key, "")) if spec.account_id_key else "",
        credentials={key: str(remote[key]) for key in spec.secrets},
        settings={k: str(v) for k, v in remote.items() if k not in spec.secrets and k != spec.account_id_key}
        | {"sandbox_account": created["id"]},
        **fields,
    )


def sandbox_state(control: httpx.Client, account) -> dict:
    response = control.get(f"/_sandbox/accounts/{account.settings['sandbox_account']}/state")
    response.raise_for_status()
    return response.json()


# ------------------------------------------------------------------------------- workers
class Worker:
    """One ``celery worker`` process (prefork) on the given environment."""

    def __init__(self, env: dict[str, str], name: str, concurrency: int = 2) -> None:
        self.name = name
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "portal.celery", "worker",
                f"--hostname={name}@%h", "--pool=prefork", f"--concurrency={concurrency}", "--loglevel=ERROR",
                "--without-gossip", "--without-mingle", "--without-heartbeat",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
        )  # fmt: skip

    def children(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True).stdout
        return [int(pid) for pid in out.split()]

    def kill(self) -> None:
        """A crash: the main process and its pool children die at once (SIGKILL)."""
        children = self.children()
        for pid in [self.process.pid, *children]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


class Workers:
    """A pool of workers the fault injector may kill and restart; stopped together at the end."""

    def __init__(self, env: dict[str, str], count: int = 2, concurrency: int = 2) -> None:
        self.env, self.concurrency = env, concurrency
        self.lock = threading.Lock()
        self.started = 0
        self.workers = [self._start() for _ in range(count)]

    def _start(self) -> Worker:
        self.started += 1
        return Worker(self.env, f"consistency{self.started}", self.concurrency)

    def kill_child(self, pick: int) -> bool:
        """SIGKILL one pool child (the prefork parent starts another one)."""
        with self.lock:
            worker = self.workers[pick % len(self.workers)]
            children = worker.children()
            if not children:
                return False
            try:
                os.kill(children[pick % len(children)], signal.SIGKILL)
            except ProcessLookupError:
                return False
            return True

    def kill_and_restart(self, pick: int) -> None:
        with self.lock:
            index = pick % len(self.workers)
            self.workers[index].kill()
            self.workers[index] = self._start()

    def revive(self) -> int:
        """Start again every worker whose process ended on its own, as a supervisor (systemd)
        does in production: a pool child killed while the pool was starting its replacement
        ends the whole worker ("Could not start worker processes"). How many were started."""
        with self.lock:
            dead = [i for i, worker in enumerate(self.workers) if worker.process.poll() is not None]
            for index in dead:
                self.workers[index].kill()
                self.workers[index] = self._start()
            self.revived = getattr(self, "revived", 0) + len(dead)
            return len(dead)

    def stop(self) -> None:
        with self.lock:
            for worker in self.workers:
                worker.stop()


def worker_environment(database_url: str, broker_url: str, **overrides: str) -> dict[str, str]:
    from django.conf import settings

    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        CELERY_BROKER_URL=broker_url,
        SECRET_KEY=settings.SECRET_KEY,
        FIELD_ENCRYPTION_KEYS=",".join(settings.FIELD_ENCRYPTION_KEYS),
        # Short waits, so that a run's faults are over within seconds, not minutes.
        SYNC_BACKOFF_BASE="0.2",
        SYNC_BACKOFF_MAX="2",
        SYNC_PARENT_WAIT="2",
        SYNC_UNANSWERED_REST="0.5",
        SYNC_UNANSWERED_REST_MAX="2",
        SYNC_REDELIVER_AFTER="5",
        LOG_LEVEL="ERROR",
    )
    env.update(overrides)
    return env


def database_url() -> str:
    from django.db import connection

    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


# --------------------------------------------------------------------------- broker proxy
class BrokerProxy:
    """A TCP proxy in front of a networked broker (Redis, RabbitMQ), in a thread of this process.

    The shared broker server is never restarted: "the broker dies" here means every
    connection through the proxy is dropped at once and new ones are refused (accepted and
    closed) for a while — what clients see of a broker that went away and came back.
    """

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or (5672 if parts.scheme.startswith("amqp") else 6379))
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        port = self.listener.getsockname()[1]
        netloc = parts.netloc.rsplit("@", 1)
        host = f"127.0.0.1:{port}"
        self.url = urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host))
        self.down_until = 0.0
        self.pairs: list[tuple[socket.socket, socket.socket]] = []
        self.lock = threading.Lock()
        self.running = True
        self.outages = 0
        self.thread = threading.Thread(target=self._serve, name="broker-proxy", daemon=True)
        self.thread.start()

    @staticmethod
    def proxied(url: str) -> bool:
        return url.split("://", 1)[0] in ("redis", "rediss", "amqp", "pyamqp")

    def _serve(self) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self.listener, selectors.EVENT_READ, None)
        peers: dict[socket.socket, socket.socket] = {}
        while self.running:
            with self.lock:
                dropped = [s for s in list(peers) if s.fileno() == -1]
            for sock in dropped:
                peers.pop(sock, None)
            for key, _ in selector.select(timeout=0.1):
                sock = key.fileobj
                if sock is self.listener:
                    client, _ = self.listener.accept()
                    if time.monotonic() < self.down_until:
                        client.close()
                        continue
                    try:
                        upstream = socket.create_connection(self.upstream, timeout=5)
                    except OSError:
                        client.close()
                        continue
                    for end in (client, upstream):
                        end.setblocking(False)
                    peers[client], peers[upstream] = upstream, client
                    selector.register(client, selectors.EVENT_READ, None)
                    selector.register(upstream, selectors.EVENT_READ, None)
                    with self.lock:
                        self.pairs.append((client, upstream))
                    continue
                other = peers.get(sock)
                try:
                    data = sock.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                if data and other is not None:
                    try:
                        other.setblocking(True)
                        other.sendall(data)
                        other.setblocking(False)
                        continue
                    except OSError:
                        pass
                for end in (sock, other):
                    if end is None:
                        continue
                    try:
                        selector.unregister(end)
                    except (KeyError, ValueError):
                        pass
                    end.close()
                    peers.pop(end, None)
            # connections cut by an outage
            for sock in [s for s in list(peers) if s.fileno() == -1]:
                try:
                    selector.unregister(sock)
                except (KeyError, ValueError):
                    pass
                peers.pop(sock, None)

    def outage(self, seconds: float) -> None:
        """Drop every connection now, refuse new ones for ``seconds``."""
        self.outages += 1
        self.down_until = time.monotonic() + seconds
        with self.lock:
            pairs, self.pairs = self.pairs, []
        for pair in pairs:
            for end in pair:
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stop(self) -> None:
        self.running = False
        self.thread.join(timeout=2)
        self.listener.close()


def point_app_at(url: str) -> None:
    """Make this process's Celery app publish to ``url`` (forgetting pooled connections)."""
    from portal.celery import app

    app.conf.broker_url = app.conf.broker_write_url = url
    app._pool = None
    app.amqp._producer_pool = None
