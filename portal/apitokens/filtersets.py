from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone

from .models import ApiToken, TokenState


class TokenFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="search", label="Search",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "What uses it, or how it starts (rpt_…)"}),
    )
    state = django_filters.ChoiceFilter(choices=TokenState.choices, method="filter_state", empty_label="Any state",
                                        label="State")

    class Meta:
        model = ApiToken
        fields = ["q", "state"]

    def search(self, queryset, name, value):
        value = value.strip()
        condition = Q(description__icontains=value)
        key = value.removeprefix("rpt_").split(".", 1)[0].lower()
        if key:
            condition |= Q(key__startswith=key)
        return queryset.filter(condition)

    def filter_state(self, queryset, name, value):
        now = timezone.now()
        if value == TokenState.REVOKED:
            return queryset.filter(revoked_at__isnull=False)
        if value == TokenState.EXPIRED:
            return queryset.filter(revoked_at__isnull=True, expires_at__lte=now)
        return queryset.usable()
