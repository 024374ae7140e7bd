"""Landing pages: where a login lands, and the staff home (the dashboard). Self-service is portal/selfservice."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render

from portal.tenancy.permissions import staff_required


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

