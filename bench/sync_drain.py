"""How fast real workers drain a backlog of changes, and what one job costs the database.

    .venv/bin/python bench/sync_drain.py [--changes 1000] [--latency-ms 50] [--in-flight 4]
                                         [--workers 2] [--concurrency 4]

A SureVoIP carrier account with ``max_in_flight`` = N and a sandbox latency of 50 ms on
every request; ``--changes`` customers it already holds are changed through the service
layer in one transaction, so each change is one sync job and one ``PUT`` at the carrier.
The clock starts at the commit and stops when the last job is done. With N requests in
flight at every moment the drain takes changes × latency / N: that is the ideal.

Queries per job: before and after the drain (workers stopped), sample jobs are run
in this process with ``engine.run_job`` and the queries it sends are counted; the count
must be the same for every job, with the job table empty or holding the whole backlog.
(The look-up of which accounts wait for a worker, for their fair share, is once a second
per process, not per job: it is left out of the count.)

Exits 1 if the wall time is more than 1.25 × the ideal, if the queries per job differ,
if any job fails or if the carrier did not receive exactly one ``PUT`` per change.
Without ``DATABASE_URL`` it runs on a throwaway SQLite database and SQLite-file broker in
``var/bench/``; see ``_sync_harness.py`` for PostgreSQL and Redis.
"""

from __future__ import annotations

import argparse
import sys
from statistics import median

import _sync_harness as harness

TARGET_RATIO = 1.25
SAMPLE_JOBS = 10


def queries_per_job(customers, label: str) -> list[int]:
    """Run one change per customer in this process; the queries each ``run_job`` sent."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from portal.sync import engine

    _, job_ids = harness.change_customers(customers, label)
    counts = []
    for job_id in job_ids:
        # Which accounts wait for a worker is looked up once a second per process, not per
        # job (engine.fair_share): looked up here first, so that only the job's own count.
        engine.fair_share(0, 1, timezone.now())
        with CaptureQueriesContext(connection) as queries:
            result = engine.run_job(job_id)
        if result is None or result.state != "done":
            raise SystemExit(f"FAIL: sample job {job_id} did not run to done in this process ({result})")
        counts.append(len(queries))
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--in-flight", type=int, default=4, help="max_in_flight of the carrier account (N)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--concurrency", type=int, default=4, help="prefork children per worker process")
    args = parser.parse_args(argv)

    cleanup = harness.setup("sync_drain")
    from portal.core.demo import SandboxClient
    from portal.sandbox.process import SandboxProcess
    from portal.sync.models import SyncJob

    workers = None
    try:
        with SandboxProcess() as process:
            sandbox = SandboxClient(process.url)
            account = harness.surevoip_account(
                sandbox, max_in_flight=args.in_flight, rate_limit_requests=1_000_000, rate_limit_window=1
            )
            customers = harness.customers_at_the_carrier(account, args.changes)
            # The first job of a process pays for its imports and its limiter row: not measured.
            queries_per_job(customers[:1], "warm-up")
            counts_before = queries_per_job(customers[1 : 1 + SAMPLE_JOBS], "sample-before")

            workers = harness.Workers(args.workers, args.concurrency)
            # Every worker child has run a job (and imported everything) before the clock starts.
            _, warm_up = harness.change_customers(customers[: 4 * args.workers * args.concurrency], "warm-up")
            harness.wait_until_done(warm_up, timeout=120)

            harness.set_faults(sandbox, account, latency={"fixed_ms": args.latency_ms})
            started, job_ids = harness.change_customers(customers, "drain")
            harness.wait_until_done(job_ids, timeout=600)
            last = max(SyncJob.objects.filter(pk__in=job_ids).values_list("finished_at", flat=True))
            wall = last.timestamp() - started
            mean_in_flight, job_time, first_claim = harness.in_flight_profile(job_ids)
            puts = [r for r in harness.sandbox_requests(sandbox, account, started) if r["method"] == "PUT"]
            workers.stop()
            workers = None

            harness.set_faults(sandbox, account)
            counts_after = queries_per_job(customers[1 : 1 + SAMPLE_JOBS], "sample-after")
    finally:
        if workers is not None:
            workers.stop()
        cleanup()

    ideal = args.changes * args.latency_ms / 1000 / args.in_flight
    ratio = wall / ideal
    counts = sorted(set(counts_before + counts_after))
    print(f"sync drain: {args.changes} changes, latency {args.latency_ms:g} ms, N = {args.in_flight} in flight, "
          f"{args.workers} workers x {args.concurrency} ({harness.describe_setup()})")  # fmt: skip
    print(f"  wall time        {wall:7.2f} s   ideal {ideal:.2f} s   ratio {ratio:.3f} (target <= {TARGET_RATIO})")
    print(f"  throughput       {args.changes / wall:7.1f} jobs/s")
    print(f"  in flight        {mean_in_flight:7.2f}     on average (of {args.in_flight})")
    print(f"  first claim      {(first_claim - started) * 1000:7.1f} ms  after the commit")
    print(f"  job time         {job_time * 1000:7.1f} ms  median, claimed to done (carrier latency {args.latency_ms:g} ms)")
    print(f"  at the carrier   {median(r['duration_ms'] for r in puts):7.1f} ms  median, as the sandbox timed its PUTs")
    print(f"  PUTs at carrier  {len(puts):7d}     (one per change: {args.changes})")
    print(f"  queries per job  {', '.join(map(str, counts))}   "
          f"(job table nearly empty: {sorted(set(counts_before))}, after the drain: {sorted(set(counts_after))})")  # fmt: skip
    failures = []
    if ratio > TARGET_RATIO:
        failures.append(f"wall time is {ratio:.2f} x the ideal")
    if len(counts) != 1:
        failures.append("the number of queries per job is not constant")
    if len(puts) != args.changes:
        failures.append(f"the carrier received {len(puts)} PUTs for {args.changes} changes")
    for failure in failures:
        print(f"FAIL: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
