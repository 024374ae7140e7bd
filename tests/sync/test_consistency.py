"""The sync engine's promise, over generated sequences: each carrier holds exactly what the
portal shows, once — whatever the people do, from several threads, while real workers run
and the carriers, the workers and the broker fail.

Seedable: ``CONSISTENCY_SEED=N`` replays a run's steps (the interleaving of threads and
workers is the machine's); without it the seed comes from the clock and is printed. On a
failure the recorded steps are shrunk (delta debugging, ``CONSISTENCY_SHRINK_SECONDS``,
default 90) and the shortest failing sequence found is printed with the differences.
``CONSISTENCY_STEPS`` sets the length (default 600 on PostgreSQL, 240 on SQLite, whose one
write lock makes every step slower). See docs/consistency.md.
"""

from __future__ import annotations

import os

import pytest
from django.db import connection

from tests.sync.consistency.session import Session, report, wall_clock_seed

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def session(sandbox_control, django_db_setup, settings):
    # The sweeper runs in this process (as beat would); a message lost with a killed worker
    # or a dropped broker connection is resent after 5 s, not the production 60 s.
    settings.SYNC_REDELIVER_AFTER = 5.0
    opened = Session(sandbox_control, workers=2, concurrency=2)
    yield opened
    opened.close()


@pytest.mark.timeout(900)
def test_every_carrier_holds_exactly_what_the_portal_shows(session):
    seed = int(os.environ.get("CONSISTENCY_SEED") or wall_clock_seed())
    default_steps = 240 if connection.vendor == "sqlite" else 600
    steps = int(os.environ.get("CONSISTENCY_STEPS") or default_steps)
    print(f"\nCONSISTENCY_SEED={seed} CONSISTENCY_STEPS={steps} ({connection.vendor})")
    ops = session.generate(seed, steps)
    result = session.run(ops)
    print(report(result))
    if result.ok:
        return
    budget = float(os.environ.get("CONSISTENCY_SHRINK_SECONDS", "90"))
    shortest = session.shrink(ops, budget_seconds=budget) if budget > 0 else ops
    again = session.run(shortest, threads=1)
    shown = "\n".join(f"  {op}" for op in shortest)
    pytest.fail(
        f"CONSISTENCY_SEED={seed}: the carriers and the portal disagree.\n{report(result)}\n\n"
        f"Shortest failing sequence found ({len(shortest)} of {len(ops)} steps, replayed from one thread):\n{shown}\n"
        f"Its run:\n{report(again)}",
        pytrace=False,
    )
