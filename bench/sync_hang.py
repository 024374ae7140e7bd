"""A carrier that hangs must not slow the other carrier accounts down.

    .venv/bin/python bench/sync_hang.py [--changes 300] [--latency-ms 50] [--workers 2] [--concurrency 4]

Three SureVoIP carrier accounts (A, B, C; ``max_in_flight`` 4 each) share the workers.
Each gets ``--changes`` changes, A's committed first, so that A's jobs are first in the
queue. Twice: once with every carrier answering after 50 ms (the baseline), once with A's
carrier accepting connections and never answering (the sandbox's ``outage`` in ``hang``
mode; A's read timeout is the default). The clock runs from the commit until B's and C's
last jobs are done; A's jobs are not waited for.

Exits 1 if B and C take more than 1.25 × their baseline time with A hanging, if any of
their jobs fails, or if the carrier did not receive exactly one ``PUT`` per change of
theirs. See ``_sync_harness.py`` for PostgreSQL and Redis.
"""

from __future__ import annotations

import argparse
import sys
import time

import _sync_harness as harness

TARGET_RATIO = 1.25


def drain(accounts, customers, label: str) -> tuple[float, list[int]]:
    """Change every customer (A's first), one commit; the seconds until B's and C's jobs are done."""
    from portal.sync.models import SyncJob

    started, job_ids = harness.change_customers([c for group in customers for c in group], label)
    others = list(
        SyncJob.objects.filter(pk__in=job_ids, carrier_account__in=accounts[1:]).values_list("pk", flat=True)
    )
    harness.wait_until_done(others, timeout=600)
    last = max(SyncJob.objects.filter(pk__in=others).values_list("finished_at", flat=True))
    return last.timestamp() - started, others


def since_datetime(unix: float):
    from datetime import UTC, datetime

    return datetime.fromtimestamp(unix, tz=UTC)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=300, help="changes per carrier account")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--concurrency", type=int, default=4, help="prefork children per worker process")
    args = parser.parse_args(argv)

    cleanup = harness.setup("sync_hang")
    from portal.core.demo import SandboxClient
    from portal.sandbox.process import SandboxProcess
    from portal.sync.models import JobState, SyncJob

    workers = None
    try:
        with SandboxProcess() as process:
            sandbox = SandboxClient(process.url)
            accounts = [
                harness.surevoip_account(sandbox, max_in_flight=4, rate_limit_requests=1_000_000, rate_limit_window=1)
                for _ in range(3)
            ]
            customers = [harness.customers_at_the_carrier(account, args.changes) for account in accounts]
            workers = harness.Workers(args.workers, args.concurrency)
            # Every worker child has run a job (and imported everything) before a clock starts.
            _, warm_up = harness.change_customers([c for group in customers for c in group[:8]], "warm-up")
            harness.wait_until_done(warm_up, timeout=120)

            for account in accounts:
                harness.set_faults(sandbox, account, latency={"fixed_ms": args.latency_ms})
            baseline, _ = drain(accounts, customers, "baseline")
            harness.wait_until_done(
                list(SyncJob.objects.filter(state__in=(JobState.QUEUED, JobState.RUNNING)).values_list("pk", flat=True)),
                timeout=600,
            )

            harness.set_faults(sandbox, accounts[0], outage={"seconds": 3600, "mode": "hang"})
            since = time.time()
            hanging, others = drain(accounts, customers, "hang")
            puts = [
                r
                for account in accounts[1:]
                for r in harness.sandbox_requests(sandbox, account, since)
                if r["method"] == "PUT"
            ]
            a_done = SyncJob.objects.filter(
                carrier_account=accounts[0], state=JobState.DONE, finished_at__gte=since_datetime(since)
            ).count()
            workers.stop()
            workers = None
            harness.set_faults(sandbox, accounts[0])
    finally:
        if workers is not None:
            workers.stop()
        cleanup()

    ratio = hanging / baseline
    print(f"sync hang: 3 accounts x {args.changes} changes, latency {args.latency_ms:g} ms, "
          f"{args.workers} workers x {args.concurrency} ({harness.describe_setup()})")  # fmt: skip
    print(f"  B and C, all carriers answering   {baseline:7.2f} s")
    print(f"  B and C, A's carrier hanging      {hanging:7.2f} s   ratio {ratio:.3f} (target <= {TARGET_RATIO})")
    print(f"  A's jobs done meanwhile           {a_done:7d}     (its carrier never answered)")
    print(f"  PUTs at B's and C's carriers      {len(puts):7d}     (one per change: {2 * args.changes})")
    failures = []
    if ratio > TARGET_RATIO:
        failures.append(f"B and C took {ratio:.2f} x their time without the hang")
    if len(puts) != 2 * args.changes:
        failures.append(f"B's and C's carriers received {len(puts)} PUTs for {2 * args.changes} changes")
    for failure in failures:
        print(f"FAIL: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
