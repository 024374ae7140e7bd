from __future__ import annotations

import django_filters
from django.db.models import Q

from portal.customers.models import Customer
from portal.numbers.models import Number
from portal.ui.filtersets import PortalFilterSet, carrier_accounts, number_condition

from .models import Subscriber, SubscriberStatus


def customers(request):
    return Customer.objects.for_request(request).only("pk", "name") if request is not None else Customer.objects.none()


def customer_filter():
    """``?customer=<id>`` (the customer page's tabs link with it). Not a select: with
    thousands of customers the options would outweigh the page; ``?q=`` finds by name."""
    from django import forms

    return django_filters.ModelChoiceFilter(queryset=customers, widget=forms.HiddenInput)


class SubscriberFilterSet(PortalFilterSet):
    customer = customer_filter()
    status = django_filters.ChoiceFilter(choices=SubscriberStatus.choices, empty_label="Any status")
    carrier_account = django_filters.ModelChoiceFilter(queryset=carrier_accounts, empty_label="Any carrier account")

    search_hint = "SIP username, name or a number"

    class Meta:
        model = Subscriber
        fields = ["q", "customer", "status", "carrier_account", "sync_state"]

    def search(self, queryset, name, value):
        """A SIP username (or user@domain), a display name, a customer's name, or a number typed any way."""
        value = value.strip()
        user, _, domain = value.partition("@")
        condition = Q(username__icontains=user) if not domain else Q(username__iexact=user, domain__iexact=domain)
        condition |= Q(display_name__icontains=value) | Q(customer__name__icontains=value)
        number = number_condition(value)
        if number is not None:
            condition |= Q(pk__in=Number.objects.filter(number).values("subscriber_id"))
        return queryset.filter(condition)
