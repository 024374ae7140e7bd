"""One consistency session: the broker proxy, the workers, fresh worlds, runs and the shrink.

Used by the CI test and by the soak; it expects Django set up on the database the workers
are to use, and a sandbox reachable through ``control``.
"""

from __future__ import annotations

import itertools
import re
import secrets
import time
from collections.abc import Callable

import httpx

from portal.celery import app

from .infra import BrokerProxy, Workers, database_url, point_app_at, sandbox_state, worker_environment
from .model import FAULTS, Op, World, build_world, generate
from .runner import REFUSAL_STATUS, Injector, Result, ddmin, run, seeded


def new_reseller_factory(token: str) -> Callable[[str], object]:
    from portal.tenancy.models import Reseller

    counter = itertools.count()

    def make(kind: str):
        n = next(counter)
        return Reseller.objects.create(name=f"Consistency {token} {kind} {n}", slug=f"cons-{token}-{kind}-{n}")

    return make


class Session:
    def __init__(self, control: httpx.Client, *, workers: int = 2, concurrency: int = 2) -> None:
        self.control = control
        self.original_broker = app.conf.broker_url
        self.proxy = BrokerProxy(self.original_broker) if BrokerProxy.proxied(self.original_broker) else None
        broker = self.proxy.url if self.proxy else self.original_broker
        if self.proxy:
            point_app_at(broker)
        app.control.purge()
        self.workers = Workers(worker_environment(database_url(), broker), count=workers, concurrency=concurrency)
        self.token = secrets.token_hex(3)
        self.worlds = itertools.count()

    @property
    def faults(self) -> tuple[str, ...]:
        # A broker outage needs a broker behind a socket; the embedded one is a SQLite file.
        return FAULTS if self.proxy else tuple(f for f in FAULTS if f != "broker_outage")

    def world(self) -> World:
        token = f"{self.token}{next(self.worlds)}"
        return build_world(self.control, new_reseller_factory(token), token)

    def generate(self, seed: int, length: int, fault_rate: float = 0.08) -> list[Op]:
        # The world only shapes which steps exist; the steps name slots, so a sequence
        # generated once replays on any fresh world.
        return generate(self.world(), seeded(seed), length, fault_rate, self.faults)

    def run(self, ops: list[Op], *, threads: int = 3, drain_timeout: float = 120.0, pace_seconds: float = 0.3) -> Result:
        world = self.world()
        injector = Injector(self.control, world, self.workers, self.proxy)
        result = run(world, ops, fetch_state=lambda account: sandbox_state(self.control, account), threads=threads,
                     injector=injector, drain_timeout=drain_timeout, pace_seconds=pace_seconds)
        logs = {carrier: self.control.get("/_sandbox/requests", params={"account": account.settings["sandbox_account"]})
                .json()["requests"] for carrier, account in world.accounts.items()}
        result.refusals_answered = sum(entry["status"] == REFUSAL_STATUS for log in logs.values() for entry in log)
        result.evidence = evidence(world, result.differences, logs)
        return result

    def shrink(self, ops: list[Op], *, budget_seconds: float, drain_timeout: float = 60.0) -> list[Op]:
        """The shortest failing subsequence found in the time given (replayed from one thread,
        so that the order is the recorded one)."""
        return ddmin(ops, lambda candidate: not self.run(candidate, threads=1, drain_timeout=drain_timeout,
                                                         pace_seconds=0.1).ok,
                     budget_seconds=budget_seconds)

    def close(self) -> None:
        self.workers.stop()
        self.control.delete("/_sandbox/faults")
        if self.proxy:
            self.proxy.stop()
            point_app_at(self.original_broker)
        app.control.purge()


def report(result: Result) -> str:
    tally = result.tally
    lines = [
        f"{len(result.ops)} steps in {result.run_seconds:.1f} s (drain {result.drain_seconds:.1f} s): "
        f"{tally.changes} changes made, {sum(tally.refused_by_validation.values())} refused by validation, "
        f"{sum(tally.skipped.values())} skipped (target absent), {sum(tally.faults.values())} faults injected "
        f"({', '.join(f'{k} {v}' for k, v in sorted(tally.faults.items())) or 'none'}), "
        f"{result.refusals_answered} requests refused on purpose, {result.refused_jobs} of their jobs retried; "
        f"skipped: {', '.join(f'{k} {v}' for k, v in tally.skipped.most_common(4))}",
    ]
    if result.differences:
        lines.append(f"{len(result.differences)} differences:")
        lines += [f"  {line}" for line in result.differences]
    if result.evidence:
        lines.append("what happened to them:")
        lines += [f"  {line}" for line in result.evidence]
    return "\n".join(lines)


NAMED = re.compile(r"^(?P<carrier>[a-z]+) (?P<kind>[a-z_]+) (?P<key>\S+?):")


def evidence(world: World, differences: list[str], logs: dict[str, list[dict]]) -> list[str]:
    """For each object a difference names: its jobs (oldest first) and the carrier requests that
    mention it, so a failure the soak meets once can be read without running it again."""
    from portal.sync.models import SyncJob

    lines = []
    for difference in differences:
        named = NAMED.match(difference)
        if named is None or named["carrier"] not in world.accounts:
            continue
        carrier, kind, key = named["carrier"], named["kind"], named["key"]
        needle = key[-9:]  # a number's national digits, a name's tail: as it appears in paths and bodies
        lines.append(f"{carrier} {kind} {key}:")
        for job in SyncJob.objects.filter(carrier_account=world.accounts[carrier], object_kind=kind).order_by("pk"):
            if needle in job.natural_key or needle in job.object_repr:
                lines.append(f"  job {job.pk} {job.operation} of #{job.object_id}: {job.state} after {job.attempts} "
                             f"attempt(s), made {clock(job.created_at.timestamp())}, finished "
                             f"{clock(job.finished_at.timestamp()) if job.finished_at else '-'}, error "
                             f"{job.last_error[:160]!r}, payload {str(job.payload)[:160]}")
        for entry in logs.get(carrier, []):
            if needle in entry["path"] or needle in entry["query"] or needle in entry["body"]:
                lines.append(f"  request {entry['seq']} at {clock(entry['time'])} {entry['method']} {entry['path']} "
                             f"-> {entry['status']} ({entry['duration_ms']:.0f} ms) {entry['body'][:120]!r}")
    return lines


def clock(unix_time: float) -> str:
    """HH:MM:SS.mmm (UTC), to put jobs and requests in one order."""
    return time.strftime("%H:%M:%S", time.gmtime(unix_time)) + f"{unix_time % 1:.3f}"[1:]


# What each oracle line says went wrong, for the soak's totals (first match wins).
CLASSES = (
    ("duplicated", ("times at the carrier", "the portal shows it", "(held ")),
    ("orphaned", ("orphan:",)),
    ("left queued", ("left queued", "left running", "did not drain")),
    ("person-refused", ("refused to a person:",)),
    ("lost", ("",)),  # missing, extra, still held after a delete, a field not landed, a failed job
)


def classify(lines: list[str]) -> dict[str, int]:
    totals = dict.fromkeys(name for name, _ in CLASSES)
    totals = {name: 0 for name in totals}
    for line in lines:
        for name, marks in CLASSES:
            if any(mark in line for mark in marks):
                totals[name] += 1
                break
    return totals


def wall_clock_seed() -> int:
    return int(time.time() * 1000) % 1_000_000_007
