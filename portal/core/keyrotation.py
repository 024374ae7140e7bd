"""Re-encrypting every secret at rest with the first of ``FIELD_ENCRYPTION_KEYS``.

The procedure (docs/security.md): put a new key first, deploy, run
``manage.py rotate_field_keys``, check with ``--check``, then drop the old key. Rows are
rewritten in place by primary key (no save(): no audit entry, no sync job, no
``updated_at``), each table in its own transaction; running it again changes nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from django.apps import apps
from django.db import connection, transaction

from . import crypto
from .fields import EncryptedJSONField, EncryptedTextField

CHUNK = 500
MFA_SECRET_KEYS = ("secret", "seed")  # allauth's TOTP key and recovery-code seed, encrypted by our MFA adapter


def encrypted_columns() -> Iterator[tuple[type, object]]:
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, (EncryptedTextField, EncryptedJSONField)):
                yield model, field


def rotate(*, check_only: bool = False) -> Counter:
    """Counts by ``"<label>: stale|current"``; with ``check_only`` nothing is written."""
    counts: Counter = Counter()
    for model, field in encrypted_columns():
        _rotate_column(model, field, counts, check_only)
    _rotate_authenticators(counts, check_only)
    return counts


def _rotate_column(model, field, counts: Counter, check_only: bool) -> None:
    label = f"{model._meta.label}.{field.name}"
    table = connection.ops.quote_name(model._meta.db_table)
    column = connection.ops.quote_name(field.column)
    pk = connection.ops.quote_name(model._meta.pk.column)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {pk}, {column} FROM {table} WHERE {column} <> ''")  # noqa: S608 (quoted names)
            rows = cursor.fetchall()
        for start in range(0, len(rows), CHUNK):
            stale = [(key, stored) for key, stored in rows[start : start + CHUNK] if not crypto.is_encrypted_with_first_key(stored)]
            counts[f"{label}: current"] += min(CHUNK, len(rows) - start) - len(stale)
            counts[f"{label}: stale"] += len(stale)
            if stale and not check_only:
                with connection.cursor() as cursor:
                    cursor.executemany(
                        f"UPDATE {table} SET {column} = %s WHERE {pk} = %s",  # noqa: S608
                        [(crypto.reencrypt(stored), key) for key, stored in stale],
                    )


def _rotate_authenticators(counts: Counter, check_only: bool) -> None:
    from allauth.mfa.models import Authenticator

    label = "mfa.Authenticator.data"
    with transaction.atomic():
        for authenticator in Authenticator.objects.select_for_update().only("pk", "data"):
            data = dict(authenticator.data)
            changed = False
            for key in MFA_SECRET_KEYS:
                value = data.get(key)
                if not isinstance(value, str) or not value:
                    continue
                if value.startswith(crypto.PREFIX) and crypto.is_encrypted_with_first_key(value):
                    continue
                # Stored before the portal encrypted MFA secrets (plain), or under an older key.
                data[key] = crypto.reencrypt(value) if value.startswith(crypto.PREFIX) else crypto.encrypt(value)
                changed = True
            counts[f"{label}: {'stale' if changed else 'current'}"] += 1
            if changed and not check_only:
                Authenticator.objects.filter(pk=authenticator.pk).update(data=data)
