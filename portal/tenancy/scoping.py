"""The one place where every query is scoped to what the user may see.

Each scoped model names two paths: ``reseller_path`` from the model to its Reseller's
pk, and ``customer_path`` to its Customer's pk (None when customer users must not see
the model at all); a tuple of paths matches through any of them. ``Model.objects.for_user(user)`` (or ``for_request``) then filters:
platform admins see everything, reseller staff their reseller, customer users their
customer, anybody else nothing. Views, the API and the admin all start from here, so a
view cannot forget to scope.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import models


@dataclass(frozen=True)
class Access:
    """What one user may reach. Resolved once per request (``request.access``)."""

    is_platform_admin: bool = False
    reseller_id: int | None = None
    role: str | None = None  # manager | agent, for staff
    customer_id: int | None = None  # for customer users
    customer_admin: bool = False  # a customer user who may also manage the customer's logins
    mfa_required: bool = False  # this login must pass MFA (portal/accounts/middleware.py)
    has_mfa: bool = False  # the user has an authenticator app
    reseller: Any = field(default=None, compare=False, repr=False)  # staff: their Reseller, loaded with the role

    @property
    def is_staff(self) -> bool:
        return self.reseller_id is not None and self.customer_id is None

    @property
    def is_manager(self) -> bool:
        return self.is_platform_admin or (self.is_staff and self.role == "manager")

    @property
    def is_customer_user(self) -> bool:
        return self.customer_id is not None


NO_ACCESS = Access()


def access_for(user) -> Access:
    """Work out (and cache on the user object) what ``user`` may reach."""
    if user is None or not user.is_authenticated:
        return NO_ACCESS
    cached = getattr(user, "_portal_access", None)
    if cached is not None:
        return cached
    from allauth.mfa.models import Authenticator

    has_mfa = getattr(user, "has_totp", None)  # read along with the user (the API's token check)
    if has_mfa is None:
        has_mfa = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    if user.is_superuser:
        from django.conf import settings

        access = Access(is_platform_admin=True, mfa_required=settings.PLATFORM_ADMIN_MFA, has_mfa=has_mfa)
    elif (membership := _staff_membership(user)) is not None:
        access = Access(
            reseller_id=membership.reseller_id,
            role=membership.role,
            mfa_required=membership.reseller.require_staff_mfa,
            has_mfa=has_mfa,
            reseller=membership.reseller,
        )
    elif (login := _customer_login(user)) is not None:
        access = Access(reseller_id=login.customer.reseller_id, customer_id=login.customer_id,
                        customer_admin=login.is_admin, has_mfa=has_mfa)
    else:
        access = NO_ACCESS
    user._portal_access = access
    return access


def _staff_membership(user):
    from .models import StaffMembership

    loaded = user.__class__.staff_membership  # (the class behind a lazy request.user too)
    if loaded.is_cached(user):  # with the user (``select_related``): None if there is none
        return loaded.related.get_cached_value(user)
    return StaffMembership.objects.select_related("reseller").filter(user=user).first()


def _customer_login(user):
    from portal.customers.models import CustomerLogin

    return CustomerLogin.objects.select_related("customer").filter(user=user).first()


def _matching(path: str | tuple[str, ...], value: int) -> models.Q:
    """``path == value``; a tuple of paths matches through any of them."""
    paths = (path,) if isinstance(path, str) else path
    condition = models.Q()
    for one in paths:
        condition |= models.Q(**{one: value})
    return condition


class ScopedQuerySet(models.QuerySet):
    def for_access(self, access: Access) -> ScopedQuerySet:
        model = self.model
        if access.is_platform_admin:
            return self
        if access.is_customer_user:
            path = getattr(model, "customer_path", None)
            if path is None:
                return self.none()
            return self.filter(_matching(path, access.customer_id))
        if access.is_staff:
            return self.filter(_matching(model.reseller_path, access.reseller_id))
        return self.none()

    def for_user(self, user) -> ScopedQuerySet:
        return self.for_access(access_for(user))

    def for_request(self, request) -> ScopedQuerySet:
        return self.for_access(getattr(request, "access", None) or access_for(request.user))
