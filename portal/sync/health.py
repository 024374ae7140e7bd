"""How each carrier account is doing, for the dashboard and the drift page: its queue, its
last reconciliation, its open drift and how much of its request budget the window has used.
A fixed number of queries whatever the number of jobs (see bench/ops_dashboard.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, OuterRef, Subquery
from django.utils import timezone

from portal.carriers.models import CarrierAccount

from .limiter import budget_used
from .models import Drift, ReconcileRun
from .operations import AccountHealth, account_health


@dataclass
class AccountRow:
    account: CarrierAccount
    health: AccountHealth
    last_run: ReconcileRun | None
    open_drift: int
    budget: int
    rate: object
    now: datetime = field(default_factory=timezone.now)

    @property
    def budget_percent(self) -> int:
        return min(100, round(100 * self.budget / self.rate.requests)) if self.rate.requests else 0

    @property
    def oldest_age(self):
        return self.now - self.health.oldest_queued if self.health.oldest_queued else None

    @property
    def troubled(self) -> bool:
        return bool(self.health.failed or self.open_drift or (self.last_run and self.last_run.state == "failed"))


def carrier_accounts(request) -> list[AccountRow]:
    last_run = ReconcileRun.objects.filter(carrier_account=OuterRef("pk")).order_by("-started_at", "-pk")
    accounts = list(
        CarrierAccount.objects.for_request(request).select_related("reseller").annotate(
            last_run_id=Subquery(last_run.values("pk")[:1])
        ).order_by("name")
    )
    if not accounts:
        return []
    ids = [a.pk for a in accounts]
    health = account_health(CarrierAccount.objects.filter(pk__in=ids))
    runs = ReconcileRun.objects.in_bulk([a.last_run_id for a in accounts if a.last_run_id])
    drift = dict(
        Drift.objects.open().filter(carrier_account_id__in=ids).order_by()
        .values_list("carrier_account_id").annotate(n=Count("pk"))
    )
    rows = []
    for account in accounts:
        used, rate = budget_used(account)
        rows.append(AccountRow(account, health[account.pk], runs.get(account.last_run_id),
                               drift.get(account.pk, 0), used, rate))
    return rows
