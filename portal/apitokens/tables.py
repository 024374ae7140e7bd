from __future__ import annotations

import django_tables2 as tables
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html

from portal.ui.tables import PortalTable

from .models import ApiToken


class TokenTable(PortalTable):
    description = tables.Column(linkify=("apitoken_detail", [tables.A("pk")]), verbose_name="Used by")
    prefix = tables.Column(accessor="key", verbose_name="Starts with")
    user = tables.Column(accessor="user__email", verbose_name="Owner")
    write_enabled = tables.Column(verbose_name="Access")
    allowed_ips = tables.Column(verbose_name="Allowed from", orderable=False)
    expires_at = tables.DateTimeColumn(format="j M Y", verbose_name="Expires", default="Never")
    last_used_at = tables.DateTimeColumn(format="j M Y H:i", verbose_name="Last used", default="Never")
    state = tables.Column(empty_values=(), orderable=False, verbose_name="State")

    class Meta(PortalTable.Meta):
        model = ApiToken
        fields = ("description", "prefix", "user", "write_enabled", "allowed_ips", "expires_at", "last_used_at",
                  "state")
        sequence = fields
        exclude = ("select",)
        empty_text = "No API tokens."

    def render_prefix(self, record):
        return format_html("<code>{}…</code>", record.prefix)

    def value_prefix(self, record):
        return record.prefix

    def render_write_enabled(self, value):
        return "Read and write" if value else "Read only"

    def render_allowed_ips(self, value):
        return ", ".join(value) if value else "Anywhere"

    def value_allowed_ips(self, value):
        return " ".join(value or [])

    def render_last_used_at(self, record, value):
        when = date_format(timezone.localtime(value), "j M Y H:i") if value else "Never"
        return f"{when} from {record.last_used_ip}" if record.last_used_ip else when

    def render_state(self, record):
        state = record.state
        return format_html('<span class="badge token-{}">{}</span>', state, record.get_state_display())

    def value_state(self, record):
        return record.get_state_display()
