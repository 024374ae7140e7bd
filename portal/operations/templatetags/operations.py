from django import template

from portal.operations.history import on_behalf_of

register = template.Library()


@register.filter
def type_label(content_type) -> str:
    model = content_type.model_class() if content_type else None
    return str(model._meta.verbose_name) if model else getattr(content_type, "model", "")


@register.filter
def on_behalf(entry) -> str:
    return on_behalf_of(entry)


@register.filter
def get_item(mapping, key):
    return mapping.get(key, "") if mapping else ""
