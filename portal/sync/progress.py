"""How far a reconciliation run has got, for the page that watches it.

A run learns how many objects it read only at its end (``ReconcileRun.remote_objects``).
:class:`CountingAdapter` wraps the run's adapter and writes the count into the running
run's row as the carrier's pages arrive (at most every ``EVERY`` objects), so a page can
poll it; the run's own final write then sets the exact figure.
"""

from __future__ import annotations

import time

from .models import ReconcileRun, RunState

EVERY = 100
AT_LEAST_SECONDS = 0.5


class CountingAdapter:
    """Everything of the wrapped adapter, its ``iter_*`` streams counted into the running run."""

    def __init__(self, adapter, account_id: int) -> None:
        self._adapter = adapter
        self._account_id = account_id
        self._read = 0
        self._written_at = 0.0
        self._run_id: int | None = None

    def __getattr__(self, name):
        value = getattr(self._adapter, name)
        if name.startswith("iter_") and callable(value):
            return lambda *args, **kwargs: self._counted(value(*args, **kwargs))
        return value

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        self._adapter.close()

    def _counted(self, stream):
        for item in stream:
            self._read += 1
            if self._read % EVERY == 0 and time.monotonic() - self._written_at > AT_LEAST_SECONDS:
                self._report()
            yield item
        self._report()

    def _report(self) -> None:
        if self._run_id is None:
            self._run_id = (
                ReconcileRun.objects.filter(carrier_account_id=self._account_id, state=RunState.RUNNING)
                .values_list("pk", flat=True).first()
            )
        if self._run_id is not None:
            ReconcileRun.objects.filter(pk=self._run_id, state=RunState.RUNNING).update(remote_objects=self._read)
        self._written_at = time.monotonic()
