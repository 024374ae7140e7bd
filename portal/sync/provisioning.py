"""The shared moves of every domain service: validate, save, audit, queue the carrier side.

Domain services (``portal/<domain>/services.py``) add their own rules and call these, so
that every writer — pages, API, admin, imports, commands — takes the same path. Each
call is one transaction: the desired state, its audit entry (django-auditlog, with the
actor set here) and the outbox row commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

from auditlog.context import set_actor
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .models import JobOperation, SyncState
from .outbox import record_change


@contextmanager
def change_by(actor) -> Iterator[None]:
    """One transaction whose audit entries name ``actor`` (a user, or None for the system)."""
    actor_context = set_actor(actor) if getattr(actor, "pk", None) else nullcontext()
    with transaction.atomic(), actor_context:
        yield


def capabilities_of(obj):
    account = getattr(obj, "carrier_account", None)
    return account.capabilities if account is not None else None


def save_and_sync(obj, *, actor=None, kind: str | None = None, exclude: list[str] | None = None):
    """Validate and save ``obj`` and queue its push; call inside ``change_by``."""
    obj.full_clean(exclude=exclude)
    obj.save()
    record_change(obj, kind=kind, actor=actor)
    return obj


def delete_and_sync(obj, *, actor=None, kind: str | None = None, sync: bool = True) -> None:
    """Queue the carrier delete (with what it needs), then delete the row.

    ``sync=False``: the carrier no longer has it (reconciliation adopting the carrier's
    side), so only the portal row goes.
    """
    if sync:
        record_change(obj, kind=kind, operation=JobOperation.DELETE, actor=actor)
    obj.delete()


def save_adopted(obj, *, remote_id: str, exclude: list[str] | None = None):
    """Validate and save what the carrier holds as the portal's own; call inside ``change_by``.

    Used when reconciliation adopts the carrier's side (and by imports): the object is
    then exactly what the carrier has, so it is marked synced and nothing is queued.
    """
    obj.full_clean(exclude=exclude)
    obj.remote_id = remote_id
    obj.sync_state = SyncState.SYNCED
    obj.sync_error = ""
    obj.synced_at = timezone.now()
    obj.save()
    return obj


def push_again(obj, *, actor=None, kind: str | None = None):
    """Queue a push of ``obj`` as the portal has it ("sync now", "push ours")."""
    with change_by(actor):
        return record_change(obj, kind=kind, actor=actor)


def refuse(field: str | None, message: str) -> ValidationError:
    return ValidationError({field: message} if field else message)
