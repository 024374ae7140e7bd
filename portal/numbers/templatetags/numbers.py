from django import template

from portal.numbers.tables import rings as rings_words

register = template.Library()


@register.filter
def rings(number) -> str:
    """Where a number's calls go, as the number list says it."""
    return rings_words(number)
