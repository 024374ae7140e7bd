"""What the staff home shows: the business at a glance, and what is broken where right now.

Every figure is scoped to the request and is a link to the list it counts. The queries
are grouped (one per figure kind, never one per row), and finished sync jobs — nearly all
of the table — are never counted: bench/ops_dashboard.py holds it under 100 ms with
100,000 jobs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, OuterRef, Q, Subquery
from django.utils import timezone

from portal.carriers.models import CarrierAccount
from portal.customers.models import Customer
from portal.forwards.models import CallForward
from portal.numbers.models import Number, NumberStatus
from portal.subscribers.models import Subscriber
from portal.sync.limiter import budget_used
from portal.sync.models import Drift, JobState, ReconcileRun, SyncJob, SyncState
from portal.sync.operations import AccountHealth, account_health
from portal.trunks.models import Trunk

# What the home counts, in the order it shows them, and the list each figure opens.
OVERVIEW = [
    ("Customers", Customer, "customer_list", Q()),
    ("SIP accounts", Subscriber, "subscriber_list", Q()),
    ("Numbers", Number, "number_list", ~Q(status=NumberStatus.RELEASED)),
    ("Trunks", Trunk, "trunk_list", Q()),
    ("Call forwards", CallForward, "", Q()),
]
RECENT = 8


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


def overview(request) -> list[dict]:
    rows = []
    for label, model, url_name, held in OVERVIEW:
        counts = model.objects.for_request(request).filter(held).aggregate(
            total=Count("pk"), errors=Count("pk", filter=Q(sync_state=SyncState.ERROR))
        )
        rows.append({"label": label, "url_name": url_name, **counts})
    return rows


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


def recent_errors(request):
    """The latest jobs the carriers refused (refused deletes too), newest first."""
    return list(
        SyncJob.objects.for_request(request).filter(state=JobState.FAILED)
        .select_related("carrier_account", "customer", "caused_by").defer("payload", "attempt_log")
        .order_by("-finished_at", "-pk")[:RECENT]
    )
