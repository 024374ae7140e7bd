"""The control API under ``/_sandbox/``: accounts, their state, faults, the request log.

It is not part of any carrier's API; tests, the demo seeder and resellers trying the
portal use it to create accounts with fresh credentials and to break things on purpose.
When ``SANDBOX_ADMIN_TOKEN`` is set, every call needs ``Authorization: Bearer TOKEN``.
"""

from __future__ import annotations

import hmac
import json
import uuid
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .base import Account, KnobError
from .faults import FaultSpecError


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _json_body(request: Request) -> dict[str, Any] | JSONResponse:
    raw = await request.body()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        return _error(400, "body is not valid JSON")
    if not isinstance(body, dict):
        return _error(400, "body must be a JSON object")
    return body


def _sandbox(request: Request):
    return request.app.state.sandbox


def _authorised(request: Request) -> bool:
    token = _sandbox(request).admin_token
    if not token:
        return True
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    # Bytes, not str: compare_digest refuses non-ASCII str, and a header may hold anything.
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def guarded(handler):
    async def wrapper(request: Request) -> Response:
        if not _authorised(request):
            return JSONResponse(
                {"error": "a valid sandbox admin token is required"},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="sandbox"'},
            )
        return await handler(request)

    wrapper.__name__ = handler.__name__
    wrapper.__doc__ = handler.__doc__
    return wrapper


def _account_doc(request: Request, account: Account) -> dict[str, Any]:
    emulator = _sandbox(request).emulators[account.carrier]
    base = str(request.base_url).rstrip("/")
    return {
        "id": account.id,
        "carrier": account.carrier,
        "base_url": f"{base}{emulator.prefix}/",
        "settings": account.settings,
        "config": account.config,
    }


@guarded
async def create_account(request: Request) -> Response:
    """POST /_sandbox/accounts {"carrier": ...} → 201 with fresh credentials."""
    body = await _json_body(request)
    if isinstance(body, Response):
        return body
    sandbox = _sandbox(request)
    carrier = body.get("carrier")
    if carrier not in sandbox.emulators:
        known = ", ".join(sorted(sandbox.emulators))
        return _error(400, f"carrier must be one of: {known}")
    account = Account(id=uuid.uuid4().hex[:12], carrier=carrier)
    sandbox.emulators[carrier].new_account(account)
    sandbox.store.add(account)
    return JSONResponse(_account_doc(request, account), status_code=201)


@guarded
async def list_accounts(request: Request) -> Response:
    store = _sandbox(request).store
    carrier = request.query_params.get("carrier")
    accounts = [a for a in store.accounts.values() if carrier in (None, a.carrier)]
    return JSONResponse({"accounts": [_account_doc(request, a) for a in accounts]})


def _find_account(request: Request) -> Account | JSONResponse:
    account = _sandbox(request).store.get(request.path_params["account_id"])
    if account is None:
        return _error(404, "no such sandbox account")
    return account


@guarded
async def account_detail(request: Request) -> Response:
    """GET shows an account; PATCH merges checked knobs into its config (null: default); DELETE removes it."""
    account = _find_account(request)
    if isinstance(account, Response):
        return account
    sandbox = _sandbox(request)
    if request.method == "DELETE":
        sandbox.store.remove(account.id)
        return Response(status_code=204)
    if request.method == "PATCH":
        body = await _json_body(request)
        if isinstance(body, Response):
            return body
        try:
            changes = sandbox.emulators[account.carrier].checked_config(body)
        except KnobError as exc:
            return _error(400, str(exc))
        for name, value in changes.items():
            if value is None:
                account.config.pop(name, None)
            else:
                account.config[name] = value
        sandbox.store.save(account)
    return JSONResponse(_account_doc(request, account))


@guarded
async def account_state(request: Request) -> Response:
    """GET /_sandbox/accounts/{id}/state: everything the account holds."""
    account = _find_account(request)
    if isinstance(account, Response):
        return account
    emulator = _sandbox(request).emulators[account.carrier]
    return JSONResponse(emulator.public_state(account))


@guarded
async def account_routing(request: Request) -> Response:
    """GET /_sandbox/accounts/{id}/routing/{owner}?at=YYYY-MM-DDTHH:MM: where a call to
    ``owner`` would go at that local moment, by the carrier's time rules."""
    account = _find_account(request)
    if isinstance(account, Response):
        return account
    try:
        at = datetime.fromisoformat(request.query_params.get("at", ""))
    except ValueError:
        return _error(400, "at must be a local date and time, e.g. 2026-12-24T18:00")
    emulator = _sandbox(request).emulators[account.carrier]
    try:
        return JSONResponse(emulator.routing_at(account, request.path_params["owner"], at.replace(tzinfo=None)))
    except NotImplementedError:
        return _error(400, f"{account.carrier} routing does not depend on the time: nothing to evaluate")
    except LookupError as exc:
        return _error(404, str(exc.args[0]) if exc.args else "no such owner")


MAX_BULK = 200_000


@guarded
async def bulk_create(request: Request) -> Response:
    """POST /_sandbox/accounts/{id}/bulk {"kind": "subscriber", "count": N}: N synthetic objects."""
    account = _find_account(request)
    if isinstance(account, Response):
        return account
    body = await _json_body(request)
    if isinstance(body, Response):
        return body
    emulator = _sandbox(request).emulators[account.carrier]
    kind, count = body.get("kind"), body.get("count")
    if kind not in emulator.bulk_kinds:
        can = ", ".join(emulator.bulk_kinds) or "nothing"
        return _error(400, f"{account.carrier} can make in bulk: {can}")
    if type(count) is not int or not 1 <= count <= MAX_BULK:
        return _error(400, f"count must be a whole number from 1 to {MAX_BULK}")
    return JSONResponse(emulator.bulk_create(account, kind, count), status_code=201)


@guarded
async def faults(request: Request) -> Response:
    """PUT sets the faults of one scope; DELETE clears them all; GET lists them."""
    sandbox = _sandbox(request)
    injector = sandbox.faults
    if request.method == "PUT":
        body = await _json_body(request)
        if isinstance(body, Response):
            return body
        try:
            injector.put(body, set(sandbox.emulators), carrier_of_account=sandbox.carrier_of)
        except FaultSpecError as exc:
            return _error(400, str(exc))
    elif request.method == "DELETE":
        injector.clear()
    return JSONResponse({"faults": injector.describe()})


@guarded
async def requests_log(request: Request) -> Response:
    """GET /_sandbox/requests?carrier=&account=&since= (since: Unix time)."""
    params = request.query_params
    since = params.get("since")
    try:
        since_value = float(since) if since else None
    except ValueError:
        return _error(400, "since must be a Unix timestamp")
    entries = _sandbox(request).log.query(
        carrier=params.get("carrier") or None,
        account=params.get("account") or None,
        since=since_value,
    )
    return JSONResponse({"requests": entries})


@guarded
async def reset(request: Request) -> Response:
    """POST /_sandbox/reset: no accounts, no faults, an empty log."""
    sandbox = _sandbox(request)
    sandbox.store.reset()
    sandbox.faults.clear()
    sandbox.log.clear()
    return Response(status_code=204)


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok", "carriers": sorted(_sandbox(request).emulators)})


routes = [
    Route("/_sandbox/health", health, methods=["GET"]),
    Route("/_sandbox/accounts", create_account, methods=["POST"]),
    Route("/_sandbox/accounts", list_accounts, methods=["GET"]),
    Route("/_sandbox/accounts/{account_id}", account_detail, methods=["GET", "PATCH", "DELETE"]),
    Route("/_sandbox/accounts/{account_id}/state", account_state, methods=["GET"]),
    Route("/_sandbox/accounts/{account_id}/bulk", bulk_create, methods=["POST"]),
    Route("/_sandbox/accounts/{account_id}/routing/{owner}", account_routing, methods=["GET"]),
    Route("/_sandbox/faults", faults, methods=["GET", "PUT", "DELETE"]),
    Route("/_sandbox/requests", requests_log, methods=["GET"]),
    Route("/_sandbox/reset", reset, methods=["POST"]),
]
