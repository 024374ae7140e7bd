"""/healthz for load balancers, and log lines that say who and which request."""

from __future__ import annotations

import io
import logging

import pytest
from django.db import OperationalError, connection

from portal.celery import app as celery_app
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def broken_broker():
    conf = celery_app.conf
    # Celery reads the Django-namespaced key first, so that is the one to change.
    keys = ("broker_url", "broker_write_url", "CELERY_BROKER_TRANSPORT")
    original = {key: conf.get(key) for key in keys}
    # A port nothing listens on: a real connection failure, not a mock.
    conf.update(broker_url="redis://127.0.0.1:1/0", broker_write_url="redis://127.0.0.1:1/0", CELERY_BROKER_TRANSPORT=None)
    yield
    conf.update(original)


def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}


def test_healthz_names_the_broker_when_it_is_down(client, broken_broker):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "broker": "down"}


def test_healthz_names_the_database_when_it_is_down(client, monkeypatch):
    # A database outage cannot be produced inside the test's own transaction.
    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", refuse)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "down"


@pytest.fixture
def stdout_log():
    """What the configured stdout handler writes, through its own filter and format."""
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "name", "") == "stdout")
    buffer = io.StringIO()
    original = handler.setStream(buffer)
    yield buffer
    handler.setStream(original)


def test_log_lines_carry_request_id_user_and_reseller(client, stdout_log, broken_broker):
    membership = StaffFactory()
    client.force_login(membership.user)
    response = client.get("/healthz", HTTP_X_REQUEST_ID="req-abc-123")
    assert response["X-Request-ID"] == "req-abc-123"
    line = next(line for line in stdout_log.getvalue().splitlines() if "broker unreachable" in line)
    assert "request=req-abc-123" in line
    assert f"user={membership.user.pk}" in line
    assert f"reseller={membership.reseller_id}" in line


def test_an_unsafe_request_id_is_replaced(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="bad id\nwith newline")
    assert response["X-Request-ID"] != "bad id\nwith newline"
    assert len(response["X-Request-ID"]) == 32
