from django import template

from portal.core.audit import actor_words as _actor_words

register = template.Library()


@register.filter
def actor_words(entry) -> str:
    """“Dana Shaw (staff) on behalf of Anchor Clinic”: who made an audit entry's change."""
    return _actor_words(entry)
