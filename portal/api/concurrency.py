"""Optimistic concurrency: an object's version, sent as its ETag, checked by ``If-Match``.

The version is a digest of what people write (every concrete field the sync engine does
not own, secrets left out) and of ``updated_at``. ``updated_at`` alone would miss writes
that save only some columns (a subscriber's primary number cleared when the number is
released is saved with ``update_fields``, which leaves ``updated_at`` as it was); the
digest sees every change of the stored values, whoever made it, and costs no query.
The engine's progress (sync state, remote id) is not part of it: the carrier catching
up is not a change a client could overwrite, and must not make its next write fail.

The check runs inside the write's transaction, after the object's row is locked
(``SELECT … FOR NO KEY UPDATE`` on PostgreSQL; SQLite takes its one write lock as the
transaction begins), so nothing can change the object between the check and the write.
"""

from __future__ import annotations

import hashlib
import json

from portal.core.fields import EncryptedJSONField, EncryptedTextField

from .errors import PreconditionFailed

SECRET_FIELDS = (EncryptedTextField, EncryptedJSONField)


def _versioned_fields(model) -> list:
    cached = getattr(model, "_api_versioned_fields", None)
    if cached is None:
        engine = set(getattr(model, "ENGINE_FIELDS", ()))
        cached = [
            field.attname
            for field in model._meta.concrete_fields
            if field.name not in engine and not isinstance(field, SECRET_FIELDS)
        ]
        model._api_versioned_fields = cached
    return cached


def digest(values) -> str:
    return hashlib.sha256(json.dumps(values, default=str, sort_keys=True).encode()).hexdigest()[:20]


def version_of(obj) -> str:
    """The object's version: it changes whenever anybody changes what people write on it."""
    return digest([getattr(obj, name) for name in _versioned_fields(type(obj))])


def etag(version: str) -> str:
    # Weak: the representation also carries the sync state, which moves without a new version.
    return f'W/"{version}"'


def parse_if_match(header: str) -> set[str] | None:
    """The versions an ``If-Match`` header names (``*``: any); None when it names none."""
    tags = set()
    for part in header.split(","):
        part = part.strip()
        if not part:
            continue
        if part == "*":
            return {"*"}
        if part.startswith("W/"):
            part = part[2:]
        tags.add(part.strip('"'))
    return tags or None


def check_if_match(request, current_version: str) -> None:
    """412 unless the request's ``If-Match`` (if any) names ``current_version``.

    Weak comparison, as the ETags are weak: ``W/"v"`` and ``"v"`` both match ``v``.
    """
    header = request.headers.get("If-Match")
    if header is None:
        return
    wanted = parse_if_match(header)
    if wanted is None or ("*" not in wanted and current_version not in wanted):
        raise PreconditionFailed()


def lock(queryset, pk):
    """The object, its row locked for this transaction (only its own row, not joined ones)."""
    from django.http import Http404

    obj = queryset.select_for_update(no_key=True, of=("self",)).filter(pk=pk).first()
    if obj is None:
        raise Http404("Not found.")
    return obj
