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
