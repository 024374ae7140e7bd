"""Carrier accounts: ``/api/v1/carrier-accounts/`` (read; managers test). Credentials never leave."""

from __future__ import annotations

import dataclasses

import django_filters
from django.core.exceptions import PermissionDenied
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from portal.carriers.checks import check_connection
from portal.carriers.kinds import KIND_FIELDS, CarrierKind
from portal.carriers.models import CarrierAccount

from .base import ApiSerializer, ApiViewSet, ReadMixin
from .concurrency import check_if_match, version_of
from .schema import errors_for


class CarrierAccountSerializer(ApiSerializer):
    credentials_set = serializers.SerializerMethodField(
        help_text="Which of the kind's secrets are stored. The secrets themselves are never shown.")
    capabilities = serializers.SerializerMethodField(help_text="What this carrier can hold, in portal terms.")

    class Meta:
        model = CarrierAccount
        fields = ["id", "name", "kind", "base_url", "account_id", "settings", "enabled", "rate_limit_requests",
                  "rate_limit_window", "max_in_flight", "connect_timeout", "read_timeout", "credentials_set",
                  "capabilities", "created_at", "updated_at", "version"]
        read_only_fields = fields

    def get_credentials_set(self, account) -> list[str]:
        secrets = KIND_FIELDS[account.kind].secrets if account.kind in KIND_FIELDS else ()
        return [name for name in secrets if account.credentials.get(name)]

    def get_capabilities(self, account) -> dict:
        caps = dataclasses.asdict(account.capabilities)
        return {name: sorted(value) if isinstance(value, (frozenset, set, tuple)) else value
                for name, value in caps.items()}


class ConnectionCheckSerializer(serializers.Serializer):
    ok = serializers.BooleanField(help_text="The carrier accepted the account's address and credentials.")
    detail = serializers.CharField(help_text="What the carrier said.")


class CarrierAccountFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Name contains")
    kind = django_filters.ChoiceFilter(choices=CarrierKind.choices)
    enabled = django_filters.BooleanFilter()

    class Meta:
        model = CarrierAccount
        fields = ["q", "kind", "enabled"]


@extend_schema_view(
    list=extend_schema(summary="List carrier accounts", description="Every member of staff reads them (the pages "
                       "offer them to choose from); credentials are write-only and never shown."),
    retrieve=extend_schema(summary="A carrier account"),
)
class CarrierAccountViewSet(ReadMixin, ApiViewSet):
    model = CarrierAccount
    serializer_class = CarrierAccountSerializer
    filterset_class = CarrierAccountFilterSet
    ordering_fields = ("name", "kind", "created_at")
    ordering = ("name", "pk")

    @extend_schema(request=None, responses={200: ConnectionCheckSerializer, **errors_for(404)},
                   summary="Test the connection (managers)",
                   description="Sends one request to the carrier with the stored address and credentials.")
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        account = self.get_object()
        if not self.access.is_manager:
            raise PermissionDenied("Only managers test carrier accounts.")
        check_if_match(request, version_of(account))
        check = check_connection(account)
        return Response(ConnectionCheckSerializer(check).data)
