"""The self-service pages: services in plain words, what the carrier and the reseller allow,
the live state, and the same number of queries for 3 services as for 30."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.customers.models import SelfServiceRouting
from portal.subscribers.models import Subscriber
from portal.sync.models import SyncState
from tests.selfservice.conftest import services_of

pytestmark = pytest.mark.django_db


def test_home_tells_where_calls_go_in_plain_words(client, log_in, world):
    a = world["a"]
    log_in(a["user"].user)
    html = client.get("/my/").content.decode()
    number = "020 7946 " + a["number"].e164[-4:]
    assert f"Calls to {number} ring phone 201 · Kira." in html
    assert f"All calls to {number} ring 07911 123456 for 20 s — only Mon–Fri 09:00–17:30" in html
    assert "if nobody answers, they ring 07911 222333 for 25 s" in html  # the phone's own forward
    assert f"go to your phone system ({a['trunk'].name})" in html
    assert "Being applied…" in html  # nothing was sent yet: no worker in these tests


def test_the_number_page_offers_what_the_carrier_and_the_reseller_allow(client, log_in, world):
    a = world["a"]
    log_in(a["user"].user)
    page = client.get(f"/my/numbers/{a['number'].pk}/").content.decode()
    assert "Change where calls go" in page and "Change call forwards" in page  # Simwood holds both
    customer = a["customer"]
    customer.self_service_routing = SelfServiceRouting.OWN
    customer.save(update_fields=["self_service_routing"])
    form = client.get(f"/my/numbers/{a['number'].pk}/routing/").content.decode()
    assert "One of your phones" in form and "Another number or a SIP address" not in form
    refused = client.post(f"/my/numbers/{a['number'].pk}/routing/", {"where": "destination",
                                                                    "destination": "07911 123457"})
    assert refused.status_code == 200 and "Select a valid choice" in refused.content.decode()
    customer.self_service_routing = SelfServiceRouting.LOCKED
    customer.save(update_fields=["self_service_routing"])
    page = client.get(f"/my/numbers/{a['number'].pk}/").content.decode()
    assert "Change where calls go" not in page and "ask us to change it" in page
    assert client.get(f"/my/numbers/{a['number'].pk}/routing/").status_code == 403


def test_a_phone_page_shows_its_settings_and_never_its_password(client, log_in, world):
    a = world["a"]
    log_in(a["user"].user)
    html = client.get(f"/my/phones/{a['subscriber'].pk}/").content.decode()
    assert a["subscriber"].username in html and a["subscriber"].domain in html
    assert a["subscriber"].sip_password not in html
    assert "Change call forwards" in html  # Sipwise holds a subscriber's forwards


def test_a_refusal_by_the_carrier_is_told_with_its_words(client, log_in, world):
    a = world["a"]
    Subscriber.objects.filter(pk=a["subscriber"].pk).update(sync_state=SyncState.ERROR,
                                                            sync_error="display_name: too long for the carrier")
    log_in(a["user"].user)
    html = client.get(f"/my/phones/{a['subscriber'].pk}/").content.decode()
    assert "Not applied" in html and "“display_name: too long for the carrier”" in html


def test_home_costs_the_same_queries_for_many_services_as_for_few(client, log_in, world):
    a = world["a"]
    log_in(a["user"].user)
    client.get("/my/")  # warm caches (content types, sessions)
    with CaptureQueriesContext(connection) as few:
        assert client.get("/my/").status_code == 200
    for more in range(9):
        services_of(a["customer"], simwood=world["simwood"], sipwise=world["sipwise"], tag=f"9{more}")
    with CaptureQueriesContext(connection) as many:
        html = client.get("/my/").content.decode()
    assert html.count('class="card"') >= 40
    assert len(many) == len(few), "\n".join(q["sql"] for q in many.captured_queries)


