"""Settings and helpers for the page tests."""

from __future__ import annotations

import pytest

from tests.factories import PASSWORD


@pytest.fixture
def log_in(client):
    """Log ``user`` into the test client through the real login form."""

    def do(user):
        response = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
        assert response.status_code == 302, response.content.decode()[:2000]
        return response

    return do


# The end-to-end page tests drive a real worker against the sandbox, as the sync tests do.
from tests.sync.conftest import (  # noqa: E402,F401
    _purged_broker,
    carrier_state,
    sandbox_carrier_account,
    start_worker,
    worker,
)
