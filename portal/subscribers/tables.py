from __future__ import annotations

import django_tables2 as tables

from portal.ui.tables import NumberColumn, PortalTable, SyncColumn

from .models import Subscriber


class SubscriberTable(PortalTable):
    username = tables.Column(linkify=("subscriber_detail", [tables.A("pk")]), verbose_name="SIP username")
    display_name = tables.Column(verbose_name="Name")
    customer = tables.Column(accessor="customer__name", order_by=("customer__name",), verbose_name="Customer")
    primary_number = NumberColumn(accessor="primary_number__e164", verbose_name="Number")
    domain = tables.Column(verbose_name="Domain")
    status = tables.Column()
    sync = SyncColumn()

    class Meta(PortalTable.Meta):
        model = Subscriber
        fields = ("select", "username", "display_name", "customer", "primary_number", "domain", "status", "sync")
        sequence = fields

    def render_customer(self, record, value):
        from django.urls import reverse
        from django.utils.html import format_html

        return format_html('<a href="{}">{}</a>', reverse("customer_detail", args=[record.customer_id]), value)
