"""SIP trunks: the only writers of Trunk. Refuses what the carrier cannot hold."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from portal.sync.models import JobOperation, SyncJob
from portal.sync.outbox import record_change
from portal.sync.provisioning import capabilities_of, change_by, delete_and_sync, save_adopted, save_and_sync, service

from .models import Trunk, TrunkType

# Trunk model field → the TrunkSpec field a carrier must hold for it to be set.
HELD_AS = {
    "allowed_ips": "allowed_ips",
    "channels_in": "channels_in",
    "channels_out": "channels_out",
    "default_cli": "default_cli",
    "force_cli": "force_cli",
    "max_cost_per_minute": "max_cost_per_minute",
    "max_cost_per_call": "max_cost_per_call",
    "host": "host",
}


def check_carrier_can_hold(trunk: Trunk) -> None:
    caps = capabilities_of(trunk)
    if caps is None:
        return
    label = trunk.carrier_account.get_kind_display()
    if not caps.trunks:
        raise ValidationError({"carrier_account": f"{label} cannot hold SIP trunks."})
    errors = {}
    if trunk.type not in caps.trunk_types:
        errors["type"] = f"{label} has no {trunk.get_type_display()} trunks."
    for field, spec_field in HELD_AS.items():
        value = getattr(trunk, field)
        if value not in (None, "", [], False) and spec_field not in caps.trunk_fields:
            verbose = Trunk._meta.get_field(field).verbose_name
            errors[field] = f"{label} cannot hold {verbose} on a trunk; leave it empty."
    if errors:
        raise ValidationError(errors)


@service
def create_trunk(*, customer, actor=None, **fields) -> Trunk:
    fields.setdefault("carrier_account", customer.carrier_account)
    with change_by(actor):
        trunk = Trunk(customer=customer, **fields)
        check_carrier_can_hold(trunk)
        return save_and_sync(trunk, actor=actor)


@service
def update_trunk(trunk: Trunk, *, actor=None, **changes) -> Trunk:
    previous_name = trunk.name
    with change_by(actor):
        for name, value in changes.items():
            setattr(trunk, name, value)
        caps = capabilities_of(trunk)
        if caps is not None and not caps.trunk_renames and trunk.name != previous_name and trunk.pk:
            label = trunk.carrier_account.get_kind_display()
            raise ValidationError({"name": f"{label} names a trunk by its name and cannot rename it: "
                                           "add a new trunk with the new name instead."})
        check_carrier_can_hold(trunk)
        return save_and_sync(trunk, actor=actor)


@service
def enable_trunk(trunk: Trunk, *, actor=None) -> Trunk:
    return update_trunk(trunk, enabled=True, actor=actor)


@service
def disable_trunk(trunk: Trunk, *, actor=None) -> Trunk:
    return update_trunk(trunk, enabled=False, actor=actor)


@service
def adopt_trunk(
    trunk: Trunk | None = None, *, customer=None, carrier_account, remote_id: str, actor=None, **fields
) -> Trunk:
    """Take the carrier's values as the portal's (reconciliation, import); nothing is pushed back.

    With no ``trunk`` the carrier's one is imported into ``customer``; a password the
    carrier generated is not readable and stays unknown until it is reset.
    """
    with change_by(actor):
        if trunk is None:
            trunk = Trunk(customer=customer, carrier_account=carrier_account)
        for name, value in fields.items():
            setattr(trunk, name, value)
        return save_adopted(trunk, remote_id=remote_id)


@service
def delete_trunk(trunk: Trunk, *, actor=None, sync: bool = True) -> None:
    """``sync=False``: the carrier no longer has it; only the portal's row goes."""
    with change_by(actor):
        delete_and_sync(trunk, actor=actor, sync=sync)


def reset_refusal(trunk: Trunk) -> str | None:
    """Why the trunk's password cannot be reset now (None: it can)."""
    if trunk.type != TrunkType.AUTH:
        return "An IP-authenticated trunk has no password: the carrier knows the PBX by its address."
    caps = capabilities_of(trunk)
    if caps is None:
        return "This trunk is on no carrier account, so no carrier can make it a password."
    label = trunk.carrier_account.get_kind_display()
    if not caps.trunks:
        return f"{label} holds no SIP trunks."
    if not trunk.remote_id:
        return f"{label} does not hold this trunk yet: it makes the password when the trunk is first created."
    return None


@service
def reset_trunk_password(trunk: Trunk, *, actor=None):
    """Ask the carrier for a new password (carriers generate trunk passwords).

    Nothing is sent from here: the request waits in the outbox like every write to a
    carrier, and the engine keeps the new password as it keeps a create's, unseen, to be
    shown once (``take_password``). The old password stops working when the carrier
    makes the new one. A second reset asked before the first one ran replaces it.
    """
    refusal = reset_refusal(trunk)
    if refusal:
        raise ValidationError(refusal)
    with change_by(actor):
        return record_change(trunk, operation=JobOperation.RESET_SECRET, actor=actor)


def latest_reset(trunk: Trunk):
    """The trunk's latest password reset (a SyncJob), or None if it never had one."""
    return (
        SyncJob.objects.filter(object_kind="trunk", object_id=trunk.pk, operation=JobOperation.RESET_SECRET)
        .order_by("-pk")
        .first()
    )


def take_password(trunk: Trunk, *, actor=None) -> str:
    """The trunk's password, the one time it is shown; refused ever after.

    The carrier makes it when the trunk is created; one conditional UPDATE marks it
    shown, so two people opening it at once cannot both see it.
    """
    from django.utils import timezone

    if not trunk.password:
        raise ValidationError("The carrier has not given this trunk a password (yet).")
    taken = Trunk.objects.filter(pk=trunk.pk, password_shown_at__isnull=True).update(password_shown_at=timezone.now())
    if not taken:
        raise ValidationError("The password was already shown once. Reset it to have the carrier make a new one.")
    return trunk.password
