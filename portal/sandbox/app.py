"""The sandbox ASGI app: every carrier emulator under its prefix, plus the control API.

The fault injector and the request log wrap the carrier routes as plain ASGI
middleware (no per-request Starlette middleware stack), so that with no faults set the
sandbox adds almost nothing to a request.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import control
from .base import CarrierEmulator
from .carriers import EMULATORS
from .faults import FaultInjector
from .requestlog import MAX_BODY, RequestLog
from .store import Store


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


class CarrierTraffic:
    """Applies faults to carrier requests and logs them; control requests pass through."""

    def __init__(self, app: ASGIApp, sandbox: Sandbox) -> None:
        self.app = app
        self.sandbox = sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        emulator = self.sandbox.emulator_for(scope["path"])
        if emulator is None:
            await self.app(scope, receive, send)
            return

        started = time.perf_counter()
        arrived = time.time()
        request = Request(scope)
        account = emulator.identify(request)
        account_id = account.id if account else None
        body = bytearray()
        status = 500

        async def logging_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request" and len(body) < MAX_BODY:
                body.extend(message.get("body", b"")[: MAX_BODY - len(body)])
            return message

        async def logging_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            if self.sandbox.faults.active:
                verdict = self.sandbox.faults.judge(emulator.name, account_id)
                if verdict.delay:
                    await asyncio.sleep(verdict.delay)
                if verdict.hang_for:
                    await asyncio.sleep(verdict.hang_for)
                if verdict.status is not None:
                    if verdict.status == 429:
                        response = emulator.rate_limited_response(request, verdict.retry_after or 1)
                    else:
                        response = emulator.error_response(request, verdict.status)
                    await response(scope, logging_receive, logging_send)
                    return
            await self.app(scope, logging_receive, logging_send)
        finally:
            self.sandbox.log.record(
                time=arrived,
                carrier=emulator.name,
                account=account_id,
                method=scope["method"],
                path=scope["path"],
                query=scope.get("query_string", b"").decode("latin-1"),
                status=status,
                body=body.decode("utf-8", "replace"),
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
            )


def create_app(
    state_file: str | None = None,
    admin_token: str | None = None,
    carriers: list[type[CarrierEmulator]] | None = None,
) -> ASGIApp:
    store = Store(state_file)
    emulators = {cls.name: cls(store) for cls in (carriers if carriers is not None else EMULATORS)}
    sandbox = Sandbox(store=store, emulators=emulators, admin_token=admin_token)
    routes = list(control.routes)
    routes += [Mount(e.prefix, routes=e.routes()) for e in emulators.values()]
    app = Starlette(routes=routes, on_shutdown=[store.close])
    app.state.sandbox = sandbox
    return CarrierTraffic(app, sandbox)


def app_from_env() -> ASGIApp:
    """Factory for ``uvicorn --factory portal.sandbox.app:app_from_env``."""
    return create_app(
        state_file=os.environ.get("SANDBOX_STATE") or None,
        admin_token=os.environ.get("SANDBOX_ADMIN_TOKEN") or None,
    )
