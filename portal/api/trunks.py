"""SIP trunks: ``/api/v1/trunks/``."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from portal.trunks import services
from portal.trunks.filtersets import TrunkFilterSet
from portal.trunks.models import Trunk

from .base import (
    ApiViewSet,
    CreateMixin,
    CustomerServiceMixin,
    CustomerServiceSerializer,
    DestroyMixin,
    ProvisionedSerializer,
    ReadMixin,
    UpdateMixin,
    refusal_is_conflict,
)
from .concurrency import check_if_match, version_of
from .schema import errors_for
from .sync import SyncNowMixin


class TrunkSerializer(CustomerServiceSerializer):
    allowed_ips = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, max_length=100,
        help_text="Addresses or networks the PBX calls from: [\"192.0.2.10\", \"198.51.100.0/24\"].")
    password_available = serializers.SerializerMethodField(
        help_text="The carrier made a password for it that has not been taken yet (take-password).")

    class Meta:
        model = Trunk
        fields = ["id", "customer", "name", "type", "allowed_ips", "host", "channels_in", "channels_out",
                  "default_cli", "force_cli", "max_cost_per_minute", "max_cost_per_call", "enabled",
                  "carrier_account", "password_available", "password_shown_at",
                  *ProvisionedSerializer.SYNC_FIELDS, "created_at", "updated_at", "version"]
        read_only_fields = ["password_shown_at"]
        validators = []

    def get_password_available(self, trunk) -> bool:
        return bool(trunk.password) and trunk.password_shown_at is None


class TrunkPasswordSerializer(serializers.Serializer):
    password = serializers.CharField(read_only=True, help_text="The trunk's password, shown this once.")


@extend_schema_view(
    list=extend_schema(summary="List trunks", description="?q= finds a trunk or customer name, an address it calls "
                       "from, or a number routed to it."),
    create=extend_schema(
        summary="Add a trunk",
        description="What the carrier cannot hold on a trunk is refused field by field (400), never dropped.",
        examples=[OpenApiExample("An IP trunk", request_only=True,
                                 value={"customer": 3, "name": "Main PBX", "type": "ip",
                                        "allowed_ips": ["192.0.2.10"], "channels_in": 10, "channels_out": 10})]),
    retrieve=extend_schema(summary="A trunk"),
    update=extend_schema(summary="Change a trunk (all fields)"),
    partial_update=extend_schema(summary="Change some of a trunk's fields", description="enabled: false stops it."),
    destroy=extend_schema(summary="Delete a trunk"),
)
class TrunkViewSet(CustomerServiceMixin, SyncNowMixin, CreateMixin, UpdateMixin, DestroyMixin, ReadMixin, ApiViewSet):
    model = Trunk
    serializer_class = TrunkSerializer
    filterset_class = TrunkFilterSet
    ordering_fields = ("name", "type", "enabled", "created_at", "updated_at")
    ordering = ("customer", "name", "pk")

    def perform_create(self, data):
        return services.create_trunk(actor=self.request.user, **data)

    def perform_update(self, trunk, data):
        return services.update_trunk(trunk, actor=self.request.user, **self.changes(data))

    def perform_destroy(self, trunk):
        services.delete_trunk(trunk, actor=self.request.user)

    @extend_schema(request=None, responses={200: TrunkPasswordSerializer, **errors_for(404, 409)},
                   summary="Take the trunk's password (once)",
                   description="The carrier makes a username/password trunk's password when it creates it. It is "
                               "answered once; after that, 409.")
    @action(detail=True, methods=["post"], url_path="take-password")
    def take_password(self, request, pk=None):
        trunk = self.get_object()
        check_if_match(request, version_of(trunk))
        with refusal_is_conflict():
            password = services.take_password(trunk, actor=request.user)
        return Response({"password": password})
