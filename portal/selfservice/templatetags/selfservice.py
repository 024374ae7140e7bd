from django import template

from portal.selfservice.words import forwards_status, phone_label, status_of

register = template.Library()


@register.inclusion_tag("selfservice/_status.html")
def live_status(obj, kind: str):
    """``obj``'s state in words (``kind``: number, phone, trunk), polled while it changes."""
    return {"status": status_of(obj), "kind": kind, "pk": obj.pk}


@register.inclusion_tag("selfservice/_status.html")
def live_forwards_status(owner, forwards, kind: str):
    """The state of ``owner``'s forwards (``kind``: number-forwards, phone-forwards)."""
    return {"status": forwards_status(forwards), "kind": kind, "pk": owner.pk}


register.filter("phone_label", phone_label)
