"""View decorators that say who may open a page, built on ``request.access``.

An anonymous visitor is sent to the login page; a logged-in user without the right
role gets 403. Which *objects* a page shows is a separate matter, settled by
``Model.objects.for_request(request)`` (out-of-scope objects give 404).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

from .scoping import Access


def _requires(allowed: Callable[[Access], bool], refusal: str):
    def decorator(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not allowed(request.access):
                raise PermissionDenied(refusal)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def _is_staff_or_admin(access: Access) -> bool:
    return access.is_staff or access.is_platform_admin


def _manages_a_reseller(access: Access) -> bool:
    # Platform admins have no reseller of their own: they manage resellers in the admin.
    return access.is_manager and access.reseller_id is not None


staff_required = _requires(_is_staff_or_admin, "This page is for reseller staff.")
manager_required = _requires(_manages_a_reseller, "This page is for managers of a reseller.")
customer_required = _requires(lambda access: access.is_customer_user, "This page is for customer logins.")
