"""The audit log: ``/api/v1/audit-log/`` (read). Who changed what, when, field by field.

An entry is visible when its object is one the caller may see now, or when a person of
the caller's reseller made it (so that a deleted object's last entries do not vanish
with it). Platform admins see every entry. Secrets are never in the log (portal/core/audit.py).
"""

from __future__ import annotations

import datetime

import django_filters
from auditlog.models import LogEntry
from django import forms
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q
from django_filters.fields import IsoDateTimeField
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers

from portal.apitokens.models import ApiToken
from portal.carriers.models import CarrierAccount
from portal.customers.models import Customer, CustomerLogin
from portal.forwards.models import CallForward, ForwardDestination, ForwardWindow
from portal.numbers.models import EmergencyAddress, Number
from portal.subscribers.models import Subscriber
from portal.tenancy.models import StaffMembership
from portal.trunks.models import Trunk

from .base import ApiViewSet, ReadMixin

MAX_ID = 2**63 - 1
ACTIONS = {LogEntry.Action.CREATE: "create", LogEntry.Action.UPDATE: "update", LogEntry.Action.DELETE: "delete",
           LogEntry.Action.ACCESS: "access"}


def _forward_parts(model):
    return lambda request: model.objects.filter(forward__in=CallForward.objects.for_request(request))


def _tokens(request):
    tokens = ApiToken.objects.for_request(request)
    access = request.access
    return tokens if access.is_manager else tokens.filter(user=request.user)


# What the API shows the log of (the name it uses → the objects the caller may see).
AUDITED = {
    "customer": (Customer, lambda request: Customer.objects.for_request(request)),
    "customer_login": (CustomerLogin, lambda request: CustomerLogin.objects.for_request(request)),
    "subscriber": (Subscriber, lambda request: Subscriber.objects.for_request(request)),
    "number": (Number, lambda request: Number.objects.for_request(request)),
    "emergency_address": (EmergencyAddress, lambda request: EmergencyAddress.objects.for_request(request)),
    "trunk": (Trunk, lambda request: Trunk.objects.for_request(request)),
    "call_forward": (CallForward, lambda request: CallForward.objects.for_request(request)),
    "forward_destination": (ForwardDestination, _forward_parts(ForwardDestination)),
    "forward_window": (ForwardWindow, _forward_parts(ForwardWindow)),
    "carrier_account": (CarrierAccount, lambda request: CarrierAccount.objects.for_request(request)),
    "api_token": (ApiToken, _tokens),
}


def content_types() -> dict[int, str]:
    """Content type id → the API's name for it (cached by ContentType's manager)."""
    return {ContentType.objects.get_for_model(model).pk: name for name, (model, _) in AUDITED.items()}


def visible_entries(request):
    types = content_types()
    by_name = {name: pk for pk, name in types.items()}
    entries = LogEntry.objects.filter(content_type_id__in=list(types))
    access = request.access
    if access.is_platform_admin:
        return entries
    in_scope = Q()
    for name, (_, scoped) in AUDITED.items():
        in_scope |= Q(content_type_id=by_name[name], object_id__in=scoped(request).values("pk"))
    staff = StaffMembership.objects.filter(reseller_id=access.reseller_id).values("user_id")
    logins = CustomerLogin.objects.filter(customer__reseller_id=access.reseller_id).values("user_id")
    by_our_people = Q(actor_id__in=staff) | Q(actor_id__in=logins)
    entries = entries.filter(in_scope | by_our_people)
    if not access.is_manager:
        # Agents see the log of their own tokens only, as on their pages.
        others = Q(content_type_id=by_name["api_token"]) & ~Q(object_id__in=_tokens(request).values("pk"))
        entries = entries.exclude(others)
    return entries


class IdFilter(django_filters.Filter):
    """A whole number within the database's integers: anything else is a 400, never an overflow."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        super().__init__(*args, min_value=0, max_value=MAX_ID, **kwargs)


class InstantField(IsoDateTimeField):
    """An ISO 8601 instant, as UTC: the database takes offsets of at most ±15:59, ISO any up to ±23:59."""

    def to_python(self, value):
        instant = super().to_python(value)
        if instant is None:
            return None
        try:
            return instant.astimezone(datetime.UTC)
        except OverflowError:
            raise forms.ValidationError("That instant is outside the calendar.", code="invalid") from None


class InstantFilter(django_filters.IsoDateTimeFilter):
    field_class = InstantField


class LogEntryFilterSet(django_filters.FilterSet):
    object_type = django_filters.ChoiceFilter(choices=[(name, name) for name in AUDITED], method="filter_type")
    object_id = IdFilter()
    actor = IdFilter(field_name="actor_id", label="The user id of who made the change")
    action = django_filters.ChoiceFilter(choices=[(name, name) for name in ACTIONS.values()], method="filter_action")
    since = InstantFilter(field_name="timestamp", lookup_expr="gte")
    until = InstantFilter(field_name="timestamp", lookup_expr="lt")

    class Meta:
        model = LogEntry
        fields = ["object_type", "object_id", "actor", "action", "since", "until"]

    def filter_type(self, queryset, name, value):
        model = AUDITED[value][0]
        return queryset.filter(content_type=ContentType.objects.get_for_model(model))

    def filter_action(self, queryset, name, value):
        return queryset.filter(action={v: k for k, v in ACTIONS.items()}[value])


class LogEntrySerializer(serializers.ModelSerializer):
    object_type = serializers.SerializerMethodField(help_text="customer, subscriber, number, trunk, call_forward, …")
    action = serializers.SerializerMethodField(help_text="create, update, delete or access.")
    changes = serializers.SerializerMethodField(help_text="Field → [before, after].")
    actor = serializers.SerializerMethodField(help_text="The user id of who made it (null: the system).")
    actor_email = serializers.SerializerMethodField()

    class Meta:
        model = LogEntry
        fields = ["id", "timestamp", "action", "object_type", "object_id", "object_repr", "changes", "actor",
                  "actor_email"]
        read_only_fields = fields

    def get_object_type(self, entry) -> str:
        return self.context["types"].get(entry.content_type_id, "")

    def get_action(self, entry) -> str:
        return ACTIONS.get(entry.action, str(entry.action))

    def get_changes(self, entry) -> dict[str, list]:
        return entry.changes_dict

    def get_actor(self, entry) -> int | None:
        return entry.actor_id

    def get_actor_email(self, entry) -> str:
        return entry.actor.email if entry.actor_id else ""


@extend_schema_view(
    list=extend_schema(summary="The audit log", description="Newest first. Filter by object (object_type and "
                       "object_id), by who (actor), by action and by time (since, until: ISO 8601)."),
    retrieve=extend_schema(summary="One audit log entry"),
)
class AuditLogViewSet(ReadMixin, ApiViewSet):
    model = LogEntry
    serializer_class = LogEntrySerializer
    filterset_class = LogEntryFilterSet
    ordering = ("-timestamp", "-pk")
    ordering_fields = ("timestamp",)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator asks with no caller
            return LogEntry.objects.none()
        return visible_entries(self.request).select_related("actor")

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "types": content_types()}
