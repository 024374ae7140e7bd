from django import template

from portal.ui.forms import national_format

register = template.Library()


@register.filter
def startswith(value, prefix: str) -> bool:
    return str(value or "").startswith(prefix)


@register.filter
def national(e164: str) -> str:
    """``+442079460001`` as ``020 7946 0001``."""
    return national_format(e164) if e164 else ""
