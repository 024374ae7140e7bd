from django import template
from django.urls import reverse

from portal.sync.filters import KIND_LABELS

register = template.Library()


@register.simple_tag
def sync_status_url(obj) -> str:
    """Where a page polls ``obj``'s sync status (customers, subscribers, numbers, trunks)."""
    return reverse("sync_status", args=[obj._meta.model_name, obj.pk])


@register.filter
def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind)
