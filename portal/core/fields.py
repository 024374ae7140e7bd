"""Model fields whose value is encrypted in the database and plain in Python.

Serialisation (``dumpdata``) writes the encrypted form, and ``loaddata`` takes it back, so a
dump never holds a secret in the clear and a restore with the same keys gets every secret
back intact.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from . import crypto


class StoredSecret(str):
    """A secret as it was stored (read from the database or a dump), not one just typed.

    Rules for new secrets (the SIP password policy) judge only new values: a password the
    carrier generated, or one set before the rule, stays valid until it is replaced.
    """


def _undecryptable() -> ValidationError:
    return ValidationError(
        "This value starts with “%(prefix)s” but is not a secret encrypted with this portal's keys. "
        "A secret cannot start with “%(prefix)s”.",
        code="undecryptable",
        params={"prefix": crypto.PREFIX},
    )


def _decrypted(value: str) -> str:
    try:
        return crypto.decrypt(value)
    except ValueError:
        raise _undecryptable() from None


class EncryptedTextField(models.TextField):
    """A text secret, stored as a Fernet token. Empty stays empty (no secret set)."""

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value in (None, ""):
            return value
        return StoredSecret(crypto.decrypt(value))

    def to_python(self, value: Any) -> Any:
        # An encrypted value comes from a dump (loaddata); anything else is the plain secret.
        if isinstance(value, str) and value.startswith(crypto.PREFIX):
            return StoredSecret(_decrypted(value))
        return value

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return crypto.encrypt(value)

    def value_to_string(self, obj: Any) -> str:
        value = self.value_from_object(obj)
        return crypto.encrypt(value) if value else ""


class EncryptedJSONField(models.TextField):
    """A dict of secrets (e.g. carrier credentials), stored as one Fernet token."""

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> dict:
        if not value:
            return {}
        return json.loads(crypto.decrypt(value))

    def to_python(self, value: Any) -> dict:
        if isinstance(value, dict):
            return value
        if not value:
            return {}
        if isinstance(value, str) and value.startswith(crypto.PREFIX):
            value = _decrypted(value)
        try:
            loaded = json.loads(value)
        except (TypeError, ValueError):
            raise ValidationError("Give the secrets as a JSON object.", code="invalid") from None
        if not isinstance(loaded, dict):
            raise ValidationError("Give the secrets as a JSON object.", code="invalid")
        return loaded

    def get_prep_value(self, value: Any) -> str:
        if not value:
            return ""
        return crypto.encrypt(json.dumps(value, sort_keys=True))

    def value_to_string(self, obj: Any) -> str:
        # Serialisers (dumpdata) get the encrypted form: never the plain secrets, and enough to restore.
        value = self.value_from_object(obj)
        return crypto.encrypt(json.dumps(value, sort_keys=True)) if value else ""
