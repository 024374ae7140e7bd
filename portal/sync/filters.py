"""Filters of the staff sync job list (django-filter)."""

from __future__ import annotations

import django_filters
from django.db.models import Q

from portal.carriers.models import CarrierAccount

from .models import JobState, SyncJob
from .objects import KINDS


KIND_LABELS = {name: name.replace("_", " ").capitalize() for name in KINDS}


def carrier_accounts(request):
    return CarrierAccount.objects.for_request(request) if request is not None else CarrierAccount.objects.none()


class SyncJobFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search object or error")
    state = django_filters.ChoiceFilter(choices=JobState.choices, empty_label="Any state")
    object_kind = django_filters.ChoiceFilter(
        label="Kind",
        choices=list(KIND_LABELS.items()),
        empty_label="Any kind",
    )
    carrier_account = django_filters.ModelChoiceFilter(queryset=carrier_accounts, empty_label="Any carrier account")
    sort = django_filters.OrderingFilter(fields=[("created_at", "created")], label="Sort")

    class Meta:
        model = SyncJob
        fields = ["q", "state", "object_kind", "carrier_account"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(object_repr__icontains=value) | Q(last_error__icontains=value))
