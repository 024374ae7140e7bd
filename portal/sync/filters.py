"""Filters of the staff sync pages (django-filter): jobs and drift."""

from __future__ import annotations

from datetime import timedelta

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone

from portal.ui.filtersets import carrier_accounts

from .models import Drift, DriftKind, JobOperation, JobState, SyncJob
from .objects import KINDS

KIND_LABELS = {
    "customer": "Customer",
    "subscriber": "SIP account",
    "number": "Number",
    "trunk": "Trunk",
    "subscriber_forwards": "SIP account's forwards",
    "number_forwards": "Number's forwards",
}


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind) or kind.replace("_", " ").capitalize()


def kind_choices() -> list[tuple[str, str]]:
    return [(name, kind_label(name)) for name in KIND_LABELS if name in KINDS] + [
        (name, kind_label(name)) for name in KINDS if name not in KIND_LABELS
    ]


# "age": how long ago a job was made. Operators look for what is stuck (older than) and
# for what just happened (within).
AGES = {
    "5m": ("Waiting over 5 minutes", timedelta(minutes=5), "older"),
    "1h": ("Waiting over an hour", timedelta(hours=1), "older"),
    "1d": ("Waiting over a day", timedelta(days=1), "older"),
    "last-1h": ("Made in the last hour", timedelta(hours=1), "newer"),
    "last-1d": ("Made in the last day", timedelta(days=1), "newer"),
    "last-7d": ("Made in the last week", timedelta(days=7), "newer"),
}
SYSTEM = "system"


def people(request):
    """Who may have caused a change of this reseller: its staff and its customers' users."""
    users = get_user_model().objects.order_by("first_name", "last_name", "email")
    access = getattr(request, "access", None)
    if access is None:
        return users.none()
    if access.is_platform_admin:
        return users.filter(Q(staff_membership__isnull=False) | Q(is_superuser=True))
    return users.filter(
        Q(staff_membership__reseller_id=access.reseller_id) | Q(customer_login__customer__reseller_id=access.reseller_id)
    )


class CausedByFilter(django_filters.ChoiceFilter):
    """A person, or "the system" (the engine's own retries, reconciliation, imports by command)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("empty_label", "Anybody")
        super().__init__(*args, choices=[], **kwargs)

    def filter(self, queryset, value):
        if value in ("", None):
            return queryset
        if value == SYSTEM:
            return queryset.filter(caused_by__isnull=True)
        return queryset.filter(caused_by_id=int(value)) if str(value).isdigit() else queryset.none()


class SyncJobFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    state = django_filters.ChoiceFilter(choices=JobState.choices, empty_label="Any state")
    carrier_account = django_filters.ModelChoiceFilter(queryset=carrier_accounts, empty_label="Any carrier account")
    object_kind = django_filters.ChoiceFilter(label="Object type", choices=kind_choices, empty_label="Any type")
    operation = django_filters.ChoiceFilter(choices=JobOperation.choices, empty_label="Any operation")
    age = django_filters.ChoiceFilter(
        label="Age", method="by_age", choices=[(k, v[0]) for k, v in AGES.items()], empty_label="Any age"
    )
    caused_by = CausedByFilter(label="Caused by")

    class Meta:
        model = SyncJob
        fields = ["q", "state", "carrier_account", "object_kind", "operation", "age", "caused_by"]

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, request=request, **kwargs)
        self.filters["q"].extra["widget"] = forms.TextInput(
            attrs={"type": "search", "placeholder": "Object or the carrier's words", "autocomplete": "off"}
        )
        field = self.form.fields["caused_by"]
        field.choices = [("", "Anybody"), (SYSTEM, "The system")] + [
            (str(user.pk), str(user)) for user in people(request).only("pk", "email", "first_name", "last_name")
        ]

    def search(self, queryset, name, value):
        value = value.strip()
        condition = Q(object_repr__icontains=value) | Q(last_error__icontains=value)
        if value.isdigit():
            condition |= Q(pk=int(value))
        return queryset.filter(condition)

    def by_age(self, queryset, name, value):
        label, span, direction = AGES[value]
        edge = timezone.now() - span
        return queryset.filter(created_at__lt=edge) if direction == "older" else queryset.filter(created_at__gte=edge)


class DriftFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    kind = django_filters.ChoiceFilter(label="Difference", choices=DriftKind.choices, empty_label="Any difference")
    object_kind = django_filters.ChoiceFilter(label="Object type", choices=kind_choices, empty_label="Any type")
    state = django_filters.ChoiceFilter(
        label="State", method="by_state", empty_label=None,
        choices=[("open", "Open"), ("resolved", "Resolved"), ("failed", "Could not be resolved")],
    )

    class Meta:
        model = Drift
        fields = ["q", "kind", "object_kind", "state"]

    def __init__(self, data=None, *args, **kwargs):
        data = data.copy() if data is not None else None
        if data is not None and not data.get("state"):
            data["state"] = "open"
        super().__init__(data if data is not None else {"state": "open"}, *args, **kwargs)
        self.filters["q"].extra["widget"] = forms.TextInput(
            attrs={"type": "search", "placeholder": "Name, number or id at the carrier", "autocomplete": "off"}
        )

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(label__icontains=value) | Q(remote_id__icontains=value))

    def by_state(self, queryset, name, value):
        if value == "resolved":
            return queryset.filter(resolved_at__isnull=False)
        if value == "failed":
            return queryset.filter(resolved_at__isnull=True).exclude(resolution_error="")
        return queryset.filter(resolved_at__isnull=True)
