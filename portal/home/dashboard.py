"""What the staff home shows: the business at a glance, and what is broken where right now.

Every figure is scoped to the request and is a link to the list it counts. The queries
are grouped (one per figure kind, never one per row), and finished sync jobs — nearly all
of the table — are never counted: bench/ops_dashboard.py holds it under 100 ms with
100,000 jobs.
"""

from __future__ import annotations

from django.db.models import Count, Q

from portal.customers.models import Customer
from portal.forwards.models import CallForward
from portal.numbers.models import Number, NumberStatus
from portal.subscribers.models import Subscriber
from portal.sync.models import JobState, SyncJob, SyncState
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


def overview(request) -> list[dict]:
    rows = []
    for label, model, url_name, held in OVERVIEW:
        counts = model.objects.for_request(request).filter(held).aggregate(
            total=Count("pk"), errors=Count("pk", filter=Q(sync_state=SyncState.ERROR))
        )
        rows.append({"label": label, "url_name": url_name, **counts})
    return rows


def recent_errors(request):
    """The latest jobs the carriers refused (refused deletes too), newest first."""
    return list(
        SyncJob.objects.for_request(request).filter(state=JobState.FAILED)
        .select_related("carrier_account", "customer", "caused_by").defer("payload", "attempt_log")
        .order_by("-finished_at", "-pk")[:RECENT]
    )
