from __future__ import annotations

from django.db import models

from portal.core.fields import EncryptedTextField


class IdempotentRequest(models.Model):
    """The first answer to a POST sent with an ``Idempotency-Key``, for its retries.

    ``owner`` is who sent it (``token:<id>``, or ``user:<id>`` for a session): keys of
    different callers never meet. ``fingerprint`` is a digest of the method, path and
    body: the same key with a different request is refused, not answered with another
    request's result. Rows expire (``API_IDEMPOTENCY_TTL``) and are purged hourly.
    """

    owner = models.CharField(max_length=40)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    # Encrypted: an answer may hold a secret shown once (a new SIP password).
    body = EncryptedTextField(blank=True)
    headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "key"], name="idempotent_request_owner_key")]

    def __str__(self) -> str:
        return f"{self.owner} {self.key} ({self.status_code})"
