"""Getting a consecutive block of numbers: the search offers blocks where the carrier does
(Simwood's consecutive report, against the sandbox), the block is taken whole through the
services, and the carrier is asked again at that moment: numbers taken by someone else
since the search are listed, the rest still taken. The role matrix as in ``test_staff_pages``.
"""

from __future__ import annotations

import httpx
import pytest

from portal.numbers.models import Number
from portal.sync.models import SyncJob
from tests.factories import CustomerFactory, CustomerUserFactory, StaffFactory

pytestmark = pytest.mark.django_db

GET = "/staff/numbers/get/"


@pytest.fixture
def world(sandbox_carrier_account):
    simwood = sandbox_carrier_account("simwood")
    reseller = simwood.reseller
    surevoip = sandbox_carrier_account("surevoip", reseller=reseller)
    customer = CustomerFactory(reseller=reseller, carrier_account=simwood, name="Anchor Clinic")
    return {"simwood": simwood, "surevoip": surevoip, "customer": customer,
            "manager": StaffFactory(reseller=reseller, manager=True).user,
            "agent": StaffFactory(reseller=reseller).user, "outsider": StaffFactory().user,
            "customer_user": CustomerUserFactory(customer=customer).user}


def block_search(client, account, size=10, **extra):
    return client.get(GET, {"carrier_account": account.pk, "area_code": "020", "contains": "", "count": "20",
                            "block": str(size), **extra})


def take(client, account, numbers, **extra):
    return client.post(GET, {"carrier_account": account.pk, "block": numbers, "typed": "", "customer": "", **extra})


@pytest.mark.parametrize("who", ["manager", "agent"])
def test_a_block_is_found_and_taken_whole_with_a_result_for_each_number(client, world, who):
    client.force_login(world[who])
    page = block_search(client, world["simwood"])
    assert page.status_code == 200
    numbers = page.context["allocate"].block_numbers
    digits = [int(n[1:]) for n in numbers]
    assert len(numbers) == 10 and digits == list(range(digits[0], digits[0] + 10))
    html = page.content.decode()
    assert "10 numbers in a row:" in html and "Take all 10 numbers" in html

    response = take(client, world["simwood"], numbers, customer=world["customer"].pk)
    assert response.status_code == 302 and response["Location"] == f"{GET}?result=1"
    taken = Number.objects.filter(e164__in=numbers)
    assert taken.count() == 10 and {n.customer for n in taken} == {world["customer"]}
    assert SyncJob.objects.filter(object_kind="number", object_id__in=[n.pk for n in taken]).count() == 10
    result = client.get(response["Location"]).content.decode()
    assert "Taken: 10." in result and result.count('class="sync-status"') == 10
    assert client.get(GET).context["result"] is None  # only when asked for


def test_numbers_taken_since_the_search_are_listed_and_the_rest_taken(client, world, sandbox_control):
    client.force_login(world["agent"])
    numbers = block_search(client, world["simwood"], 20).context["allocate"].block_numbers
    # Someone else buys two of them at the carrier meanwhile.
    settings = sandbox_control.get(f"/_sandbox/accounts/{world['simwood'].settings['sandbox_account']}").json()
    base, auth = settings["base_url"], (settings["settings"]["api_user"], settings["settings"]["api_key"])
    for e164 in (numbers[2], numbers[11]):
        answer = httpx.put(f"{base}numbers/{settings['settings']['account']}/allocated/{e164[1:]}", auth=auth)
        assert answer.status_code == 200
    response = take(client, world["simwood"], numbers)
    assert Number.objects.filter(e164__in=numbers).count() == 18
    assert not Number.objects.filter(e164__in=[numbers[2], numbers[11]]).exists()
    result = client.get(response["Location"])
    assert result.context["result"]["gone"] == [numbers[2], numbers[11]]
    assert "Taken by someone else since your search, so not taken:" in result.content.decode()


def test_a_number_the_portal_already_holds_is_refused_and_the_others_taken(client, world):
    client.force_login(world["agent"])
    numbers = block_search(client, world["simwood"]).context["allocate"].block_numbers
    take(client, world["simwood"], numbers[:1])  # one of them is already in stock
    response = take(client, world["simwood"], numbers)
    result = client.get(response["Location"]).context["result"]
    assert [e164 for e164, _ in result["refused"]] == [numbers[0]]
    assert len(result["added"]) == 9


def test_a_carrier_without_blocks_says_so_next_to_the_field(client, world):
    client.force_login(world["agent"])
    page = block_search(client, world["surevoip"])
    assert page.status_code == 200
    assert page.context["search"].errors["block"] == [
        "SureVoIP offers no consecutive blocks through its API: search for single numbers."]
    assert "Offered by Simwood." in page.content.decode()


def test_a_forged_block_that_is_not_in_a_row_is_refused_and_nothing_is_taken(client, world):
    client.force_login(world["agent"])
    response = take(client, world["simwood"], ["+442030000101", "+442030000105"])
    assert response.status_code == 200
    assert "A block is numbers in a row" in response.content.decode()
    assert not Number.objects.exists()


def test_others_get_no_block(client, world):
    client.force_login(world["outsider"])
    page = block_search(client, world["simwood"])
    assert page.status_code == 200 and "carrier_account" in page.context["search"].errors  # not theirs to pick
    assert take(client, world["simwood"], ["+442030000101"]).status_code == 200
    assert not Number.objects.exists()
    client.force_login(world["customer_user"])
    assert block_search(client, world["simwood"]).status_code == 403
    assert take(client, world["simwood"], ["+442030000101"]).status_code == 403
    client.logout()
    response = block_search(client, world["simwood"])
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
