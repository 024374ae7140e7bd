"""Settings and helpers for the admin tests."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _admin_settings(settings):
    # Admin pages are rendered without a collectstatic manifest.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def form_data():
    """``form_data(response, **changes)``: the POST data of the admin form a page shows, changed.

    Posting back what the page shows is what a person does, so a test names only the
    fields it is about and cannot drift from the form.
    """

    def build(response, **changes) -> dict:
        data = {}
        for field in response.context["adminform"].form:
            value = field.value()
            if value is not None and not field.field.disabled:
                data[field.html_name] = value
        data.update(changes)
        return data

    return build
