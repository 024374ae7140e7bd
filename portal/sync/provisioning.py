"""The shared moves of every domain service: validate, save, audit, queue the carrier side.

Domain services (``portal/<domain>/services.py``) add their own rules and call these, so
that every writer — pages, API, admin, imports, commands — takes the same path. Each
call is one transaction: the desired state, its audit entry (django-auditlog, with the
actor set here) and the outbox row commit together or not at all.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import TypeVar

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import IntegrityError, OperationalError, connection, models, transaction
from django.utils import timezone

from portal.core.audit import acting_as

from .models import JobOperation, Provisioned, SyncState
from .objects import KIND_OF_MODEL
from .outbox import record_change

log = logging.getLogger(__name__)

# PostgreSQL's "serialization failure" and "deadlock detected": the transaction lost a race
# and was rolled back whole; running it again is safe.
CONFLICTS = {"40001", "40P01"}
SERVICE_ATTEMPTS = 4

Service = TypeVar("Service", bound=Callable)


def lost_a_race(exc: OperationalError) -> bool:
    return getattr(exc.__cause__, "sqlstate", None) in CONFLICTS or "database is locked" in str(exc)


def service(function: Service) -> Service:
    """A domain service: its change is never lost to a race with another writer.

    Writers lock in one order (docs/sync.md), so a worker and a person cannot deadlock;
    two people's changes that lock the same rows in different orders still can, rarely.
    The loser's transaction is rolled back whole, and the service runs again (a few
    times, after a short random pause): the person never sees it. Objects it was given
    are reloaded first (the changes are in its arguments). Inside a caller's transaction
    the caller decides: the error goes up to it.
    """

    @wraps(function)
    def run(*args, **kwargs):
        given = [arg for arg in (*args, *kwargs.values()) if isinstance(arg, models.Model) and arg.pk]
        pks = [obj.pk for obj in given]
        attempt = 1
        while True:
            try:
                return function(*args, **kwargs)
            except OperationalError as exc:
                if connection.in_atomic_block or not lost_a_race(exc) or attempt == SERVICE_ATTEMPTS:
                    raise
                log.info("%s lost a race with another writer (%s); running it again", function.__name__, exc)
            time.sleep(random.uniform(0, 0.05 * attempt))
            attempt += 1
            for obj, pk in zip(given, pks):
                obj.pk = pk  # a delete that was rolled back left it None
                try:
                    obj.refresh_from_db()
                except ObjectDoesNotExist:
                    # The writer it lost to deleted it (two people deleting one trunk at once).
                    raise ValidationError(f"This {obj._meta.verbose_name} was deleted meanwhile.") from None

    return run


@contextmanager
def change_by(actor) -> Iterator[None]:
    """One transaction whose audit entries name ``actor`` (a user, or None for the system)."""
    with transaction.atomic(), acting_as(actor):
        yield


def capabilities_of(obj):
    account = getattr(obj, "carrier_account", None)
    return account.capabilities if account is not None else None


def hold_customer(obj) -> None:
    """An object saved for a customer holds the customer's row until it commits, so that a
    delete of that customer (which locks the row before it looks for what the customer still
    has) cannot pass its check while the object is on its way, and then fail on the foreign
    key or cascade the new object away without telling its carrier."""
    customer_id = getattr(obj, "customer_id", None)
    if customer_id is None:
        return
    from portal.customers.models import Customer

    if not Customer.objects.select_for_update(no_key=True).filter(pk=customer_id).exists():
        raise ValidationError({"customer": "This customer was deleted meanwhile."})


def hold_references(obj) -> None:
    """The provisioned objects a row refers to besides its customer (a number's SIP account or
    trunk, a SIP account's primary number) are held until it commits, as the foreign key's own
    check would hold them at the commit: a delete of one waits and then sees the reference
    (``lock_for_delete``), and one deleted already is refused here in words, not at the commit."""
    for field in obj._meta.concrete_fields:
        if not (field.many_to_one or field.one_to_one) or field.name == "customer":
            continue
        target = field.related_model
        pk = getattr(obj, field.attname)
        if pk is None or not issubclass(target, Provisioned):
            continue
        if connection.vendor == "postgresql":
            # The weakest lock a delete must wait for: it leaves the target's own updates free.
            with connection.cursor() as cursor:
                cursor.execute(f'SELECT 1 FROM "{target._meta.db_table}" WHERE "{target._meta.pk.column}" = %s '
                               "FOR KEY SHARE", [pk])
                found = cursor.fetchone() is not None
        else:
            found = target.objects.filter(pk=pk).exists()  # SQLite: one writer at a time
        if not found:
            raise ValidationError({field.name: f"This {target._meta.verbose_name} was deleted meanwhile."})


def lock_for_delete(obj) -> None:
    """The row a delete is about, locked before the delete looks at what refers to it: an
    object being saved with a reference to it (``hold_references``) commits first and is seen."""
    type(obj).objects.select_for_update().filter(pk=obj.pk).exists()


def save_and_sync(obj, *, actor=None, kind: str | None = None, exclude: list[str] | None = None):
    """Validate and save ``obj`` and queue its push; call inside ``change_by``."""
    hold_customer(obj)
    hold_references(obj)
    validate(obj, exclude)
    new = obj._state.adding and kind in (None, KIND_OF_MODEL.get(type(obj)))
    if new:
        obj.sync_state, obj.sync_error = SyncState.PENDING, ""
    try:
        with transaction.atomic():  # a savepoint: the refusal below leaves the caller's transaction usable
            obj.save()
    except IntegrityError:
        # A unique or check constraint refused it (two people may have added the same thing
        # at once, the insert waiting for the other's commit): full validation now sees why
        # and says it in words.
        obj.full_clean(exclude=exclude)
        raise
    record_change(obj, kind=kind, actor=actor, new=new)
    return obj


def validate(obj, exclude: list[str] | None = None) -> None:
    """``full_clean``, said the same way, at less cost where nothing is wrong.

    Each field (the objects it refers to exist: one deleted by another writer since the
    caller loaded it fails here, in words, not at the commit) and the model's own rules are
    checked here. The unique and check constraints are left to the database, which enforces
    them anyway: their violation fails the save, and ``save_and_sync`` then runs
    ``full_clean`` for the words. Anything wrong here is reported by ``full_clean`` in full,
    so a person sees every problem at once.
    """
    try:
        obj.clean_fields(exclude=exclude)
        obj.clean()
    except ValidationError:
        obj.full_clean(exclude=exclude)
        raise


def delete_and_sync(obj, *, actor=None, kind: str | None = None, sync: bool = True) -> None:
    """Queue the carrier delete (with what it needs), then delete the row.

    ``sync=False``: the carrier no longer has it (reconciliation adopting the carrier's
    side), so only the portal row goes.
    """
    lock_for_delete(obj)
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
    obj.save_as_carrier_holds_it()
    return obj


@service
def push_again(obj, *, actor=None, kind: str | None = None):
    """Queue a push of ``obj`` as the portal has it ("sync now", "push ours")."""
    with change_by(actor):
        return record_change(obj, kind=kind, actor=actor)


def refuse(field: str | None, message: str) -> ValidationError:
    return ValidationError({field: message} if field else message)
