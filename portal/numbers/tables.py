from __future__ import annotations

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html

from portal.ui.forms import national_format
from portal.ui.tables import NumberColumn, PortalTable, SyncColumn

from .models import Number


class NumberTable(PortalTable):
    e164 = NumberColumn(linkify=("number_detail", [tables.A("pk")]), verbose_name="Number")
    customer = tables.Column(accessor="customer__name", order_by=("customer__name",), default="In stock", verbose_name="Customer")
    routed_to = tables.Column(empty_values=(), orderable=False, verbose_name="Rings")
    status = tables.Column()
    carrier_account = tables.Column(accessor="carrier_account__name", verbose_name="Carrier account")
    sync = SyncColumn()

    row_template = "numbers/_rows.html"

    class Meta(PortalTable.Meta):
        model = Number
        fields = ("select", "e164", "customer", "routed_to", "status", "carrier_account", "sync")
        sequence = fields

    def render_customer(self, record, value):
        return format_html('<a href="{}">{}</a>', reverse("customer_detail", args=[record.customer_id]), value)

    def render_routed_to(self, record):
        return format_html("{}", rings(record))

    def value_routed_to(self, record):
        return rings(record)


def rings(number) -> str:
    """Where the number's calls go, in a few words (the list's "Rings" column)."""
    if number.subscriber_id:
        return f"SIP account {number.subscriber.username}"
    if number.trunk_id:
        return f"Trunk {number.trunk.name}"
    if number.destination:
        target = number.destination
        return target if target.startswith("sip") else national_format(target)
    return "—"
