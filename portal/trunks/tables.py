from __future__ import annotations

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html

from portal.ui.tables import PortalTable, SyncColumn

from .models import Trunk


class TrunkTable(PortalTable):
    name = tables.Column(linkify=("trunk_detail", [tables.A("pk")]))
    customer = tables.Column(accessor="customer__name", order_by=("customer__name",), verbose_name="Customer")
    type = tables.Column(verbose_name="Authentication")
    allowed_ips = tables.Column(verbose_name="Allowed IPs", orderable=False)
    channels = tables.Column(empty_values=(), orderable=False, verbose_name="Channels in / out")
    enabled = tables.BooleanColumn(yesno="Yes,No")
    sync = SyncColumn()

    class Meta(PortalTable.Meta):
        model = Trunk
        fields = ("select", "name", "customer", "type", "allowed_ips", "channels", "enabled", "sync")
        sequence = fields

    def render_customer(self, record, value):
        return format_html('<a href="{}">{}</a>', reverse("customer_detail", args=[record.customer_id]), value)

    def render_allowed_ips(self, value):
        return ", ".join(value) if value else "—"

    def value_allowed_ips(self, value):
        return " ".join(value or [])

    def render_channels(self, record):
        return f"{record.channels_in or '—'} / {record.channels_out or '—'}"
