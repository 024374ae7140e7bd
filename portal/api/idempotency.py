"""``Idempotency-Key`` on POST: a retried request gets the first one's answer, not a second object.

The first request with a key claims it (a row, committed before any work is done, so a
concurrent retry sees it and waits: 409). Its successful answer is stored in the same
transaction as the change it made: either both are there or neither. A refused request
(4xx) or a crash frees the key, so a corrected request can use it again. A key sent
again with a different method, path or body is refused (422): it names another request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from portal.apitokens.models import ApiToken

from .errors import Conflict, UnprocessableRequest
from .models import IdempotencyState, IdempotentRequest

HEADER = "Idempotency-Key"
KEY_RE = re.compile(r"^[\x21-\x7e]{1,255}$")  # printable ASCII, no spaces
REPLAYED_HEADER = "Idempotent-Replayed"
KEPT_HEADERS = ("Location", "ETag")
# How long a retry waits for a first request still being worked on, before taking its
# process for dead and the key for free.
IN_PROGRESS_LEASE = dt.timedelta(seconds=60)


@dataclass
class Claim:
    pk: int
    completed: bool = False

    def complete(self, response: Response) -> None:
        """Keep the answer for the retries; call inside the transaction that made the change."""
        body = JSONRenderer().render(response.data).decode() if response.data is not None else ""
        IdempotentRequest.objects.filter(pk=self.pk).update(
            state=IdempotencyState.DONE,
            status_code=response.status_code,
            body=body,
            headers={name: response[name] for name in KEPT_HEADERS if response.has_header(name)},
        )
        self.completed = True

    def release(self) -> None:
        IdempotentRequest.objects.filter(pk=self.pk, state=IdempotencyState.IN_PROGRESS).delete()


def owner_of(request) -> str:
    if isinstance(request.auth, ApiToken):
        return f"token:{request.auth.pk}"
    return f"user:{request.user.pk}"


def fingerprint(request) -> str:
    body = json.dumps(request.data, sort_keys=True, default=str)
    return hashlib.sha256(f"{request.method} {request.get_full_path()}\n{body}".encode()).hexdigest()


def claim(request) -> Claim | Response | None:
    """None: no key sent. A Claim: this request is the first with its key. A Response: the stored answer."""
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not KEY_RE.match(key):
        raise exceptions.ValidationError(
            {HEADER: ["Use 1 to 255 printable ASCII characters without spaces, e.g. a UUID."]})
    owner, print_ = owner_of(request), fingerprint(request)
    for _ in range(3):
        now = timezone.now()
        try:
            with transaction.atomic():
                record = IdempotentRequest.objects.create(
                    owner=owner, key=key, fingerprint=print_, locked_until=now + IN_PROGRESS_LEASE,
                    expires_at=now + dt.timedelta(seconds=settings.API_IDEMPOTENCY_TTL),
                )
            return Claim(record.pk)
        except IntegrityError:
            pass
        existing = IdempotentRequest.objects.filter(owner=owner, key=key).first()
        if existing is None:
            continue  # freed meanwhile: claim it
        stale = existing.expires_at <= now or (
            existing.state == IdempotencyState.IN_PROGRESS and existing.locked_until <= now)
        if stale:
            IdempotentRequest.objects.filter(pk=existing.pk, state=existing.state,
                                             locked_until=existing.locked_until).delete()
            continue
        if existing.fingerprint != print_:
            raise UnprocessableRequest(
                f"This {HEADER} was used for another request (a different method, path or body). "
                "Use a new key for a new request.", code="idempotency_key_reused")
        if existing.state == IdempotencyState.IN_PROGRESS:
            conflict = Conflict("A request with this key is still being processed: retry in a moment.",
                                code="idempotency_key_in_progress")
            conflict.wait = 1
            raise conflict
        return replay(existing)
    raise Conflict("This key is being claimed by concurrent requests: retry in a moment.",
                   code="idempotency_key_in_progress")


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
        if isinstance(outcome, Response):
            return outcome
        if outcome is None:
            return handler(view, request, *args, **kwargs)
        request.idempotency_claim = outcome
        try:
            response = handler(view, request, *args, **kwargs)
        except BaseException:
            outcome.release()
            raise
        if not outcome.completed:
            if 200 <= response.status_code < 300:
                outcome.complete(response)
            else:
                outcome.release()
        return response

    run.idempotent = True  # the schema offers the header where it is honoured
    return run


def purge_expired() -> int:
    """Forget the answers whose keys have expired; how many were forgotten."""
    deleted, _ = IdempotentRequest.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted
