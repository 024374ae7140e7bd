"""The sandbox ASGI app: every carrier emulator under its prefix, plus the control API.

The fault injector and the request log wrap the carrier routes as plain ASGI
middleware (no per-request Starlette middleware stack), so that with no faults set the
sandbox adds almost nothing to a request.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import control
from .base import CarrierEmulator
from .carriers import EMULATORS
from .faults import FaultInjector
from .requestlog import RequestLog, masked_body, masked_headers, masked_query
from .store import Store

log = logging.getLogger("portal.sandbox")
REPEATED_SLASHES = re.compile(r"/{2,}")

OPEN_CONTROL_API_WARNING = (
    "The sandbox control API (/_sandbox/) is OPEN: SANDBOX_ADMIN_TOKEN is not set, so anyone who can "
    "reach this port can read every account's credentials; set it to require a bearer token."
)


@dataclass
class Sandbox:
    store: Store
    emulators: dict[str, CarrierEmulator]
    admin_token: str | None = None
    faults: FaultInjector = field(default_factory=FaultInjector)
    log: RequestLog = field(default_factory=RequestLog)

    def emulator_for(self, path: str) -> CarrierEmulator | None:
        for emulator in self.emulators.values():
            if path == emulator.prefix or path.startswith(emulator.prefix + "/"):
                return emulator
        return None

    def carrier_of(self, account_id: str) -> str | None:
        account = self.store.get(account_id)
        return account.carrier if account else None


async def read_body(receive: Receive) -> bytes:
    """The whole request body (empty if the client went away before sending it)."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the app the body already read, then listens on."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay


class CarrierTraffic:
    """Applies faults to carrier requests and logs them; control requests pass through.

    The body is read before anything else, so the log shows what was sent even when a
    fault or a failed login answers before the route would have read it.
    """

    def __init__(self, app: ASGIApp, sandbox: Sandbox) -> None:
        self.app = app
        self.sandbox = sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        received_path = scope["path"]
        if "//" in received_path:
            # The carriers' front servers (nginx; Apache 2.4.39+ for Simotel) merge repeated
            # slashes before routing, so ``//api/customers/`` is ``/api/customers/``.
            scope = {**scope, "path": REPEATED_SLASHES.sub("/", received_path)}
            if scope.get("raw_path"):
                scope["raw_path"] = re.sub(rb"/{2,}", b"/", scope["raw_path"])
        emulator = self.sandbox.emulator_for(scope["path"])
        if emulator is None:
            await self.app(scope, receive, send)
            return

        started = time.perf_counter()
        arrived = time.time()
        request = Request(scope)
        account = emulator.identify(request)
        account_id = account.id if account else None
        body = await read_body(receive)
        status = 500  # what the log shows if no answer was ever started

        async def status_recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            response = await self._injected_fault(emulator, request, account_id)
            if response is not None:
                await response(scope, replaying(body, receive), status_recording_send)
            else:
                await self.app(scope, replaying(body, receive), status_recording_send)
        finally:
            self.sandbox.log.record(
                time=arrived,
                carrier=emulator.name,
                account=account_id,
                method=scope["method"],
                path=received_path,
                query=masked_query(scope.get("query_string", b"").decode("latin-1")),
                headers=masked_headers(scope.get("headers", [])),
                status=status,
                body=masked_body(body),
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
            )

    async def _injected_fault(
        self, emulator: CarrierEmulator, request: Request, account_id: str | None
    ) -> Response | None:
        """Wait out injected latency; the carrier's error answer if a fault fails the request."""
        if not self.sandbox.faults.active:
            return None
        verdict = self.sandbox.faults.judge(emulator.name, account_id)
        await verdict.wait()
        if verdict.status is None:
            return None
        if verdict.status == 429:
            return emulator.rate_limited_response(request, verdict.retry_after or 1)
        return emulator.error_response(request, verdict.status)


def create_app(
    state_file: str | None = None,
    admin_token: str | None = None,
    carriers: list[type[CarrierEmulator]] | None = None,
) -> ASGIApp:
    if not admin_token:
        log.warning(OPEN_CONTROL_API_WARNING)
    store = Store(state_file)
    emulators = {cls.name: cls(store) for cls in (carriers if carriers is not None else EMULATORS)}
    sandbox = Sandbox(store=store, emulators=emulators, admin_token=admin_token)
    routes = list(control.routes)
    routes += [Mount(e.prefix, routes=e.routes()) for e in emulators.values()]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        store.close()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.sandbox = sandbox
    return CarrierTraffic(app, sandbox)


def app_from_env() -> ASGIApp:
    """Factory for ``uvicorn --factory portal.sandbox.app:app_from_env``."""
    return create_app(
        state_file=os.environ.get("SANDBOX_STATE") or None,
        admin_token=os.environ.get("SANDBOX_ADMIN_TOKEN") or None,
    )
