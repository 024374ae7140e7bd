"""The runner: steps from several threads against real workers, faults, the drain, the oracle."""

from __future__ import annotations

import queue
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from django.db import connection
from django.utils import timezone

from portal.sync import sweeper
from portal.sync.models import JobState, SyncJob
from portal.sync.operations import retry_job

from .infra import BrokerProxy, Workers
from .model import Op, Tally, World, execute
from .oracle import oracle

# The status the injector's permanent refusals use: no carrier sends it for anything else,
# so a failed job with it in its story was refused on purpose, and no other is.
REFUSAL_STATUS = 418


def refused_on_purpose(job: SyncJob) -> bool:
    """The job's last attempt was refused by the injector (an earlier refusal was retried)."""
    last = (job.attempt_log or [{}])[-1]
    return any(request.get("status") == REFUSAL_STATUS for request in last.get("requests") or [])


class Injector:
    """Breaks things on purpose: the sandbox's fault knobs, worker kills, broker outages.

    Knobs are set on one carrier account's scope and cleared by a timer; a refusal
    (``fail_next`` with ``REFUSAL_STATUS``) is one request's, used up when it is answered.
    """

    def __init__(self, control: httpx.Client, world: World, workers: Workers | None,
                 proxy: BrokerProxy | None) -> None:
        self.control, self.world, self.workers, self.proxy = control, world, workers, proxy
        self.timers: list[threading.Timer] = []
        self.lock = threading.Lock()
        self.scopes: dict[str, dict] = {}

    def _set(self, carrier: str, knobs: dict, seconds: float) -> None:
        """Add ``knobs`` to the account's scope for ``seconds``; the knobs set by earlier
        steps stay (a PUT replaces a scope's knobs, so the scope is always sent whole)."""
        scope = {"account": self.world.accounts[carrier].settings["sandbox_account"]}
        token = object()
        with self.lock:
            active = self.scopes.setdefault(carrier, {})
            for name in knobs:
                active[name] = (knobs[name], token)
            self.control.put("/_sandbox/faults", json=scope | {k: v for k, (v, _) in active.items()}).raise_for_status()

        def clear() -> None:
            with self.lock:
                active = self.scopes.get(carrier, {})
                for name in knobs:
                    if name in active and active[name][1] is token:
                        del active[name]
                self.control.put("/_sandbox/faults", json=scope | {k: v for k, (v, _) in active.items()})

        timer = threading.Timer(seconds, clear)
        timer.daemon = True
        timer.start()
        self.timers.append(timer)

    def inject(self, op: Op) -> None:
        pick = op.args[0] if op.args else 0
        match op.name:
            case "outage_503":
                self._set(op.carrier, {"outage": {"seconds": 1 + pick % 3, "mode": "503"}}, 1 + pick % 3)
            case "outage_hang":
                self._set(op.carrier, {"outage": {"seconds": 1 + pick % 2, "mode": "hang"}}, 1 + pick % 2)
            case "errors":
                self._set(op.carrier, {"errors": {"rate": 0.3, "statuses": [500, 502, 503]},
                                       "latency": {"fixed_ms": 20, "jitter_ms": 20}}, 2 + pick % 3)
            case "rate_limit":
                self._set(op.carrier, {"rate_limit": {"requests": 2, "window_seconds": 1}}, 2 + pick % 2)
            case "refuse_next":
                # On the carrier's scope, sent once: the account's scope is sent whole with
                # every knob added to it, which would arm the refusal again.
                scope = {"carrier": op.carrier, "fail_next": {"count": 1, "status": REFUSAL_STATUS}}
                self.control.put("/_sandbox/faults", json=scope).raise_for_status()
            case "kill_child":
                if self.workers is not None:
                    self.workers.revive()
                    self.workers.kill_child(pick)
            case "kill_worker":
                if self.workers is not None:
                    self.workers.kill_and_restart(pick)
            case "broker_outage":
                if self.proxy is not None:
                    self.proxy.outage(1 + pick % 3)

    def clear(self) -> None:
        for timer in self.timers:
            timer.cancel()
        with self.lock:
            self.scopes.clear()
        for carrier, account in self.world.accounts.items():
            self.control.put("/_sandbox/faults", json={"account": account.settings["sandbox_account"]})
            self.control.put("/_sandbox/faults", json={"carrier": carrier})


@dataclass
class Result:
    ops: list[Op]
    tally: Tally
    differences: list[str] = field(default_factory=list)
    refused_jobs: int = 0  # failed on purpose by the injector, then retried by a person
    refusals_answered: int = 0  # requests the sandbox refused on purpose
    drain_seconds: float = 0.0
    run_seconds: float = 0.0
    evidence: list[str] = field(default_factory=list)  # what happened to the objects that differ

    @property
    def ok(self) -> bool:
        return not self.differences and not self.tally.person_refused


