from __future__ import annotations

import django_filters
from auditlog.models import LogEntry
from django import forms
from django.db.models import Q

from portal.sync.filters import people

from .history import audited_types
from .models import Alert, AlertKind

DATE = forms.DateInput(attrs={"type": "date"})


def _type_label(content_type) -> str:
    return str(content_type.model_class()._meta.verbose_name).capitalize() if content_type.model_class() else content_type.model


class AuditLogFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    actor = django_filters.ModelChoiceFilter(label="Person", queryset=people, empty_label="Anybody")
    content_type = django_filters.ChoiceFilter(label="Object type", method="by_type", empty_label="Any type")
    action = django_filters.ChoiceFilter(choices=LogEntry.Action.choices, empty_label="Any change")
    since = django_filters.DateFilter(field_name="timestamp", lookup_expr="date__gte", label="From", widget=DATE)
    until = django_filters.DateFilter(field_name="timestamp", lookup_expr="date__lte", label="Until", widget=DATE)

    class Meta:
        model = LogEntry
        fields = ["q", "actor", "content_type", "action", "since", "until"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.form.fields["content_type"].choices = [("", "Any type")] + sorted(
            ((str(ct.pk), _type_label(ct)) for ct in audited_types()), key=lambda c: c[1]
        )
        self.form.fields["actor"].label_from_instance = lambda user: f"{user} ({user.email})" if user.get_full_name() else user.email
        self.filters["q"].extra["widget"] = forms.TextInput(
            attrs={"type": "search", "placeholder": "Object, or a value before or after", "autocomplete": "off"})

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(object_repr__icontains=value) | Q(changes_text__icontains=value))

    def by_type(self, queryset, name, value):
        return queryset.filter(content_type_id=int(value)) if str(value).isdigit() else queryset


class AlertFilterSet(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=AlertKind.choices, empty_label="Any alert")
    state = django_filters.ChoiceFilter(
        method="by_state", empty_label=None, choices=[("open", "Not acknowledged"), ("acknowledged", "Acknowledged"), ("all", "All")],
    )

    class Meta:
        model = Alert
        fields = ["kind", "state"]

    def __init__(self, data=None, *args, **kwargs):
        data = data.copy() if data is not None else {}
        data.setdefault("state", "open")
        super().__init__(data, *args, **kwargs)

    def by_state(self, queryset, name, value):
        if value == "acknowledged":
            return queryset.filter(acknowledged_at__isnull=False)
        if value == "all":
            return queryset
        return queryset.filter(acknowledged_at__isnull=True)
