"""The consistency soak: the consistency test's machinery for minutes on end.

    SOAK_MINUTES=30 .venv/bin/python bench/sync_soak.py [--minutes M] [--seed N] [--steps 200]
                                                         [--workers 2] [--concurrency 2] [--threads 3]

Round after round until the time is up: a fresh world (one sandbox account per carrier:
Simwood, SureVoIP, Sipwise, Simotel), a generated sequence of ``--steps`` steps (seed N,
N+1, …) made by ``--threads`` threads through the services while real workers sync, with
faults injected (sandbox outages 503 and hang, 5xx with latency jitter, 429, permanent
refusals, worker children and whole workers killed, and — on Redis or RabbitMQ — the broker
cut off through a proxy), then the drain and the oracle of ``tests/sync/test_consistency.py``.

It prints each round and then the totals: changes made, lost, duplicated, orphaned, left
queued, refused to a person (by a crash, not in words), faults injected; and exits 1 if any
bad count is not zero, printing the seed of each failing round (replay it with
``CONSISTENCY_SEED=N pytest tests/sync/test_consistency.py``). Without ``DATABASE_URL``
it uses a throwaway SQLite database and SQLite-file broker; see ``_sync_harness.py``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter

import _sync_harness as harness


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=float(os.environ.get("SOAK_MINUTES", "30")))
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--threads", type=int, default=3)
    args = parser.parse_args(argv)

    cleanup = harness.setup("sync_soak")
    import httpx
    from django.conf import settings

    from portal.sandbox.process import SandboxProcess
    from tests.sync.consistency.session import Session, classify, report, wall_clock_seed

    settings.SYNC_REDELIVER_AFTER = 5.0  # this process sweeps, as beat would; see the test
    seed = args.seed if args.seed is not None else wall_clock_seed()
    totals: Counter = Counter()
    faults: Counter = Counter()
    failing: list[int] = []
    rounds = 0
    started = time.monotonic()
    print(f"soak for {args.minutes:g} minutes from seed {seed}: {args.steps} steps a round, {args.threads} "
          f"threads, {args.workers} workers x {args.concurrency} ({harness.describe_setup()})", flush=True)
    try:
        with SandboxProcess() as sandbox, httpx.Client(base_url=sandbox.url, timeout=10) as control:
            session = Session(control, workers=args.workers, concurrency=args.concurrency)
            try:
                while time.monotonic() - started < args.minutes * 60:
                    round_seed = seed + rounds
                    rounds += 1
                    result = session.run(session.generate(round_seed, args.steps), threads=args.threads)
                    bad = classify(result.differences)
                    totals.update(bad)
                    totals["changes made"] += result.tally.changes
                    totals["refused by validation"] += sum(result.tally.refused_by_validation.values())
                    totals["refused by the carrier on purpose"] += result.refused_jobs
                    faults.update(result.tally.faults)
                    print(f"round {rounds} seed {round_seed}: {report(result)}", flush=True)
                    if result.differences:
                        failing.append(round_seed)
            finally:
                session.close()
    finally:
        cleanup()

    minutes = (time.monotonic() - started) / 60
    bad_names = ("lost", "duplicated", "orphaned", "left queued", "person-refused")
    print(f"\n{rounds} rounds in {minutes:.1f} minutes ({harness.describe_setup()})")
    print(f"changes made {totals['changes made']}, refused by validation {totals['refused by validation']}, "
          f"refused by the carrier on purpose (then retried) {totals['refused by the carrier on purpose']}")
    print(", ".join(f"{name} {totals[name]}" for name in bad_names))
    print(f"faults injected {sum(faults.values())}: " + ", ".join(f"{k} {v}" for k, v in sorted(faults.items())))
    if any(totals[name] for name in bad_names):
        print(f"FAIL: differences in the rounds of seeds {failing}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
