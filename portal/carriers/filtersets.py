from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q

from .kinds import CarrierKind
from .models import CarrierAccount


class CarrierAccountFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    kind = django_filters.ChoiceFilter(label="Carrier", choices=CarrierKind.choices, empty_label="Any carrier")
    enabled = django_filters.BooleanFilter(label="Switched on", widget=forms.Select(
        choices=[("", "On or off"), ("true", "On"), ("false", "Off")]))

    class Meta:
        model = CarrierAccount
        fields = ["q", "kind", "enabled"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["q"].extra["widget"] = forms.TextInput(
            attrs={"type": "search", "placeholder": "Name, account id or address", "autocomplete": "off"})

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(name__icontains=value) | Q(account_id__icontains=value) | Q(base_url__icontains=value))
