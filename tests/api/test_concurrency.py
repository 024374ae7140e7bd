"""Optimistic concurrency: ETags, If-Match and 412, including two writers racing for real."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from portal.customers.models import Customer
from portal.customers.services import update_customer
from portal.numbers.models import Number
from portal.numbers.services import release_number
from portal.subscribers.models import Subscriber
from tests.sync.conftest import race

pytestmark = pytest.mark.django_db


def test_a_write_with_the_version_read_goes_through_and_a_stale_one_is_412(api, world):
    a = world["a"]
    path = f"/api/v1/customers/{a['customer'].pk}/"
    api.as_(a["token"])
    read = api.get(path)
    etag = read["ETag"]
    assert etag == f'W/"{read.json()["version"]}"'
    first = api.patch(path, {"city": "York"}, HTTP_IF_MATCH=etag)
    assert first.status_code == 200 and first["ETag"] != etag
    stale = api.patch(path, {"city": "Bath"}, HTTP_IF_MATCH=etag)
    assert stale.status_code == 412
    assert stale.json()["code"] == "precondition_failed"
    assert Customer.objects.get(pk=a["customer"].pk).city == "York"  # the second writer changed nothing
    assert api.delete(path, HTTP_IF_MATCH=etag).status_code == 412
    # The strong form of the same tag, a list of tags and "*" all match as they should.
    current = api.get(path)["ETag"]
    assert api.patch(path, {"city": "Ely"}, HTTP_IF_MATCH=current.removeprefix("W/")).status_code == 200
    current = api.get(path)["ETag"]
    assert api.patch(path, {"city": "Rye"}, HTTP_IF_MATCH=f'"nope", {current}').status_code == 200
    assert api.patch(path, {"city": "Hull"}, HTTP_IF_MATCH="*").status_code == 200
    assert api.patch(path, {"city": "Wells"}, HTTP_IF_MATCH="").status_code == 412


def test_the_version_moves_with_any_writer_and_not_with_the_carrier_catching_up(api, world):
    a = world["a"]
    path = f"/api/v1/customers/{a['customer'].pk}/"
    api.as_(a["token"])
    etag = api.get(path)["ETag"]
    # The sync engine's progress (its own columns, written with UPDATE … WHERE) is no change to overwrite.
    Customer.objects.filter(pk=a["customer"].pk).update(sync_state="synced", remote_id="C-9")
    assert api.get(path)["ETag"] == etag
    # A person's change on a page (the same service) is.
    update_customer(Customer.objects.get(pk=a["customer"].pk), city="Derby", actor=a["manager"])
    assert api.patch(path, {"city": "Bath"}, HTTP_IF_MATCH=etag).status_code == 412


def test_a_change_saved_without_updated_at_still_moves_the_version(api, world):
    """Releasing a subscriber's primary number clears it with update_fields, leaving updated_at as it was."""
    a = world["a"]
    subscriber = a["subscriber"]
    Subscriber.objects.filter(pk=subscriber.pk).update(primary_number=a["number"])
    a["number"].subscriber = subscriber
    a["number"].save()
    path = f"/api/v1/subscribers/{subscriber.pk}/"
    api.as_(a["token"])
    before = api.get(path)
    release_number(Number.objects.get(pk=a["number"].pk), actor=a["manager"])
    after = api.get(path)
    assert after.json()["primary_number"] is None
    assert after.json()["updated_at"] == before.json()["updated_at"]
    assert after["ETag"] != before["ETag"]
    assert api.patch(path, {"primary_number": a["number"].pk}, HTTP_IF_MATCH=before["ETag"]).status_code == 412


@pytest.mark.django_db(transaction=True)
def test_two_writers_with_the_same_version_one_wins_one_gets_412(world):
    """Checked under the row's lock in the write's transaction: the check and the write cannot interleave."""
    a = world["a"]
    path = f"/api/v1/customers/{a['customer'].pk}/"
    reader = APIClient(HTTP_AUTHORIZATION=f"Bearer {a['token']}")
    for round_ in range(5):
        etag = reader.get(path)["ETag"]
        cities = [f"North {round_}", f"South {round_}"]

        def write(city: str):
            client = APIClient(HTTP_AUTHORIZATION=f"Bearer {a['token']}")
            return client.patch(path, {"city": city}, format="json", HTTP_IF_MATCH=etag).status_code

        statuses = race(*(lambda c=c: write(c) for c in cities))
        assert sorted(statuses) == [200, 412], (round_, statuses)
        won = cities[statuses.index(200)]
        assert Customer.objects.get(pk=a["customer"].pk).city == won


@pytest.mark.django_db(transaction=True)
def test_racing_writers_without_if_match_are_serialised_not_lost(world):
    """Many concurrent edits of one forward set: each lands whole (one of them last), none is half-applied."""
    a = world["a"]
    path = f"/api/v1/numbers/{a['number'].pk}/forwards/"
    targets = ["+447911123456", "+447911123457", "+447911123458", "+447911123459"]
    errors: list = []

    def write(target: str):
        client = APIClient(HTTP_AUTHORIZATION=f"Bearer {a['token']}")
        body = {"forwards": [{"type": "unconditional", "destinations": [{"target": target}]},
                             {"type": "no_answer", "destinations": [{"target": target, "timeout": 25}]}]}
        response = client.put(path, body, format="json")
        if response.status_code != 200:
            errors.append((response.status_code, response.content[:300]))
        return response.status_code

    statuses = race(*(lambda t=t: write(t) for t in targets))
    assert errors == [] and statuses == [200] * len(targets)
    final = APIClient(HTTP_AUTHORIZATION=f"Bearer {a['token']}").get(path).json()["forwards"]
    assert len(final) == 2
    assert len({f["destinations"][0]["target"] for f in final}) == 1  # both from the same writer

