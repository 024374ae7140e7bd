from django import template
from django.urls import reverse

from portal.sync.filters import kind_label as _kind_label

register = template.Library()


@register.simple_tag
def sync_status_url(obj) -> str:
    """Where a page polls ``obj``'s sync status (customers, subscribers, numbers, trunks)."""
    return reverse("sync_status", args=[obj._meta.model_name, obj.pk])


@register.filter
def kind_label(kind: str) -> str:
    return _kind_label(kind)


@register.filter
def iso_time(value: str):
    """A time a JSON story keeps as ISO text, as a datetime for the ``date`` filter."""
    from django.utils.dateparse import parse_datetime

    try:
        return parse_datetime(value) if value else None
    except ValueError:
        return None


@register.filter
def meter_mark(maximum: int, percent: int) -> float:
    """``percent`` of ``maximum``: where a <meter> turns amber or red."""
    return round((maximum or 0) * percent / 100, 2)
