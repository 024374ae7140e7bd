"""The forward pages: the forwards' live sync state, and the holiday (dated) forward in the editor.

Each page for each kind of visitor, as ``test_staff_pages.py`` does: a manager and an
agent of the reseller, staff of another reseller (404), a customer's user (403, or their
own objects' status only), anonymous (login).
"""

from __future__ import annotations

import pytest

from portal.forwards.services import ForwardInput, set_forwards
from portal.sync.models import SyncState
from tests.factories import (
    CarrierAccountFactory,
    CustomerFactory,
    CustomerUserFactory,
    NumberFactory,
    StaffFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    """A customer with a Simwood number that forwards its calls (the job still queued)."""
    manager = StaffFactory(manager=True)
    reseller = manager.reseller
    account = CarrierAccountFactory(reseller=reseller)
    customer = CustomerFactory(reseller=reseller, carrier_account=account, name="Anchor Clinic")
    number = NumberFactory(customer=customer, carrier_account=account, e164="+442079460001")
    [forward] = set_forwards(number, [ForwardInput("unconditional", True, [("+447911123456", 20)])])
    return {"manager": manager.user, "agent": StaffFactory(reseller=reseller).user, "customer": customer,
            "number": number, "forward": forward, "outsider": StaffFactory().user,
            "customer_user": CustomerUserFactory(customer=customer).user,
            "other_customer_user": CustomerUserFactory(customer=CustomerFactory(reseller=reseller)).user}


def status_url(forward) -> str:
    return f"/sync/status/callforward/{forward.pk}/"


@pytest.mark.parametrize("who", ["manager", "agent"])
@pytest.mark.parametrize("tab", ["number", "customer"])
def test_the_forwards_of_a_number_poll_their_state_while_the_carrier_works_on_them(client, world, who, tab):
    client.force_login(world[who])
    forward = world["forward"]
    assert forward.sync_state == SyncState.PENDING
    path = (f"/staff/numbers/{world['number'].pk}/forwards/" if tab == "number"
            else f"/staff/customers/{world['customer'].pk}/forwards/")
    page = client.get(path).content.decode()
    assert f'hx-get="{status_url(forward)}"' in page and 'hx-trigger="every 2s"' in page

    status = client.get(status_url(forward))
    assert status.status_code == 200 and "Pending" in status.content.decode()
    assert 'hx-trigger="every 2s"' in status.content.decode()


def test_a_forward_the_carrier_refused_shows_its_words_and_stops_polling(client, world):
    forward = world["forward"]
    type(forward).objects.filter(pk=forward.pk).update(
        sync_state=SyncState.ERROR, sync_error="Routing block 'default' step 0 endpoint 0 parameter 'number' is invalid.")
    client.force_login(world["agent"])
    for path in (status_url(forward), f"/staff/numbers/{world['number'].pk}/forwards/"):
        page = client.get(path).content.decode()
        assert "parameter &#x27;number&#x27; is invalid." in page
        assert f'hx-get="{status_url(forward)}"' not in page  # final: no more polling


def test_only_those_who_may_see_a_forward_may_poll_it(client, world):
    url = status_url(world["forward"])
    client.force_login(world["outsider"])
    assert client.get(url).status_code == 404
    client.force_login(world["other_customer_user"])
    assert client.get(url).status_code == 404
    client.force_login(world["customer_user"])  # the customer's own forward (self-service pages)
    assert client.get(url).status_code == 200
    client.logout()
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    client.force_login(world["manager"])
    assert client.get("/sync/status/no-such-kind/1/").status_code == 404
