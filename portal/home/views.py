"""Landing pages: the staff home and customer pages, and the self-service home."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render

from portal.customers.models import Customer
from portal.numbers.models import Number
from portal.subscribers.models import Subscriber
from portal.tenancy.permissions import customer_required, staff_required
from portal.trunks.models import Trunk


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
    """The dashboard: the business at a glance, and what is broken at which carrier right now."""
    from portal.operations.views import open_alerts, recent_changes
    from portal.sync.health import carrier_accounts
    from portal.sync.views import attach_object_pages

    from . import dashboard

    errors = attach_object_pages(request, dashboard.recent_errors(request))
    counts = dashboard.overview(request)
    context = {
        "overview": counts,
        "sync_errors": sum(row["errors"] for row in counts),
        "accounts": carrier_accounts(request),
        "recent_errors": errors,
        "recent_changes": recent_changes(request),
    }
    context["alerts"], context["alert_count"] = open_alerts(request)
    return render(request, "home/staff_home.html", context)


@customer_required
def selfservice_home(request):
    customer = get_object_or_404(Customer.objects.for_request(request), pk=request.access.customer_id)
    return render(request, "home/selfservice_home.html", {"customer": customer, **_services_of(request, customer)})


def _services_of(request, customer) -> dict:
    """The customer's subscribers, numbers and trunks, as far as this request may see them."""
    return {
        "subscribers": Subscriber.objects.for_request(request).filter(customer=customer).select_related("primary_number"),
        "numbers": Number.objects.for_request(request).filter(customer=customer).select_related("subscriber", "trunk"),
        "trunks": Trunk.objects.for_request(request).filter(customer=customer),
    }
