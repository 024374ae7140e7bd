"""Model fields whose value is encrypted in the database and plain in Python."""

from __future__ import annotations

import json
from typing import Any

from django.db import models

from . import crypto


class EncryptedTextField(models.TextField):
    """A text secret, stored as a Fernet token. Empty stays empty (no secret set)."""

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value in (None, ""):
            return value
        return crypto.decrypt(value)

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str) and value.startswith(crypto.PREFIX):
            return crypto.decrypt(value)
        return value

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return crypto.encrypt(value)


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
            return json.loads(crypto.decrypt(value))
        return json.loads(value)

    def get_prep_value(self, value: Any) -> str:
        if not value:
            return ""
        return crypto.encrypt(json.dumps(value, sort_keys=True))

    def value_to_string(self, obj: Any) -> str:
        # Serialisers (dumpdata, the audit log) never see the plain secrets.
        return "***" if self.value_from_object(obj) else ""
