"""Staff "view as customer": a reseller's staff open a customer's self-service pages as the
customer sees them.

The session notes which customer (and which staff user started it). On the self-service
pages (``/my/``) the request then has that customer's access, so every query is scoped
exactly as for the customer's own users, and every audit entry notes the customer it was
made for; the actor stays the staff user. The staff user's own login (password, MFA,
e-mail: ``/accounts/``) is out of reach while viewing as, so that nobody changes a login
believing it to be the customer's. Staff pages work as usual, with a banner.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

from django.shortcuts import render
from django.urls import reverse

from portal.core.audit import on_behalf_of
from portal.customers.models import Customer

log = logging.getLogger(__name__)

SESSION_KEY = "selfservice_view_as"


@dataclass(frozen=True)
class ViewAs:
    customer: Customer
    staff: object  # the staff user, who stays the actor of every change


def start(request, customer: Customer) -> None:
    request.session[SESSION_KEY] = {"customer": customer.pk, "user": request.user.pk}
    log.info("user %s views the self-service pages of customer %s", request.user.pk, customer.pk)


def stop(request) -> int | None:
    """End viewing as; the customer's pk (None if nobody was viewed as)."""
    state = request.session.pop(SESSION_KEY, None)
    return state.get("customer") if state else None


def current(request) -> ViewAs | None:
    """Who the request views as, if it still may: the same staff user, a customer in their scope."""
    state = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
    if not state or not request.user.is_authenticated or state.get("user") != request.user.pk:
        return None
    access = request.access
    if not (access.is_staff or access.is_platform_admin):
        return None
    customer = Customer.objects.for_access(access).select_related("reseller").filter(pk=state.get("customer")).first()
    return ViewAs(customer, request.user) if customer is not None else None


def customer_access(view_as: ViewAs, staff_access):
    """The customer's access, keeping the staff user's own MFA rule."""
    return dataclasses.replace(
        staff_access,
        is_platform_admin=False,
        reseller_id=view_as.customer.reseller_id,
        role=None,
        customer_id=view_as.customer.pk,
        customer_admin=False,
    )


def _still_open() -> set[str]:
    """allauth's pages a staff user viewing as a customer still needs: confirming their own
    password before a SIP password reset, and logging out."""
    return {reverse(name) for name in ("account_logout", "account_reauthenticate", "mfa_reauthenticate")}


class ViewAsMiddleware:
    """Applies "view as" to the self-service pages; keeps the staff user's login pages out of reach."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        view_as = current(request)
        request.view_as = view_as
        if view_as is None:
            if hasattr(request, "session") and SESSION_KEY in request.session and request.user.is_authenticated:
                stop(request)  # out of scope now, or another user's: forget it
            return self.get_response(request)
        if request.path.startswith(reverse("selfservice_home")):
            request.access = customer_access(view_as, request.access)
            with on_behalf_of(view_as.customer):
                return self.get_response(request)
        if request.path.startswith("/accounts/") and request.path not in _still_open():
            reason = (f"You are viewing {view_as.customer.name}’s pages as the customer. Stop viewing as them "
                      "(the button at the top) to change your own login.")
            return render(request, "403.html", {"reason": reason}, status=403)
        return self.get_response(request)
