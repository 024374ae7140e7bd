"""Fixtures shared by the whole suite.

The sandbox carriers run as a real process for the whole test session (or the one at
``SANDBOX_URL`` is used), so every carrier test speaks real HTTP.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import httpx
import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.test import override_settings

from portal.sandbox.process import SandboxProcess


@pytest.fixture(scope="session", autouse=True)
def _test_settings():
    """Settings for the whole session, in place before the live server builds its handler.

    Plain HTTP (production stays HTTPS-only; SecurityMiddleware reads this once), pages
    without a collectstatic manifest, an in-memory cache so allauth's rate limits start
    from zero, and a fast password hasher for the many logins. Platform admins log in with
    ``force_login`` (no MFA step) in most tests; tests/web/test_login_paths.py covers the
    rule that makes them use MFA.
    """
    with override_settings(
        SECURE_SSL_REDIRECT=False,
        SESSION_COOKIE_SECURE=False,
        CSRF_COOKIE_SECURE=False,
        SECURE_HSTS_SECONDS=0,
        STORAGES={
            **django_settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        PLATFORM_ADMIN_MFA=False,
    ):
        yield


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


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
    with SandboxProcess(admin_token=os.environ.get("SANDBOX_ADMIN_TOKEN")) as sandbox:
        yield sandbox.url


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
