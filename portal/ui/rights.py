"""Who may do what on the staff pages, in one table.

The Foundation gave two staff roles (``portal/tenancy``): managers also run carrier
accounts and the team; agents manage customers. The pages add what the Foundation left
open: agents provision day to day (create, edit, suspend, route, release, delete SIP
accounts and trunks) but do not delete or terminate customers, and do not move an
existing object to another carrier account. Platform admins may do everything.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied

from portal.tenancy.scoping import Access

VIEW = "view"
PROVISION = "provision"  # create, edit, enable/disable, route, release, delete services
END_CUSTOMER = "end_customer"  # delete or terminate a customer: ends everything it has
CHANGE_CARRIER_ACCOUNT = "change_carrier_account"
MANAGE = "manage"  # carrier accounts and the team (the Foundation's manager duties)

MANAGER_ONLY = {END_CUSTOMER, CHANGE_CARRIER_ACCOUNT, MANAGE}

REFUSALS = {
    END_CUSTOMER: "Only a manager can terminate or delete a customer.",
    CHANGE_CARRIER_ACCOUNT: "Only a manager can move an object to another carrier account.",
    MANAGE: "Only a manager can change carrier accounts and the team.",
}


def may(access: Access | None, right: str) -> bool:
    if access is None:
        return False
    if access.is_platform_admin:
        return True
    if not access.is_staff:
        return False
    if right in MANAGER_ONLY:
        return access.role == "manager"
    return True


def require(access: Access | None, right: str) -> None:
    if not may(access, right):
        raise PermissionDenied(REFUSALS.get(right, "This page is for reseller staff."))
