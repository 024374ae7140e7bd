from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render


@login_required
def home(request):
    """Where a login lands: staff on the staff home, customer users on self-service."""
    access = request.access
    if access.is_customer_user:
        return redirect("selfservice_home")
    if access.is_staff or access.is_platform_admin:
        return redirect("staff_home")
    raise PermissionDenied("This login belongs to no reseller or customer yet.")
