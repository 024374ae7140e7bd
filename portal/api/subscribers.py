"""SIP accounts (subscribers): ``/api/v1/subscribers/``."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from portal.numbers.models import Number
from portal.subscribers import services
from portal.subscribers.filtersets import SubscriberFilterSet
from portal.subscribers.models import Subscriber

from .base import (
    ApiViewSet,
    CreateMixin,
    CustomerServiceMixin,
    CustomerServiceSerializer,
    DestroyMixin,
    ProvisionedSerializer,
    ReadMixin,
    ScopedRelatedField,
    UpdateMixin,
)
from .forwards import OwnerForwardsMixin
from .idempotency import idempotent
from .schema import errors_for
from .sync import SyncNowMixin


class SubscriberSerializer(CustomerServiceSerializer):
    primary_number = ScopedRelatedField(
        queryset=Number.objects.all(), required=False, allow_null=True,
        help_text="The number it calls from and is reached on; one of its customer's numbers.")
    password = serializers.CharField(
        write_only=True, required=False, min_length=8, max_length=128, trim_whitespace=False,
        style={"input_type": "password"},
        help_text="On creation only: the SIP password to use. Leave it out to have a strong one generated "
                  "(answered once, as sip_password).")

    class Meta:
        model = Subscriber
        fields = ["id", "customer", "username", "domain", "display_name", "primary_number", "status",
                  "carrier_account", "password", *ProvisionedSerializer.SYNC_FIELDS, "created_at", "updated_at",
                  "version"]
        extra_kwargs = {"domain": {"required": False, "help_text": "The SIP domain; carriers that keep their "
                                   "subscribers in the account's own domain fill it in."}}
        validators = []


class SubscriberCreatedSerializer(SubscriberSerializer):
    sip_password = serializers.CharField(read_only=True, help_text="Shown this once: keep it now.")

    class Meta(SubscriberSerializer.Meta):
        fields = [*SubscriberSerializer.Meta.fields, "sip_password"]


class PasswordSerializer(serializers.Serializer):
    sip_password = serializers.CharField(read_only=True, help_text="The new SIP password, shown this once.")


@extend_schema_view(
    list=extend_schema(summary="List SIP accounts", description="?q= finds a SIP username (or user@domain), a "
                       "display name, a customer's name or one of its numbers, typed any way."),
    create=extend_schema(
        summary="Add a SIP account", responses={201: SubscriberCreatedSerializer},
        description="Answers with the SIP password once (sip_password): it is never shown again; reset it to get "
                    "a new one.",
        examples=[OpenApiExample("A new SIP account", request_only=True,
                                 value={"customer": 3, "username": "201", "domain": "sip.example.com",
                                        "display_name": "Front desk"})]),
    retrieve=extend_schema(summary="A SIP account"),
    update=extend_schema(summary="Change a SIP account (all fields)"),
    partial_update=extend_schema(summary="Change some of a SIP account's fields"),
    destroy=extend_schema(summary="Delete a SIP account", description="Its numbers stay with the customer, "
                          "routed nowhere until routed again."),
)
class SubscriberViewSet(CustomerServiceMixin, OwnerForwardsMixin, SyncNowMixin, CreateMixin, UpdateMixin,
                        DestroyMixin, ReadMixin, ApiViewSet):
    model = Subscriber
    serializer_class = SubscriberSerializer
    filterset_class = SubscriberFilterSet
    ordering_fields = ("username", "display_name", "status", "created_at", "updated_at")
    ordering = ("customer", "username", "pk")

    def perform_create(self, data):
        subscriber, password = services.create_subscriber(actor=self.request.user, **data)
        self.shown_once = password  # answered with the new subscriber, this once
        return subscriber

    def respond(self, obj, status=200, **kwargs):
        if status == 201 and getattr(self, "shown_once", None):
            return super().respond(obj, status, serializer_class=SubscriberCreatedSerializer,
                                   extra={"sip_password": self.shown_once})
        return super().respond(obj, status, **kwargs)

    def check_update(self, subscriber, data):
        super().check_update(subscriber, data)
        if "password" in data:
            raise ValidationError({"password": "Set on creation only: reset the password to change it."})

    def perform_update(self, subscriber, data):
        return services.update_subscriber(subscriber, actor=self.request.user, **self.changes(data))

    def perform_destroy(self, subscriber):
        services.delete_subscriber(subscriber, actor=self.request.user)

    @extend_schema(request=None, responses={200: PasswordSerializer, **errors_for(404, 409)},
                   summary="Reset the SIP password",
                   description="A new strong password, sent to the carrier; answered this once.")
    @action(detail=True, methods=["post"], url_path="reset-password")
    @idempotent
    def reset_password(self, request, pk=None):
        def change(subscriber):
            return services.reset_sip_password(subscriber, actor=request.user)

        return self.write(change, lock_pk=self.get_object().pk,
                          respond=lambda password: Response({"sip_password": password}))
