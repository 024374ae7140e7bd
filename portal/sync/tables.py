"""Tables of the staff sync pages: jobs, drift, reconciliation runs."""

from __future__ import annotations

import django_tables2 as tables
from django.utils.html import format_html

from portal.ui.tables import PortalTable

from .filters import kind_label
from .models import Drift, SyncJob


class BadgeColumn(tables.Column):
    """A state as a coloured badge (``job-<state>``); exported as its words."""

    def __init__(self, prefix: str, **kwargs):
        self.prefix = prefix
        super().__init__(**kwargs)

    def render(self, record, value, bound_column):
        display = getattr(record, f"get_{bound_column.accessor}_display")()
        return format_html('<span class="badge {}-{}">{}</span>', self.prefix, value, display)

    def value(self, record, value, bound_column):
        return getattr(record, f"get_{bound_column.accessor}_display")()


class SyncJobTable(PortalTable):
    object_repr = tables.Column(verbose_name="Object", linkify=("sync_job_detail", [tables.A("pk")]))
    object_kind = tables.Column(verbose_name="Type")
    operation = tables.Column()
    state = BadgeColumn("job")
    attempts = tables.Column()
    next_attempt_at = tables.Column(verbose_name="Next attempt")
    last_error = tables.Column(verbose_name="The carrier's words", orderable=False)
    carrier_account = tables.Column(accessor="carrier_account__name", verbose_name="Carrier account")
    caused_by = tables.Column(verbose_name="Caused by", default="the system")
    created_at = tables.DateTimeColumn(verbose_name="Created", format="j M Y H:i")

    class Meta(PortalTable.Meta):
        model = SyncJob
        fields = ("select", "object_repr", "object_kind", "operation", "state", "attempts", "next_attempt_at",
                  "last_error", "carrier_account", "caused_by", "created_at")
        sequence = fields
        order_by = ("-created_at",)
        empty_text = "No sync jobs."

    def render_object_kind(self, value):
        return kind_label(value)

    def value_object_kind(self, value):
        return kind_label(value)

    def render_next_attempt_at(self, record, value):
        if record.state != "queued":
            return "—"
        waiting = record.get_error_kind_display() if record.error_kind else ""
        when = value.strftime("%-d %b %H:%M:%S")
        return format_html('{}<span class="cell-note hint">{}</span>', when, waiting) if waiting else when

    def render_last_error(self, value):
        return format_html('<span class="sync-error-text">{}</span>', value)

    def render_caused_by(self, value):
        return str(value)


class DriftTable(PortalTable):
    label = tables.Column(verbose_name="Object", linkify=("drift_detail", [tables.A("pk")]))
    object_kind = tables.Column(verbose_name="Type")
    kind = BadgeColumn("drift", verbose_name="Difference")
    diff = tables.Column(verbose_name="Portal · carrier", orderable=False, empty_values=())
    remote_id = tables.Column(verbose_name="Id at the carrier")
    resolution = tables.Column(verbose_name="Resolved", empty_values=())

    class Meta(PortalTable.Meta):
        model = Drift
        fields = ("select", "label", "object_kind", "kind", "diff", "remote_id", "resolution")
        sequence = fields
        empty_text = "No differences."

    def render_object_kind(self, value):
        return kind_label(value)

    def value_object_kind(self, value):
        return kind_label(value)

    def render_diff(self, record):
        from django.template.loader import get_template

        return get_template("sync/_drift_diff.html").render({"drift": record, "compact": True})

    def value_diff(self, record):
        return "; ".join(f"{field}: {pair[0]!r} → {pair[1]!r}" for field, pair in (record.diff or {}).items())

    def render_resolution(self, record):
        if record.resolved_at:
            return format_html("{}<span class=\"cell-note hint\">{} · {}</span>", record.get_resolution_display(),
                               record.resolved_by or "the system", record.resolved_at.strftime("%-d %b %H:%M"))
        if record.resolution_error:
            return format_html('<span class="sync-error-text">Not resolved: {}</span>', record.resolution_error)
        return "Open"

    def value_resolution(self, record):
        if record.resolved_at:
            return record.get_resolution_display()
        return f"Not resolved: {record.resolution_error}" if record.resolution_error else "Open"
