"""``Idempotency-Key`` on POST: a retried request gets the first one's answer, not a second object.

The key is taken by storing the first successful answer, in the same transaction as the
change it made: either both are there or neither, and there is no second commit. A retry
that comes while the first request is still at work does the work too, but cannot store
its answer: the unique key makes it wait for the first transaction (PostgreSQL) or for the
database (SQLite), and then it rolls its own change back and answers with the first one's.
A refused request (4xx) or a crash stores nothing, so a corrected request can use the key
again. A key sent again with a different method, path or body is refused (422): it names
another request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from portal.apitokens.models import ApiToken

from .errors import Conflict, UnprocessableRequest
from .models import IdempotentRequest

HEADER = "Idempotency-Key"
KEY_RE = re.compile(r"^[\x21-\x7e]{1,255}$")  # printable ASCII, no spaces
REPLAYED_HEADER = "Idempotent-Replayed"
KEPT_HEADERS = ("Location", "ETag")


class TakenMeanwhile(Exception):
    """Another request with the same key stored its answer first: this one's change is rolled back."""


@dataclass
class Claim:
    """A key no answer is stored under yet: ``complete`` stores this request's."""

    owner: str
    key: str
    fingerprint: str
    completed: bool = False

    def complete(self, response: Response) -> None:
        """Keep the answer for the retries; call inside the transaction that made the change,
        which it leaves broken (to be rolled back) when another request stored one first."""
        body = JSONRenderer().render(response.data).decode() if response.data is not None else ""
        try:  # no savepoint (two more round trips): on a clash the whole transaction is rolled back
            IdempotentRequest.objects.create(
                owner=self.owner, key=self.key, fingerprint=self.fingerprint, status_code=response.status_code,
                body=body, headers={name: response[name] for name in KEPT_HEADERS if response.has_header(name)},
                expires_at=timezone.now() + dt.timedelta(seconds=settings.API_IDEMPOTENCY_TTL),
            )
        except IntegrityError:
            raise TakenMeanwhile from None
        self.completed = True


def owner_of(request) -> str:
    if isinstance(request.auth, ApiToken):
        return f"token:{request.auth.pk}"
    return f"user:{request.user.pk}"


def fingerprint(request) -> str:
    body = json.dumps(request.data, sort_keys=True, default=str)
    return hashlib.sha256(f"{request.method} {request.get_full_path()}\n{body}".encode()).hexdigest()


def claim(request) -> Claim | Response | None:
    """None: no key sent. A Claim: no answer is stored under the key. A Response: the stored answer."""
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not KEY_RE.match(key):
        raise exceptions.ValidationError(
            {HEADER: ["Use 1 to 255 printable ASCII characters without spaces, e.g. a UUID."]})
    pending = Claim(owner_of(request), key, fingerprint(request))
    stored = stored_answer(pending)
    return stored if stored is not None else pending


def stored_answer(pending: Claim) -> Response | None:
    existing = IdempotentRequest.objects.filter(owner=pending.owner, key=pending.key).first()
    if existing is None:
        return None
    if existing.expires_at <= timezone.now():
        IdempotentRequest.objects.filter(pk=existing.pk, expires_at=existing.expires_at).delete()
        return None
    if existing.fingerprint != pending.fingerprint:
        raise UnprocessableRequest(
            f"This {HEADER} was used for another request (a different method, path or body). "
            "Use a new key for a new request.", code="idempotency_key_reused")
    return replay(existing)


def replay(record: IdempotentRequest) -> Response:
    data = json.loads(record.body) if record.body else None
    response = Response(data, status=record.status_code, headers=dict(record.headers))
    response[REPLAYED_HEADER] = "true"
    return response


def idempotent(handler):
    """For a POST handler of an API view: answers a retry from the stored answer.

    The view's write (``ApiViewSet.write``) stores the answer in its own transaction; a
    handler that wrote nothing has its answer stored as it returns.
    """

    @wraps(handler)
    def run(view, request, *args, **kwargs):
        outcome = claim(request)
        if not isinstance(outcome, Claim):
            return outcome if outcome is not None else handler(view, request, *args, **kwargs)
        request.idempotency_claim = outcome
        try:
            response = handler(view, request, *args, **kwargs)
            if not outcome.completed and 200 <= response.status_code < 300:
                outcome.complete(response)
        except TakenMeanwhile:
            stored = stored_answer(outcome)
            if stored is None:  # stored, then expired or purged at once: nothing to answer with
                raise Conflict("Another request with this key was answered at the same moment: retry.") from None
            return stored
        except (exceptions.APIException, DjangoValidationError, IntegrityError):
            # Refused, perhaps only because a concurrent first request with this key made the
            # object meanwhile (its name taken): then the first one's answer is this one's.
            stored = stored_answer(outcome)
            if stored is None:
                raise
            return stored
        if not 200 <= response.status_code < 300:
            return stored_answer(outcome) or response
        return response

    run.idempotent = True  # the schema offers the header where it is honoured
    return run


def purge_expired() -> int:
    """Forget the answers whose keys have expired; how many were forgotten."""
    deleted, _ = IdempotentRequest.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted
