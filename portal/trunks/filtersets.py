from __future__ import annotations

import django_filters
from django.db.models import Q

from portal.numbers.models import Number
from portal.subscribers.filtersets import customer_filter
from portal.ui.filtersets import PortalFilterSet, carrier_accounts, number_condition

from .models import Trunk, TrunkType


class TrunkFilterSet(PortalFilterSet):
    customer = customer_filter()
    type = django_filters.ChoiceFilter(choices=TrunkType.choices, empty_label="Any authentication", label="Authentication")
    enabled = django_filters.BooleanFilter(widget=django_filters.widgets.BooleanWidget())
    carrier_account = django_filters.ModelChoiceFilter(queryset=carrier_accounts, empty_label="Any carrier account")

    search_hint = "Trunk, customer, IP address or a number"

    class Meta:
        model = Trunk
        fields = ["q", "customer", "type", "enabled", "carrier_account", "sync_state"]

    def search(self, queryset, name, value):
        """A trunk or customer name, an address it calls from, or a number routed to it."""
        value = value.strip()
        condition = Q(name__icontains=value) | Q(customer__name__icontains=value) | Q(host__icontains=value)
        if any(c == "." or c == ":" for c in value):
            condition |= Q(allowed_ips__icontains=value)
        number = number_condition(value)
        if number is not None:
            condition |= Q(pk__in=Number.objects.filter(number).values("trunk_id"))
        return queryset.filter(condition)
