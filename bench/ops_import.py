"""CSV import through the services: 10,000 customers, then 50,000 numbers, checked and applied.

What ``tasks.run_operation`` does in a worker, done in this process: each file is read and
checked (a dry run: every row through the domain services, rolled back 500 rows at a
time), then applied (the same, committed). Numbers are typed nationally (``020 3000 0001``)
and read in their customer's country; each names its customer by reference. Reported: the
seconds per 1,000 rows of each phase and the peak resident memory of the process
(``getrusage``). Target: peak RSS under 300 MB.

    ./scripts/bench ops_import                       # SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_ops ./scripts/bench ops_import
    .venv/bin/python bench/ops_import.py --customers 1000 --numbers 5000   # a quick look
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("LOG_LEVEL", "WARNING")

from _sync_harness import describe_setup, setup  # noqa: E402

TARGET_MB = 300.0


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def customers_csv(n: int) -> str:
    lines = ["name,external_ref,contact_name,email,phone,city,postcode,country"]
    for i in range(n):
        lines.append(f"Customer {i:05d},CRM-{i:05d},Contact {i},office{i}@customer.example,"
                     f"020 7946 {i % 1000:04d},Bristol,BS1 4AA,GB")
    return "\n".join(lines) + "\n"


def numbers_csv(n: int, customers: int) -> str:
    lines = ["number,customer"]
    for i in range(n):
        digits = f"{30000000 + i:08d}"
        lines.append(f"020 {digits[:4]} {digits[4:]},CRM-{i % customers:05d}")
    return "\n".join(lines) + "\n"


def run_phase(operation, phase: str) -> tuple[float, dict]:
    from portal.operations import services
    from portal.operations.models import Operation, OperationState

    Operation.objects.filter(pk=operation.pk).update(state=OperationState.QUEUED, options={"phase": phase})
    start = time.perf_counter()
    services.run(operation.pk)
    took = time.perf_counter() - start
    operation.refresh_from_db()
    assert operation.state in (OperationState.CHECKED, OperationState.DONE), (operation.state, operation.message)
    return took, operation.summary


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--numbers", type=int, default=50_000)
    args = parser.parse_args()
    cleanup = setup("ops_import")
    failures = []
    try:
        from portal.carriers.models import CarrierAccount
        from portal.customers.models import Customer
        from portal.numbers.models import Number
        from portal.operations import services
        from portal.tenancy.models import Reseller
        from tests.factories import StaffFactory

        reseller = Reseller.objects.create(name="Bench Telecom", slug="bench")
        CarrierAccount.objects.create(reseller=reseller, kind="simwood", name="Bench Simwood",
                                      base_url="http://127.0.0.1:9/simwood", account_id="930001",
                                      settings={"api_user": "bench"}, credentials={"api_key": "x"})
        manager = StaffFactory(reseller=reseller, manager=True).user
        print(describe_setup())
        print(f"peak RSS before the first phase: {peak_mb():.1f} MB\n")
        print(f"{'file':<12}{'rows':>8}{'phase':>8}{'seconds':>10}{'s / 1,000':>11}{'peak MB':>9}  outcome")
        for object_type, text, rows in (("customers", customers_csv(args.customers), args.customers),
                                        ("numbers", numbers_csv(args.numbers, args.customers), args.numbers)):
            operation = services.check_csv(reseller=reseller, actor=manager, object_type=object_type,
                                           name=f"{object_type}.csv", data=text.encode())
            for phase in ("check", "apply"):
                took, summary = run_phase(operation, phase)
                print(f"{object_type:<12}{rows:>8,}{phase:>8}{took:>10.1f}{took / rows * 1000:>11.2f}"
                      f"{peak_mb():>9.1f}  {summary}")
                expected = {"created": rows}
                if summary != expected:
                    failures.append(f"{object_type} {phase}: {summary}, expected {expected}")
        if Customer.objects.count() != args.customers or Number.objects.count() != args.numbers:
            failures.append("not every row was imported")
        if peak_mb() >= TARGET_MB:
            failures.append(f"peak RSS {peak_mb():.1f} MB >= {TARGET_MB} MB")
    finally:
        from portal.celery import app

        app.control.purge()  # the imported objects' sync jobs: no worker runs in this benchmark
        cleanup()
    for failure in failures:
        print("MISSED:", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
