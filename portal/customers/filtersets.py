from __future__ import annotations

import django_filters
from django.db.models import Q

from portal.numbers.models import Number
from portal.ui.filtersets import PortalFilterSet, carrier_accounts, number_condition

from .models import Customer, CustomerStatus


class CustomerFilterSet(PortalFilterSet):
    status = django_filters.ChoiceFilter(choices=CustomerStatus.choices, empty_label="Any status")
    carrier_account = django_filters.ModelChoiceFilter(queryset=carrier_accounts, empty_label="Any carrier account")

    search_hint = "Name, email, reference or a number"

    class Meta:
        model = Customer
        fields = ["q", "status", "carrier_account", "sync_state"]

    def search(self, queryset, name, value):
        """A name, contact, email or reference; or one of the customer's numbers, typed any way."""
        value = value.strip()
        condition = (
            Q(name__icontains=value)
            | Q(contact_name__icontains=value)
            | Q(email__icontains=value)
            | Q(external_ref__icontains=value)
        )
        number = number_condition(value)
        if number is not None:
            condition |= Q(pk__in=Number.objects.filter(number).values("customer_id")) | number_condition(value, "phone")
        return queryset.filter(condition)
