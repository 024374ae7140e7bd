"""Pieces every list's FilterSet shares; the FilterSets themselves are plain django-filter.

They take the request (``FilterSet(data, queryset=…, request=request)``) only to scope
the choices they offer, so the REST API can use them unchanged.
"""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q

from portal.carriers.models import CarrierAccount
from portal.sync.models import SyncState

from .forms import DEFAULT_REGION, try_parse_number


def carrier_accounts(request):
    return CarrierAccount.objects.for_request(request) if request is not None else CarrierAccount.objects.none()


def number_condition(value: str, field: str = "e164", region: str = DEFAULT_REGION) -> Q | None:
    """A number typed any way (``020 7946 0001``, ``+44 20…``, ``79460``) as a condition on ``field``.

    A whole number matches exactly (an index lookup); a run of digits matches any
    number holding it, with or without the national trunk 0.
    """
    whole = try_parse_number(value, region)
    if whole:
        return Q(**{field: whole})
    digits = "".join(c for c in value if c.isdigit())
    if len(digits) < 3 or len(digits) != len(value.replace(" ", "").replace("-", "").lstrip("+")):
        return None
    condition = Q(**{f"{field}__contains": digits})
    if digits.startswith("0") and len(digits) > 3:
        condition |= Q(**{f"{field}__contains": digits.lstrip("0")})
    return condition


class PortalFilterSet(django_filters.FilterSet):
    """``?q=`` searches through the subclass's ``search``; the sync state is a filter everywhere."""

    q = django_filters.CharFilter(method="search", label="Search")
    sync_state = django_filters.ChoiceFilter(choices=SyncState.choices, empty_label="Any sync state", label="Sync")
    search_hint = "Name, number or SIP username"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["q"].extra["widget"] = forms.TextInput(
            attrs={"type": "search", "placeholder": self.search_hint, "autocomplete": "off"}
        )

    def search(self, queryset, name, value):
        raise NotImplementedError
