from __future__ import annotations

import django_filters
from django.db.models import Q

from portal.subscribers.filtersets import customer_filter
from portal.ui.filtersets import PortalFilterSet, carrier_accounts, number_condition

from .models import Number, NumberStatus

ROUTES = [
    ("subscriber", "To a SIP account"),
    ("trunk", "To a trunk"),
    ("destination", "To a destination"),
    ("nowhere", "Routed nowhere"),
]


class NumberFilterSet(PortalFilterSet):
    status = django_filters.ChoiceFilter(choices=NumberStatus.choices, empty_label="Any status", method="filter_status")
    customer = customer_filter()
    routed = django_filters.ChoiceFilter(choices=ROUTES, method="filter_routed", empty_label="Any routing", label="Routing")
    carrier_account = django_filters.ModelChoiceFilter(queryset=carrier_accounts, empty_label="Any carrier account")

    search_hint = "A number in any format, or a customer"

    class Meta:
        model = Number
        fields = ["q", "status", "customer", "routed", "carrier_account", "sync_state"]

    def search(self, queryset, name, value):
        """A number typed any way (whole or a run of digits), or the holder's name or SIP username."""
        value = value.strip()
        number = number_condition(value)
        if number is not None:
            return queryset.filter(number)
        return queryset.filter(
            Q(customer__name__icontains=value) | Q(subscriber__username__icontains=value) | Q(trunk__name__icontains=value)
        )

    def filter_status(self, queryset, name, value):
        queryset = queryset.filter(status=value)
        if value != NumberStatus.RELEASED:
            # Implied, but said so that SQLite uses the indexes of held numbers (it cannot
            # tell that "assigned" is not "released"): a sorted page and a count from the
            # index, not 80,000 rows sorted (60 ms against 10 at 100,000 numbers).
            queryset = queryset.exclude(status=NumberStatus.RELEASED)
        return queryset

    def filter_routed(self, queryset, name, value):
        return {
            "subscriber": queryset.filter(subscriber__isnull=False),
            "trunk": queryset.filter(trunk__isnull=False),
            "destination": queryset.exclude(destination=""),
            "nowhere": queryset.filter(subscriber__isnull=True, trunk__isnull=True, destination=""),
        }.get(value, queryset)
