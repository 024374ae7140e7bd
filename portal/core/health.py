"""``/healthz`` for load balancers: 200 when the database and the broker answer."""

from __future__ import annotations

import logging

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

log = logging.getLogger(__name__)


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return True
    except Exception:
        log.exception("health check: database unreachable")
        return False


def broker_ok() -> bool:
    from portal.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception as exc:
        log.warning("health check: broker unreachable (%s)", type(exc).__name__)
        return False


@never_cache
def healthz(request):
    checks = {"database": database_ok(), "broker": broker_ok()}
    failing = [name for name, ok in checks.items() if not ok]
    body = {"status": "ok" if not failing else "unavailable", "checks": {k: "ok" if v else "down" for k, v in checks.items()}}
    return JsonResponse(body, status=200 if not failing else 503)

