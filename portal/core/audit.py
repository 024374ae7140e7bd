"""Which models the audit log records, and which of their fields it must never show."""

from __future__ import annotations

from auditlog.registry import auditlog


def register_models() -> None:
    from portal.carriers.models import CarrierAccount
    from portal.customers.models import Customer, CustomerLogin
    from portal.forwards.models import CallForward, ForwardDestination, ForwardWindow
    from portal.numbers.models import EmergencyAddress, Number
    from portal.subscribers.models import Subscriber
    from portal.tenancy.models import Reseller, StaffMembership
    from portal.trunks.models import Trunk

    for model in (Reseller, StaffMembership, Customer, CustomerLogin, Number, EmergencyAddress, CallForward):
        auditlog.register(model)
    auditlog.register(ForwardDestination)
    auditlog.register(ForwardWindow)
    # Secrets are left out entirely: an audit entry must not become a copy of the secret.
    auditlog.register(CarrierAccount, exclude_fields=["credentials"])
    auditlog.register(Subscriber, exclude_fields=["sip_password"])
    auditlog.register(Trunk, exclude_fields=["password"])
