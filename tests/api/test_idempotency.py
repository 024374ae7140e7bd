"""Idempotency-Key: a retry gets the first answer, a reused key for another request is refused,
refused requests free their key, keys expire, and racing duplicates create one object."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from portal.api.models import IdempotentRequest
from portal.api.tasks import purge_idempotency_keys
from portal.customers.models import Customer
from portal.subscribers.models import Subscriber
from tests.sync.conftest import race

pytestmark = pytest.mark.django_db

CUSTOMERS = "/api/v1/customers/"


def body(world, **extra) -> dict:
    return {"name": "Harbour Dental", "carrier_account": world["a"]["account"].pk, **extra}


def test_a_retry_gets_the_first_answer_and_creates_nothing(api, world):
    api.as_(world["a"]["token"])
    key = str(uuid.uuid4())
    first = api.post(CUSTOMERS, body(world), HTTP_IDEMPOTENCY_KEY=key)
    assert first.status_code == 201 and "Idempotent-Replayed" not in first
    again = api.post(CUSTOMERS, body(world), HTTP_IDEMPOTENCY_KEY=key)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again["Location"] == first["Location"] and again["ETag"] == first["ETag"]
    assert again["Idempotent-Replayed"] == "true"
    assert Customer.objects.filter(name="Harbour Dental").count() == 1
    # The same body with the keys in another order and other spacing is the same request.
    reordered = api.generic("POST", CUSTOMERS, '{ "carrier_account": %d,  "name": "Harbour Dental" }'
                            % world["a"]["account"].pk, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key)
    assert reordered.status_code == 201 and reordered["Idempotent-Replayed"] == "true"


def test_the_same_key_for_another_request_is_refused(api, world):
    api.as_(world["a"]["token"])
    key = "order-4711"
    assert api.post(CUSTOMERS, body(world), HTTP_IDEMPOTENCY_KEY=key).status_code == 201
    other_body = api.post(CUSTOMERS, body(world, name="Quay Dental"), HTTP_IDEMPOTENCY_KEY=key)
    assert other_body.status_code == 422
    assert other_body.json()["code"] == "idempotency_key_reused"
    other_path = api.post(f"{CUSTOMERS}{world['a']['customer'].pk}/sync/", HTTP_IDEMPOTENCY_KEY=key)
    assert other_path.status_code == 422
    assert not Customer.objects.filter(name="Quay Dental").exists()


def test_a_refused_request_frees_its_key_for_the_corrected_one(api, world):
    api.as_(world["a"]["token"])
    key = str(uuid.uuid4())
    refused = api.post(CUSTOMERS, body(world, email="nope"), HTTP_IDEMPOTENCY_KEY=key)
    assert refused.status_code == 400
    corrected = api.post(CUSTOMERS, body(world, email="desk@harbour.example"), HTTP_IDEMPOTENCY_KEY=key)
    assert corrected.status_code == 201 and "Idempotent-Replayed" not in corrected


def test_keys_belong_to_their_token(api, world):
    key = "shared-key"
    assert api.as_(world["a"]["token"]).post(CUSTOMERS, body(world), HTTP_IDEMPOTENCY_KEY=key).status_code == 201
    second = api.as_(world["a"]["manager_token"]).post(CUSTOMERS, body(world), HTTP_IDEMPOTENCY_KEY=key)
    assert second.status_code == 201 and "Idempotent-Replayed" not in second
    assert Customer.objects.filter(name="Harbour Dental").count() == 2


def test_keys_expire_and_are_purged(api, world):
    api.as_(world["a"]["token"])
    key = str(uuid.uuid4())
    assert api.post(CUSTOMERS, body(world), HTTP_IDEMPOTENCY_KEY=key).status_code == 201
    IdempotentRequest.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    again = api.post(CUSTOMERS, body(world), HTTP_IDEMPOTENCY_KEY=key)
    assert again.status_code == 201 and "Idempotent-Replayed" not in again  # a new request now
    assert Customer.objects.filter(name="Harbour Dental").count() == 2
    IdempotentRequest.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert purge_idempotency_keys() == 1
    assert not IdempotentRequest.objects.exists()


def test_expired_keys_are_purged_hourly_by_beat():
    from django.conf import settings

    from portal.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["api-idempotency-keys"]
    assert entry["schedule"] == 3600.0
    app.loader.import_default_modules()  # what a worker does at start: the tasks of every app
    assert entry["task"] in app.tasks


@pytest.mark.parametrize("key", ["", "has space", "ü", "x" * 256])
def test_a_malformed_key_is_a_400(api, world, key):
    response = api.as_(world["a"]["token"]).post(CUSTOMERS, body(world), HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 400 and "Idempotency-Key" in response.json()["fields"]
    assert not Customer.objects.filter(name="Harbour Dental").exists()


def test_a_secret_in_a_stored_answer_is_encrypted_and_replayed(api, world):
    api.as_(world["a"]["token"])
    key = str(uuid.uuid4())
    new = {"customer": world["a"]["customer"].pk, "username": "301", "domain": "sip.example.com"}
    first = api.post("/api/v1/subscribers/", new, HTTP_IDEMPOTENCY_KEY=key)
    password = first.json()["sip_password"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT body FROM api_idempotentrequest")
        (stored,) = cursor.fetchone()
    assert password not in stored
    again = api.post("/api/v1/subscribers/", new, HTTP_IDEMPOTENCY_KEY=key)
    assert again.json()["sip_password"] == password  # a retry after a lost answer still gets the password
    assert Subscriber.objects.filter(username="301").count() == 1


def api_token_id(world) -> int:
    from portal.apitokens.models import ApiToken

    return ApiToken.objects.get(key=world["a"]["token"][4:16]).pk


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("path", "new"), [
    # Nothing unique: each duplicate makes its customer, cannot store its answer, and rolls back.
    (CUSTOMERS, lambda world: body(world)),
    # A unique username: a duplicate is refused ("already taken") by the first one's row.
    ("/api/v1/subscribers/", lambda world: {"customer": world["a"]["customer"].pk, "username": "301",
                                            "domain": "sip.example.com"}),
], ids=["customer", "subscriber"])
def test_racing_duplicates_create_one_object_and_all_get_its_answer(world, path, new):
    """The key is taken by the answer, stored with the change: a duplicate that came while the
    first was at work waits for it and answers with its answer (no 409, no second object)."""
    key = str(uuid.uuid4())

    def post():
        client = APIClient(HTTP_AUTHORIZATION=f"Bearer {world['a']['token']}")
        response = client.post(path, new(world), format="json", HTTP_IDEMPOTENCY_KEY=key)
        return response.status_code, response.headers.get("Idempotent-Replayed"), response.json().get("id")

    outcomes = race(post, post, post, post)
    assert Customer.objects.filter(name="Harbour Dental").count() == (1 if path == CUSTOMERS else 0)
    assert Subscriber.objects.filter(username="301").count() == (1 if path != CUSTOMERS else 0)
    first = [o for o in outcomes if o[:2] == (201, None)]
    assert len(first) == 1, outcomes
    assert [o for o in outcomes if o != first[0]] == [(201, "true", first[0][2])] * 3, outcomes
    assert IdempotentRequest.objects.count() == 1
