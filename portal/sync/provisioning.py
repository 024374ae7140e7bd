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

from .models import JobOperation
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


def delete_and_sync(obj, *, actor=None, kind: str | None = None) -> None:
    """Queue the carrier delete (with what it needs), then delete the row."""
    record_change(obj, kind=kind, operation=JobOperation.DELETE, actor=actor)
    obj.delete()


def refuse(field: str | None, message: str) -> ValidationError:
    return ValidationError({field: message} if field else message)
