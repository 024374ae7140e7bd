from __future__ import annotations

import django_tables2 as tables

from portal.ui.tables import NumberColumn, PortalTable, SyncColumn

from .models import Customer


class CustomerTable(PortalTable):
    name = tables.Column(linkify=("customer_detail", [tables.A("pk")]))
    external_ref = tables.Column(verbose_name="Reference")
    contact_name = tables.Column(verbose_name="Contact")
    email = tables.EmailColumn()
    phone = NumberColumn()
    status = tables.Column()
    carrier_account = tables.Column(accessor="carrier_account__name", verbose_name="Carrier account")
    sync = SyncColumn()

    row_template = "customers/_rows.html"

    class Meta(PortalTable.Meta):
        model = Customer
        fields = ("select", "name", "external_ref", "contact_name", "email", "phone", "status", "carrier_account", "sync")
        sequence = fields
        empty_text = "No customers."