def run_steps(world: World, ops: list[Op], *, threads: int, injector: Injector | None,
              pace: Callable[[], float] = lambda: 0.0) -> Tally:
    """Steps in order from a shared queue, taken by ``threads`` threads (as several people)."""
    work: queue.SimpleQueue = queue.SimpleQueue()
    for op in ops:
        work.put(op)
    tallies = [Tally() for _ in range(threads)]

    def person(tally: Tally) -> None:
        try:
            while True:
                try:
                    op = work.get_nowait()
                except queue.Empty:
                    return
                execute(world, op, tally, injector)
                wait = pace()
                if wait:
                    time.sleep(wait)
        finally:
            connection.close()

    started = [threading.Thread(target=person, args=(t,), name=f"person{i}") for i, t in enumerate(tallies)]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join()
    total = Tally()
    for tally in tallies:
        total.merge(tally)
    return total


def drain(world: World, *, timeout: float, sweep_every: float = 1.0,
          supervise: Callable[[], object] = lambda: None) -> tuple[bool, int]:
    """Wait until no job of the run's accounts is open, sweeping as beat would; a job the
    injector refused on purpose is retried, as the person who sees it on the page would.
    Returns (drained, how many refused jobs were retried)."""
    ids = [account.pk for account in world.accounts.values()]
    jobs = SyncJob.objects.filter(carrier_account_id__in=ids)
    deadline = time.monotonic() + timeout
    retried = 0
    quiet = 0
    while time.monotonic() < deadline:
        supervise()
        sweeper.sweep()
        refused = [job for job in jobs.filter(state=JobState.FAILED) if refused_on_purpose(job)]
        for job in refused:
            retried += 1
            retry_job(job)
        if not refused and not jobs.open().exists():
            quiet += 1
            if quiet >= 2:  # twice in a row: nothing was between a landing and its follower
                return True, retried
        else:
            quiet = 0
        # Jobs waiting out a backoff or a parent's re-check are not what is being tested here.
        jobs.filter(state=JobState.QUEUED, next_attempt_at__gt=timezone.now()).update(next_attempt_at=timezone.now())
        time.sleep(sweep_every)
    return False, retried


def run(world: World, ops: list[Op], *, fetch_state: Callable, threads: int = 3, injector: Injector | None = None,
        drain_timeout: float = 120.0, pace_seconds: float = 0.3) -> Result:
    started = time.monotonic()
    rng = random.Random(len(ops))
    lock = threading.Lock()

    def pace() -> float:
        # People take a moment between changes, so the faults meet work in flight.
        with lock:
            return rng.uniform(0, pace_seconds)

    tally = run_steps(world, ops, threads=threads, injector=injector, pace=pace)
    drain_started = time.monotonic()
    try:
        supervise = injector.workers.revive if injector is not None and injector.workers is not None else lambda: None
        drained, retried = drain(world, timeout=drain_timeout, supervise=supervise)  # the last faults run on into it
    finally:
        if injector is not None:
            injector.clear()
    result = Result(ops, tally, refused_jobs=retried, drain_seconds=time.monotonic() - drain_started)
    if not drained:
        result.differences.append(f"the jobs did not drain within {drain_timeout:.0f} s")
    result.differences += oracle(world.accounts.values(), fetch_state, refused=lambda job: False)
    result.differences += [f"refused to a person: {line}" for line in tally.person_refused]
    result.run_seconds = time.monotonic() - started
    return result


def ddmin(ops: list[Op], fails: Callable[[list[Op]], bool], *, budget_seconds: float) -> list[Op]:
    """Delta debugging over the recorded steps: the shortest subsequence found that still
    fails, within ``budget_seconds`` (each try is a whole run with its drain)."""
    deadline = time.monotonic() + budget_seconds
    current, chunks = list(ops), 2
    while len(current) >= 2 and time.monotonic() < deadline:
        size = max(1, len(current) // chunks)
        reduced = False
        for start in range(0, len(current), size):
            if time.monotonic() >= deadline:
                break
            candidate = current[:start] + current[start + size:]
            if candidate and fails(candidate):
                current, chunks, reduced = candidate, max(chunks - 1, 2), True
                break
        if not reduced:
            if size == 1:
                break
            chunks = min(len(current), chunks * 2)
    return current


def seeded(seed: int) -> random.Random:
    return random.Random(seed)
