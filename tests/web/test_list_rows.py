"""The long lists render their rows with a template of their own (``PortalTable.row_template``,
for speed: ``bench/staff_lists.py``); it must render exactly what the table's columns would,
for every kind of row. And the rows' checkboxes post what the bulk view reads.
"""

from __future__ import annotations

import re

import factory
import pytest

from portal.customers.tables import CustomerTable
from portal.numbers.models import Number
from portal.numbers.tables import NumberTable
from portal.sync.models import SyncState
from tests.factories import (
    CarrierAccountFactory,
    CustomerFactory,
    NumberFactory,
    StaffFactory,
    SubscriberFactory,
    TrunkFactory,
)

pytestmark = pytest.mark.django_db


def rows_html(client, path: str) -> str:
    html = client.get(path).content.decode()
    body = html[html.index("<tbody>"):html.index("</tbody>")]
    return re.sub(r">\s+<", "><", re.sub(r"\s+", " ", body))


@pytest.fixture
def world():
    staff = StaffFactory()
    reseller = staff.reseller
    account = CarrierAccountFactory(reseller=reseller, name="North & South <Simwood>")
    plain = CustomerFactory(reseller=reseller, carrier_account=account, name="Anchor & Co", contact_name="",
                            email="", phone="", sync_state=SyncState.PENDING)
    full = CustomerFactory(reseller=reseller, carrier_account=account, name="Bay <Clinic>", contact_name="Kira O'Neil",
                           email="office@bay.example", phone="+442079460123", sync_state=SyncState.ERROR,
                           sync_error="Name 'Bay <Clinic>' is taken")
    CustomerFactory(reseller=reseller, carrier_account=None, name="Cove Ltd", external_ref="")
    subscriber = SubscriberFactory(customer=full, carrier_account=account, username="201")
    trunk = TrunkFactory(customer=full, carrier_account=account, name="Main PBX")
    NumberFactory(customer=full, carrier_account=account, e164="+442079460001", subscriber=subscriber)
    NumberFactory(customer=full, carrier_account=account, e164="+442079460002", trunk=trunk,
                  sync_state=SyncState.SYNCING)
    NumberFactory(customer=full, carrier_account=account, e164="+442079460003", destination="+447911123456")
    NumberFactory(customer=plain, carrier_account=account, e164="+442079460004", destination="sip:desk@pbx.example")
    NumberFactory(customer=None, reseller=reseller, carrier_account=account, e164="+442079460005",
                  sync_state=SyncState.SYNCED)
    return staff


@pytest.mark.parametrize("table, path", [(NumberTable, "/staff/numbers/"), (NumberTable, "/staff/numbers/?sort=-e164"),
                                         (CustomerTable, "/staff/customers/"), (CustomerTable, "/staff/customers/?sort=-name")])
def test_the_row_template_renders_what_the_columns_would(client, world, monkeypatch, table, path):
    client.force_login(world.user)
    fast = rows_html(client, path)
    monkeypatch.setattr(table, "row_template", "")
    assert rows_html(client, path) == fast
    assert fast.count("<tr") >= 3 and "&lt;" in fast  # every kind of row, escaped


def test_the_rows_checkboxes_post_what_the_bulk_view_reads(client, world):
    client.force_login(world.user)
    html = client.get("/staff/numbers/").content.decode()
    names = set(re.findall(r'<input type="checkbox" name="(\w+)" value="\d+" class="select-row"', html))
    assert names == {"pk"}
    pks = re.findall(r'name="pk" value="(\d+)"', html)[:2]
    confirm = client.post("/staff/numbers/bulk/", {"action": "sync", "pk": pks})
    assert confirm.status_code == 200 and f"Sync now: {len(pks)}" in confirm.content.decode()
    assert Number.objects.filter(pk__in=pks).count() == 2


def test_a_search_counts_its_matches_with_its_page(client):
    """A search's count comes with its rows (``CountedWithThePage``): right on every page."""
    staff = StaffFactory()
    CustomerFactory.create_batch(30, reseller=staff.reseller, name=factory.Sequence(lambda n: f"Harbour {n:02d} Ltd"))
    CustomerFactory(reseller=staff.reseller, name="Elsewhere Ltd")
    client.force_login(staff.user)
    first = client.get("/staff/customers/", {"q": "Harbour"})
    assert "30 customers match" in first.content.decode() and len(first.context["table"].page.object_list) == 25
    second = client.get("/staff/customers/", {"q": "Harbour", "page": "2"}).context["table"]
    assert (second.page.number, len(second.page.object_list), second.paginator.num_pages) == (2, 5, 2)
    past_the_end = client.get("/staff/customers/", {"q": "Harbour", "page": "9"}).context["table"]
    assert past_the_end.page.number == 2
    assert client.get("/staff/customers/", {"q": "Harbour", "page": "x"}).context["table"].page.number == 1
    nothing = client.get("/staff/customers/", {"q": "Nowhere"})
    assert "No customers match these filters." in nothing.content.decode()
