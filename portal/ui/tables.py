"""The base of every staff table: row selection for bulk actions, a live sync column, our template."""

from __future__ import annotations

import django_tables2 as tables
from django.template.loader import get_template
from django.utils.html import format_html

from .forms import national_format


class SyncColumn(tables.Column):
    """The object's live sync badge and the carrier's words (``sync/_live_status.html``); exported as text.

    Rendered with a plain context, not the request's: the context processors would run
    once per row.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("verbose_name", "Sync")
        kwargs.setdefault("order_by", ("sync_state",))
        super().__init__(accessor="sync_state", **kwargs)

    def render(self, record):
        return get_template("sync/_live_status.html").render({"object": record})

    def value(self, record, value):
        return record.get_sync_state_display() + (f": {record.sync_error}" if record.sync_error else "")


class NumberColumn(tables.Column):
    """An E.164 number shown the way people read it (020 7946 0001); exported as E.164."""

    def render(self, value):
        return format_html('<span class="number" title="{}">{}</span>', value, national_format(value))

    def value(self, value):
        return value


class PortalTable(tables.Table):
    """Each cell carries its column's name (``data-label``, in ``ui/table.html``), so a
    phone-width screen stacks a row into labelled lines without a second template.

    A long list may render its rows with a template of its own (``row_template``): one
    template pass per page instead of django-tables2's dispatch per cell, which inspects
    each render method's signature (about 0.1 ms a cell, most of a 25-row page's time).
    The columns still give the headers, sorting, paging and the CSV export, and the row
    template must render exactly what they would (``tests/web/test_list_rows.py``).
    """

    row_template: str = ""

    # The bulk form posts the chosen rows as ``pk`` (``BulkActionView``).
    select = tables.CheckBoxColumn(accessor="pk", attrs={"th__input": {"aria-label": "Select all rows",
                                                                        "class": "select-all"},
                                                         "td__input": {"class": "select-row", "name": "pk"}},
                                   exclude_from_export=True)

    @property
    def selectable(self) -> bool:
        return "select" not in (self.exclude or ())

    class Meta:
        template_name = "ui/table.html"
        attrs = {"class": "object-table"}
        order_by_field = "sort"
