"""Carrier accounts: create, change, switch on and off, test. The only writers of CarrierAccount
outside the admin.

The model keeps its own rules (a new address needs its credentials again; only the
carriers' own hosts): these functions validate through it, so a refusal comes back as a
ValidationError on the field it is about. Pages never build an adapter: a connection test
goes through :func:`test_connection`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from django.db import transaction

from portal.core.audit import acting_as

from .base import CarrierError
from .models import CarrierAccount

log = logging.getLogger(__name__)


def _save(account: CarrierAccount, actor) -> CarrierAccount:
    account.full_clean()
    with transaction.atomic(), acting_as(actor):
        account.save()
    return account


def create_account(*, reseller, actor=None, credentials: dict, **fields) -> CarrierAccount:
    account = CarrierAccount(reseller=reseller, credentials=dict(credentials), **fields)
    _save(account, actor)
    log.info("carrier account %s created by %s", account.pk, getattr(actor, "pk", None))
    return account


def update_account(account: CarrierAccount, *, actor=None, credentials: dict | None = None, **changes) -> CarrierAccount:
    """Change ``account``; ``credentials`` replaces the stored ones (None keeps them).

    The model refuses stored credentials carried to a new kind or address: give them again.
    """
    for name, value in changes.items():
        setattr(account, name, value)
    if credentials is not None:
        account.credentials = dict(credentials)
    return _save(account, actor)


def set_enabled(account: CarrierAccount, enabled: bool, *, actor=None) -> CarrierAccount:
    """A disabled account keeps its objects and jobs; nothing new is provisioned on it by pages."""
    return update_account(account, enabled=enabled, actor=actor)


@dataclass
class ConnectionResult:
    ok: bool
    message: str
    ms: int


def test_connection(account: CarrierAccount) -> ConnectionResult:
    """Ask the carrier whether the account's address and credentials work (one request of its budget)."""
    from portal.sync.engine import build_adapter

    started = time.monotonic()
    try:
        with build_adapter(account, max_wait=5.0) as adapter:
            adapter.test_connection()
    except CarrierError as exc:
        took = round((time.monotonic() - started) * 1000)
        return ConnectionResult(False, f"{account.get_kind_display()} said: {exc.message}", took)
    took = round((time.monotonic() - started) * 1000)
    return ConnectionResult(True, f"{account.get_kind_display()} answered in {took} ms: the credentials work.", took)
