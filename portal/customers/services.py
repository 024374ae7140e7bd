"""Customers: create, change, suspend, terminate, delete. The only writers of Customer."""

from __future__ import annotations

from portal.sync.provisioning import change_by, delete_and_sync, refuse, save_adopted, save_and_sync, service

from .models import Customer, CustomerLogin, CustomerStatus, LoginRole


@service
def create_customer(*, reseller, actor=None, **fields) -> Customer:
    with change_by(actor):
        customer = Customer(reseller=reseller, **fields)
        return save_and_sync(customer, actor=actor)


@service
def update_customer(customer: Customer, *, actor=None, **changes) -> Customer:
    with change_by(actor):
        for name, value in changes.items():
            setattr(customer, name, value)
        return save_and_sync(customer, actor=actor)


@service
def set_customer_status(customer: Customer, status: str, *, actor=None) -> Customer:
    if status not in CustomerStatus.values:
        raise refuse("status", f"“{status}” is not a customer status.")
    return update_customer(customer, status=status, actor=actor)


@service
def adopt_customer(
    customer: Customer | None = None, *, carrier_account, remote_id: str, actor=None, **fields
) -> Customer:
    """Take the carrier's values as the portal's (reconciliation, import); nothing is pushed back.

    With no ``customer`` the carrier's customer is imported as a new one.
    """
    with change_by(actor):
        if customer is None:
            customer = Customer(reseller_id=carrier_account.reseller_id, carrier_account=carrier_account)
        for name, value in fields.items():
            setattr(customer, name, value)
        return save_adopted(customer, remote_id=remote_id)


def deletion_refusal(customer: Customer) -> str | None:
    """Why ``customer`` cannot be deleted now (None: it can), for pages to say before anyone clicks."""
    in_use = [
        label
        for label, related in (("subscribers", customer.subscribers), ("trunks", customer.trunks), ("numbers", customer.numbers))
        if related.exists()
    ]
    if in_use:
        return f"{customer} still has {', '.join(in_use)}: remove them first, or terminate the customer."
    return None


@service
def delete_customer(customer: Customer, *, actor=None, sync: bool = True) -> None:
    """Only an empty customer can be deleted; one with services is terminated instead.

    ``sync=False``: the carrier no longer has it; only the portal's row goes.
    """
    with change_by(actor):
        # Its row first: an object being added for it meanwhile holds the row
        # (``hold_customer``), so the check sees everything that will be committed for it.
        Customer.objects.select_for_update().filter(pk=customer.pk).exists()
        refusal = deletion_refusal(customer)
        if refusal:
            raise refuse(None, refusal)
        delete_and_sync(customer, actor=actor, sync=sync)


# ------------------------------------------------------------------ self-service logins
def set_login_role(login: CustomerLogin, role: str, *, actor=None) -> CustomerLogin:
    """Make a customer's login an admin (who also manages the customer's logins) or a user."""
    if role not in LoginRole.values:
        raise refuse("role", f"“{role}” is not a role of a customer login.")
    with change_by(actor):
        login.role = role
        login.save(update_fields=["role"])
    return login


def removal_refusal(login: CustomerLogin, *, by) -> str | None:
    """Why ``by`` may not remove ``login`` (None: they may), for pages to say before anyone clicks."""
    if login.user_id == getattr(by, "pk", None):
        return "You cannot remove your own login."
    return None


def remove_customer_login(login: CustomerLogin, *, actor=None) -> None:
    """The person can no longer log in: their login is closed, not deleted.

    The user stays (inactive) so that the audit trail keeps naming who did what; an
    inactive user's sessions stop working at their next request.
    """
    refusal = removal_refusal(login, by=actor)
    if refusal:
        raise refuse(None, refusal)
    user = login.user
    with change_by(actor):
        login.delete()
        user.is_active = False
        user.save(update_fields=["is_active"])
