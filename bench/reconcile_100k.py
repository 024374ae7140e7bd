"""Reconciliation of a carrier account holding 100,000 objects: memory and time per 1,000.

    .venv/bin/python bench/reconcile_100k.py [--objects 100000] [--page-size 1000] [--tracemalloc]

A Simotel sandbox account is filled with ``--objects`` users through the sandbox's bulk
control endpoint (every tenth forwards all its calls to a number), and an empty portal
carrier account is pointed at it. Then, in this one process, the way
``manage.py reconcile ACCOUNT --adopt`` does it:

1. **detect**: stream every user (and, in a second pass, every user's forwards) page by
   page and record the drift: one ``unknown_local`` per user and per forwarding user;
2. **import**: adopt all of it (customers first, then subscribers, then their forwards),
   each object written through the service layer with its audit entry;
3. **re-reconcile**: the same account again, now fully matched: no drift expected.

Reported: seconds per 1,000 carrier objects for each phase and the peak resident memory
of this process (``getrusage``; Django and the rest already loaded before the clock
starts). With ``--tracemalloc`` also the peak of Python allocations during each phase
(slower). Exits 1 if the peak RSS reaches 200 MB or a phase does not find what it should.

The account's own request budget is lifted (``rate_limit_requests``) so that the figures
measure reconciliation, not Simotel's default limit of 10 requests a second. Without
``DATABASE_URL`` it runs on a throwaway SQLite database in ``var/bench/``; see
``_sync_harness.py`` for PostgreSQL.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from contextlib import contextmanager
from dataclasses import dataclass

import _sync_harness as harness

RSS_LIMIT_MB = 200.0


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


@dataclass
class Phase:
    name: str
    seconds: float = 0.0
    python_peak_mb: float | None = None
    rss_after_mb: float = 0.0


@contextmanager
def timed(phase: Phase, trace: bool):
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    try:
        yield phase
    finally:
        phase.seconds = time.perf_counter() - started
        if trace:
            phase.python_peak_mb = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
        phase.rss_after_mb = rss_mb()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, default=100_000, help="users at the carrier")
    parser.add_argument("--page-size", type=int, default=1000, help="users per Simotel search page")
    parser.add_argument("--tracemalloc", action="store_true", help="also measure Python allocations (slower)")
    args = parser.parse_args(argv)

    cleanup = harness.setup("reconcile_100k")
    from portal.core.demo import SandboxClient, _carrier_account
    from portal.sandbox.process import SandboxProcess
    from portal.subscribers.models import Subscriber
    from portal.sync.models import Drift, DriftKind
    from portal.sync.reconcile import ADOPT, reconcile, resolve_open
    from portal.tenancy.models import Reseller

    phases = [Phase("detect"), Phase("import"), Phase("re-reconcile")]
    failures: list[str] = []
    try:
        with SandboxProcess() as process:
            sandbox = SandboxClient(process.url)
            reseller = Reseller.objects.create(name="Benchmark reseller", slug=f"bench-{time.time_ns()}")
            account = _carrier_account(reseller, "simotel", sandbox)
            account.settings = {**account.settings, "page_size": str(args.page_size), "domain": "pbx.example.com"}
            account.rate_limit_requests, account.rate_limit_window = 1_000_000, 1
            account.save()
            made = sandbox.http.post(
                f"/_sandbox/accounts/{account.settings['sandbox_account']}/bulk",
                json={"kind": "subscriber", "count": args.objects},
                timeout=120,
            )
            made.raise_for_status()
            forwarding = args.objects // 10 + (1 if args.objects % 10 else 0)
            rss_before = rss_mb()

            with timed(phases[0], args.tracemalloc):
                run = reconcile(account)
            found = dict(run.drift_found)
            expected = {DriftKind.UNKNOWN_LOCAL: args.objects + forwarding}
            if run.state != "done" or found != expected or run.remote_objects != args.objects:
                failures.append(f"detect: {run.state} {run.error} read {run.remote_objects}, found {found}")

            with timed(phases[1], args.tracemalloc):
                report = resolve_open(account, ADOPT)
            if report.failed or Subscriber.objects.filter(carrier_account=account).count() != args.objects:
                failures.append(f"import: {report.resolved} adopted, {report.failed} failed: {report.errors[:3]}")

            with timed(phases[2], args.tracemalloc):
                again = reconcile(account)
            left = Drift.objects.open().filter(carrier_account=account).exists()
            if again.state != "done" or again.drift_found or left:
                failures.append(f"re-reconcile: {again.state} {again.error} found {again.drift_found}")
    finally:
        cleanup()

    peak = rss_mb()
    print(f"reconciliation of {args.objects:,} Simotel users ({forwarding:,} forwarding), "
          f"page size {args.page_size} ({harness.describe_setup()})")  # fmt: skip
    per = args.objects / 1000
    for phase in phases:
        python = f", Python peak {phase.python_peak_mb:6.1f} MB" if phase.python_peak_mb is not None else ""
        print(f"  {phase.name:13} {phase.seconds:8.1f} s  {phase.seconds / per:6.3f} s per 1,000 objects"
              f"  (peak RSS so far {phase.rss_after_mb:6.1f} MB{python})")  # fmt: skip
    print(f"  peak RSS      {peak:8.1f} MB  (before the first phase: {rss_before:.1f} MB; limit {RSS_LIMIT_MB:.0f} MB)")
    if peak >= RSS_LIMIT_MB:
        failures.append(f"peak RSS {peak:.1f} MB is over {RSS_LIMIT_MB:.0f} MB")
    for failure in failures:
        print(f"FAIL: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
