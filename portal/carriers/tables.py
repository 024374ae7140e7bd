from __future__ import annotations

import django_tables2 as tables

from portal.ui.tables import PortalTable

from .models import CarrierAccount


class CarrierAccountTable(PortalTable):
    name = tables.Column(linkify=("carrier_account_detail", [tables.A("pk")]))
    kind = tables.Column(verbose_name="Carrier")
    base_url = tables.Column(verbose_name="API address")
    account_id = tables.Column(verbose_name="Account id")
    enabled = tables.BooleanColumn(yesno="On,Off")
    max_in_flight = tables.Column(verbose_name="In flight")

    class Meta(PortalTable.Meta):
        model = CarrierAccount
        fields = ("select", "name", "kind", "base_url", "account_id", "enabled", "max_in_flight")
        sequence = fields
        empty_text = "No carrier accounts."
