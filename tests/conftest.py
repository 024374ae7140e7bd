"""Fixtures shared by the whole suite.

The sandbox carriers run as a real process for the whole test session (or the one at
``SANDBOX_URL`` is used), so every carrier test speaks real HTTP.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _plain_http(settings):
    """Tests talk plain HTTP (test client, live server); production stays HTTPS-only."""
    settings.SECURE_SSL_REDIRECT = False
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.SECURE_HSTS_SECONDS = 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen | None = None, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode} before it came up")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up within {timeout} s")


def sandbox_admin_headers() -> dict[str, str]:
    token = os.environ.get("SANDBOX_ADMIN_TOKEN")
    return {"Authorization": f"Bearer {token}"} if token else {}


@pytest.fixture(scope="session")
def sandbox_url() -> Iterator[str]:
    """Base URL of a running sandbox, e.g. ``http://127.0.0.1:PORT`` (no trailing slash)."""
    external = os.environ.get("SANDBOX_URL")
    if external:
        yield external.rstrip("/")
        return
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "portal.sandbox", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/_sandbox/health", process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def sandbox_control(sandbox_url: str) -> Iterator[httpx.Client]:
    """An httpx client for the sandbox's control API (``/_sandbox/...``)."""
    with httpx.Client(base_url=sandbox_url, headers=sandbox_admin_headers(), timeout=10) as client:
        yield client


@pytest.fixture
def new_sandbox_account(sandbox_control: httpx.Client) -> Iterator[Callable[[str], dict]]:
    """Factory: a fresh sandbox account of a carrier, as the control API returns it."""

    def create(carrier: str) -> dict:
        response = sandbox_control.post("/_sandbox/accounts", json={"carrier": carrier})
        assert response.status_code == 201, response.text
        return response.json()

    yield create


@pytest.fixture
def sandbox_faults(sandbox_control: httpx.Client) -> Iterator[Callable[[dict], dict]]:
    """Set faults through the control API; they are all cleared after the test."""

    def put(spec: dict) -> dict:
        response = sandbox_control.put("/_sandbox/faults", json=spec)
        assert response.status_code == 200, response.text
        return response.json()

    yield put
    sandbox_control.delete("/_sandbox/faults")
