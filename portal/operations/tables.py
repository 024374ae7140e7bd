from __future__ import annotations

import django_tables2 as tables
from auditlog.models import LogEntry
from django.template.loader import get_template
from django.utils.html import format_html

from portal.ui.tables import PortalTable

from .history import on_behalf_of
from .models import Alert


class AuditLogTable(PortalTable):
    timestamp = tables.DateTimeColumn(verbose_name="When", format="j M Y H:i:s")
    actor = tables.Column(verbose_name="Who", default="the system", empty_values=())
    action = tables.Column(verbose_name="Change")
    content_type = tables.Column(verbose_name="Type", orderable=False)
    object_repr = tables.Column(verbose_name="Object")
    changes = tables.Column(verbose_name="What changed", orderable=False, empty_values=())

    class Meta(PortalTable.Meta):
        model = LogEntry
        fields = ("timestamp", "actor", "action", "content_type", "object_repr", "changes")
        sequence = fields
        exclude = ("select",)
        order_by = ("-timestamp",)
        empty_text = "No changes."

    def render_actor(self, record):
        who = str(record.actor) if record.actor_id else (record.actor_email or "the system")
        behalf = on_behalf_of(record)
        if behalf:
            return format_html('{}<span class="cell-note hint">on behalf of {}</span>', who, behalf)
        return who

    def value_actor(self, record):
        who = record.actor.email if record.actor_id else (record.actor_email or "the system")
        behalf = on_behalf_of(record)
        return f"{who} on behalf of {behalf}" if behalf else who

    def render_action(self, record):
        return record.get_action_display().capitalize()

    def value_action(self, record):
        return record.get_action_display()

    def render_content_type(self, value):
        model = value.model_class()
        return str(model._meta.verbose_name).capitalize() if model else value.model

    def value_content_type(self, value):
        return self.render_content_type(value)

    def render_changes(self, record):
        return get_template("operations/_changes.html").render({"changes": record.changes_dict})

    def value_changes(self, record):
        return "; ".join(f"{field}: {pair[0]} → {pair[1]}" for field, pair in record.changes_dict.items()
                         if isinstance(pair, (list, tuple)) and len(pair) == 2)


class AlertTable(PortalTable):
    subject = tables.Column(verbose_name="Alert")
    kind = tables.Column(verbose_name="Kind")
    last_seen = tables.DateTimeColumn(verbose_name="Last seen", format="j M Y H:i")
    mailed_at = tables.DateTimeColumn(verbose_name="Mailed", format="j M H:i", default="not yet")
    acknowledged_at = tables.Column(verbose_name="Acknowledged", empty_values=())

    class Meta(PortalTable.Meta):
        model = Alert
        fields = ("select", "subject", "kind", "last_seen", "mailed_at", "acknowledged_at")
        sequence = fields
        empty_text = "No alerts."

    def render_subject(self, record):
        if record.url:
            return format_html('<a href="{}">{}</a><span class="cell-note hint">{}</span>', record.url, record.subject,
                               record.detail)
        return format_html('{}<span class="cell-note hint">{}</span>', record.subject, record.detail)

    def render_acknowledged_at(self, record):
        if record.acknowledged_at:
            return f"{record.acknowledged_at:%-d %b %H:%M} by {record.acknowledged_by or 'the system'}"
        return "—"
