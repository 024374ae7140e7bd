"""Bad input on the self-service forms: the message next to the field, nothing saved, nothing sent.

Each bad post must leave the forwards and the number exactly as they were and write no
sync job (so nothing can reach the carrier); the page answers 200 with the input kept.
"""

from __future__ import annotations

import pytest

from portal.forwards.services import current_forwards
from portal.numbers.models import Number
from portal.sync.models import SyncJob

pytestmark = pytest.mark.django_db


def block(html: str, start: str, end: str) -> str:
    """The part of ``html`` from the element that contains ``start`` to the next ``end``."""
    index = html.index(start)
    return html[index:html.index(end, index)]


def editor_post(owner_kind: str, rows: list[tuple[str, str]], type_: str = "unconditional", **extra) -> dict:
    data = {f"{type_}-enabled": "on", f"{type_}-target": [t for t, _ in rows],
            f"{type_}-timeout": [s for _, s in rows], f"{type_}-windows": "0", "op": "save"}
    data.update(extra)
    return data


@pytest.fixture
def unchanged(world):
    """At the end of the test: customer A's number and forwards are as they were, and nothing was queued."""
    a = world["a"]
    before = (current_forwards(a["number"]), current_forwards(a["subscriber"]),
              Number.objects.filter(pk=a["number"].pk).values().get(), SyncJob.objects.count())
    yield
    after = (current_forwards(a["number"]), current_forwards(a["subscriber"]),
             Number.objects.filter(pk=a["number"].pk).values().get(), SyncJob.objects.count())
    assert after == before


def test_a_forward_back_to_the_number_itself_is_refused_in_its_section(client, log_in, world, unchanged):
    number = world["a"]["number"]
    log_in(world["a"]["user"].user)
    own = number.e164.replace("+44", "0")  # as people type it
    response = client.post(f"/my/numbers/{number.pk}/forwards/", editor_post("number", [(own, "20")]))
    assert response.status_code == 200
    section = block(response.content.decode(), 'id="forward-unconditional"', "</fieldset>")
    assert "calls would loop" in section
    assert f'value="{own}"' in section  # input kept


def test_a_destination_that_is_neither_a_number_nor_a_sip_address_is_refused_next_to_it(client, log_in, world,
                                                                                         unchanged):
    subscriber = world["a"]["subscriber"]
    log_in(world["a"]["user"].user)
    response = client.post(f"/my/phones/{subscriber.pk}/forwards/",
                           editor_post("subscriber", [("07911 123457", "20"), ("call my mobile", "30")],
                                       type_="no_answer"))
    assert response.status_code == 200
    html = response.content.decode()
    row = block(html, 'id="no_answer-target-1"', "</li>")
    assert "is neither a phone number nor a SIP address" in row and 'aria-invalid="true"' in html
    first = block(html, 'id="no_answer-target-0"', "</li>")
    assert "neither" not in first and 'value="07911 123457"' in first


@pytest.mark.parametrize("seconds, words", [("2", "greater than or equal to 5"), ("301", "less than or equal to 300")])
def test_a_ring_time_out_of_range_is_refused_next_to_it(client, log_in, world, unchanged, seconds, words):
    subscriber = world["a"]["subscriber"]
    log_in(world["a"]["user"].user)
    response = client.post(f"/my/phones/{subscriber.pk}/forwards/",
                           editor_post("subscriber", [("07911 123457", seconds)], type_="no_answer"))
    assert response.status_code == 200
    row = block(response.content.decode(), 'id="no_answer-timeout-0"', "</div>")
    assert words in row and f'value="{seconds}"' in row


def test_more_destinations_than_the_carrier_holds_are_refused_in_the_forwards_section(client, log_in, world,
                                                                                        unchanged):
    number = world["a"]["number"]  # Simwood: at most 3 destinations per forward
    log_in(world["a"]["user"].user)
    rows = [(f"07911 12345{n}", "20") for n in range(6, 10)]
    response = client.post(f"/my/numbers/{number.pk}/forwards/", editor_post("number", rows))
    assert response.status_code == 200
    section = block(response.content.decode(), 'id="forward-unconditional"', "</fieldset>")
    assert "at most 3 destinations" in section


def test_a_routing_destination_that_is_no_number_is_refused_next_to_the_field(client, log_in, world, unchanged):
    number = world["a"]["number"]
    log_in(world["a"]["user"].user)
    response = client.post(f"/my/numbers/{number.pk}/routing/", {"where": "destination", "destination": "my office"})
    assert response.status_code == 200
    field = block(response.content.decode(), 'class="field field-destination"', "Call forwards still apply")
    assert "is neither a phone number nor a SIP address" in field and 'value="my office"' in field


def test_a_number_routed_to_itself_is_refused_next_to_the_field(client, log_in, world, unchanged):
    number = world["a"]["number"]
    log_in(world["a"]["user"].user)
    response = client.post(f"/my/numbers/{number.pk}/routing/",
                           {"where": "destination", "destination": number.e164.replace("+44", "0")})
    assert response.status_code == 200
    field = block(response.content.decode(), 'class="field field-destination"', "Call forwards still apply")
    assert "cannot forward to itself" in field


def test_a_phone_of_another_customer_cannot_be_chosen(client, log_in, world, unchanged):
    number = world["a"]["number"]
    log_in(world["a"]["user"].user)
    response = client.post(f"/my/numbers/{number.pk}/routing/",
                           {"where": "subscriber", "subscriber": world["b"]["subscriber"].pk})
    assert response.status_code == 200
    assert "Select a valid choice" in block(response.content.decode(), 'class="field field-subscriber"', "</select>")


def test_a_good_routing_is_saved_and_queued_for_the_carrier(client, log_in, world):
    number = world["a"]["number"]
    log_in(world["a"]["user"].user)
    jobs = SyncJob.objects.count()
    response = client.post(f"/my/numbers/{number.pk}/routing/", {"where": "destination", "destination": "07911 123457"})
    assert response.status_code == 302 and response["Location"] == f"/my/numbers/{number.pk}/"
    number.refresh_from_db()
    assert number.destination == "+447911123457" and number.subscriber_id is None
    assert SyncJob.objects.count() > jobs
