"""Does the shared limiter keep two workers inside a carrier's limit, and use all of it?

    .venv/bin/python bench/sync_ratelimit.py [--limit 50] [--window 10] [--changes 125]
                                             [--workers 2] [--concurrency 2]

The sandbox limits a SureVoIP account to ``--limit`` requests per ``--window`` seconds
(its ``rate_limit`` fault: a fixed window, then 429 with ``Retry-After``), and the portal
account's limiter is set to the same figures. A burst of ``--changes`` changes (one
``PUT`` each), committed together, is carried by two worker processes. The limiter is
shared through the database (or Redis with ``REDIS_URL``), so the two workers together
must draw no 429; and it must not be too careful either: in each full window of the
run (from the first request on) at least 95 % of the allowed requests must be sent.

Exits 1 if any 429 is drawn, if less than 95 % of the budget is used, or if a change is
lost. See ``_sync_harness.py`` for the database and broker it uses.
"""

from __future__ import annotations

import argparse
import sys
import time

import _sync_harness as harness

BUDGET_TARGET = 0.95


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=50, help="requests allowed per window")
    parser.add_argument("--window", type=int, default=10, help="the window, in seconds")
    parser.add_argument("--changes", type=int, default=125, help="the burst (more than two windows' worth)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--concurrency", type=int, default=2, help="prefork children per worker process")
    args = parser.parse_args(argv)
    full_windows = args.changes // args.limit
    if full_windows < 1:
        parser.error("--changes must be at least --limit: the burst has to fill a window")

    cleanup = harness.setup("sync_ratelimit")
    from portal.core.demo import SandboxClient
    from portal.sandbox.process import SandboxProcess

    workers = None
    try:
        with SandboxProcess() as process:
            sandbox = SandboxClient(process.url)
            account = harness.surevoip_account(
                sandbox, rate_limit_requests=args.limit, rate_limit_window=args.window
            )
            customers = harness.customers_at_the_carrier(account, args.changes)
            workers = harness.Workers(args.workers, args.concurrency)
            # Workers ready (and their imports done) before the limit is set and the clock starts.
            _, warm_up = harness.change_customers(customers[:4], "warm-up")
            harness.wait_until_done(warm_up, timeout=120)
            harness.set_faults(sandbox, account, rate_limit={"requests": args.limit, "window_seconds": args.window})
            # The warm-up's requests are still in the limiter's window: let them age out.
            time.sleep(args.window + 1)

            started, job_ids = harness.change_customers(customers, "burst")
            harness.wait_until_done(job_ids, timeout=(full_windows + 2) * args.window + 120)
            log = harness.sandbox_requests(sandbox, account, started)
    finally:
        if workers is not None:
            workers.stop()
        cleanup()

    refused = [entry for entry in log if entry["status"] == 429]
    accepted = sorted(entry["time"] for entry in log if entry["status"] == 200)
    first = accepted[0]
    per_window = [
        sum(first + k * args.window <= at < first + (k + 1) * args.window for at in accepted)
        for k in range(full_windows)
    ]
    used = sum(per_window) / (full_windows * args.limit)
    took = accepted[-1] - started
    print(f"sync rate limit: {args.changes} changes, carrier limit {args.limit} per {args.window} s, "
          f"{args.workers} workers x {args.concurrency} ({harness.describe_setup()})")  # fmt: skip
    print(f"  429s drawn       {len(refused):7d}")
    print(f"  requests         {len(accepted):7d}     accepted (one per change: {args.changes})")
    print(f"  per full window  {', '.join(map(str, per_window))} of {args.limit}")
    print(f"  budget used      {used:7.1%}   (target >= {BUDGET_TARGET:.0%})")
    print(f"  burst took       {took:7.2f} s")
    failures = []
    if refused:
        failures.append(f"{len(refused)} requests drew a 429")
    if used < BUDGET_TARGET:
        failures.append(f"only {used:.1%} of the budget was used")
    if len(accepted) != args.changes:
        failures.append(f"{len(accepted)} changes reached the carrier, not {args.changes}")
    for failure in failures:
        print(f"FAIL: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
