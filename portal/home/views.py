"""Landing pages: where a login lands, and the staff home. (Self-service lives in portal/selfservice.)"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.shortcuts import redirect, render

from portal.customers.models import Customer
from portal.forwards.models import CallForward
from portal.numbers.models import Number
from portal.subscribers.models import Subscriber
from portal.sync.models import SyncState
from portal.tenancy.permissions import staff_required
from portal.trunks.models import Trunk

# What the staff home counts, in the order it shows them, and the list each figure opens.
OVERVIEW = [
    ("Customers", Customer, "customer_list"),
    ("SIP accounts", Subscriber, "subscriber_list"),
    ("Numbers", Number, "number_list"),
    ("Trunks", Trunk, "trunk_list"),
    ("Call forwards", CallForward, ""),
]


@login_required
def home(request):
    """Where a login lands: staff on the staff home, customer users on self-service."""
    access = request.access
    if access.is_customer_user:
        return redirect("selfservice_home")
    if access.is_staff or access.is_platform_admin:
        return redirect("staff_home")
    raise PermissionDenied("This login belongs to no reseller or customer yet.")


@staff_required
def staff_home(request):
    overview = []
    for label, model, url_name in OVERVIEW:
        counts = model.objects.for_request(request).aggregate(
            total=Count("pk"), errors=Count("pk", filter=Q(sync_state=SyncState.ERROR))
        )
        overview.append({"label": label, "url_name": url_name, **counts})
    context = {"overview": overview, "sync_errors": sum(row["errors"] for row in overview)}
    return render(request, "home/staff_home.html", context)
