"""Numbers, their 999 address, and the numbers a carrier offers: ``/api/v1/numbers/``,
``/api/v1/available-numbers/``."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import Http404
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from portal.carriers.models import CarrierAccount
from portal.customers.models import Customer
from portal.numbers import services
from portal.numbers.filtersets import NumberFilterSet
from portal.numbers.models import EmergencyAddress, Number, NumberStatus
from portal.subscribers.models import Subscriber
from portal.trunks.models import Trunk

from . import concurrency
from .base import (
    ApiViewSet,
    CreateMixin,
    ProvisionedSerializer,
    ReadMixin,
    ScopedRelatedField,
    UpdateMixin,
    refusal_is_conflict,
)
from .errors import CarrierUnavailable, Conflict
from .forwards import OwnerForwardsMixin
from .idempotency import idempotent
from .schema import errors_for
from .sync import SyncNowMixin


class NumberSerializer(ProvisionedSerializer):
    carrier_account = ScopedRelatedField(
        queryset=CarrierAccount.objects.all(),
        help_text="Where the number is held; it is allocated there when added. Only a manager moves it later.")
    customer = ScopedRelatedField(queryset=Customer.objects.all(), required=False, allow_null=True,
                                  help_text="Who has it; empty: in your stock.")
    subscriber = ScopedRelatedField(queryset=Subscriber.objects.all(), required=False, allow_null=True,
                                    help_text="The SIP account calls to it ring (one of the customer's).")
    trunk = ScopedRelatedField(queryset=Trunk.objects.all(), required=False, allow_null=True,
                               help_text="The trunk calls to it go to (one of the customer's); not with a subscriber.")

    class Meta:
        model = Number
        fields = ["id", "e164", "status", "carrier_account", "customer", "subscriber", "trunk", "destination",
                  "reseller", *ProvisionedSerializer.SYNC_FIELDS, "created_at", "updated_at", "version"]
        read_only_fields = ["status", "reseller"]
        extra_kwargs = {
            "e164": {"help_text": "The number in international format (+44 20 7946 0000); stored as E.164. "
                                  "Set when added."},
            "status": {"help_text": "available (stock), assigned (a customer has it), porting, released. "
                                    "Follows the customer; released through the release action."},
            "destination": {"help_text": "Where calls go when not routed to a SIP account or trunk: +44… or sip:…"},
        }
        validators = []


class EmergencyAddressSerializer(serializers.ModelSerializer):
    class Meta:
        model = EmergencyAddress
        fields = ["name", "premises", "thoroughfare", "locality", "postcode"]


class AvailableNumberQuery(serializers.Serializer):
    carrier_account = ScopedRelatedField(queryset=CarrierAccount.objects.all(), help_text="Whose numbers to search.")
    prefix = serializers.RegexField(r"^\+?[0-9]{1,15}$", required=False, default="",
                                    help_text="An E.164 prefix, e.g. +44161 (Manchester).")
    contains = serializers.RegexField(r"^[0-9]{1,15}$", required=False, default="",
                                      help_text="Digits anywhere in the number.")
    limit = serializers.IntegerField(min_value=1, max_value=100, default=20)


class AvailableNumberSerializer(serializers.Serializer):
    e164 = serializers.CharField(help_text="Add it with POST /api/v1/numbers/.")
    price = serializers.CharField(help_text="As the carrier quotes it (may be empty).")
    tier = serializers.CharField(help_text="The carrier's grade of the number (may be empty).")


@extend_schema_view(
    list=extend_schema(summary="List numbers", description="Released numbers are left out unless ?status= asks "
                       "for them. ?q= takes a number typed any way, or a holder's name or SIP username."),
    create=extend_schema(
        summary="Add a number",
        description="Takes the number onto the carrier account (allocated there at carriers that sell numbers); "
                    "with a customer it is assigned at once.",
        examples=[OpenApiExample("Give a number to a customer", request_only=True,
                                 value={"e164": "+44 161 496 0123", "carrier_account": 1, "customer": 3})]),
    retrieve=extend_schema(summary="A number"),
    update=extend_schema(summary="Assign and route a number (all fields)"),
    partial_update=extend_schema(summary="Assign or route a number", description="Setting customer assigns it "
                                 "(null: back to stock); subscriber, trunk or destination route it."),
)
class NumberViewSet(OwnerForwardsMixin, SyncNowMixin, CreateMixin, UpdateMixin, ReadMixin, ApiViewSet):
    model = Number
    serializer_class = NumberSerializer
    filterset_class = NumberFilterSet
    ordering_fields = ("e164", "status", "created_at", "updated_at")
    ordering = ("e164", "pk")

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "list" and not self.request.query_params.get("status"):
            # Released numbers stay for the history, not the inventory (as on the list page).
            queryset = queryset.exclude(status=NumberStatus.RELEASED)
        return queryset

    def perform_create(self, data):
        data = dict(data)
        account = data.pop("carrier_account")
        reseller = self.reseller_of(account)
        return services.add_number(reseller=reseller, carrier_account=account, actor=self.request.user, **data)

    def check_update(self, number, data):
        super().check_update(number, data)
        if number.status == NumberStatus.RELEASED:
            raise Conflict("This number was released; add it again to use it.")
        if "e164" in data and data["e164"] != number.e164:
            raise ValidationError({"e164": "A number stays the number it is: release it and add the other one."})

    def perform_update(self, number, data):
        changes = {name: value for name, value in data.items() if name != "e164"}
        if "customer" in changes:
            changes["status"] = NumberStatus.ASSIGNED if changes["customer"] else NumberStatus.AVAILABLE
        return services.update_number(number, actor=self.request.user, **changes)

    @extend_schema(request=None, responses={200: NumberSerializer, **errors_for(404, 409)}, summary="Release",
                   description="Gives the number back to the carrier; the customer loses it, its routing and "
                               "forwards are cleared. The record stays, as released, for the history.")
    @action(detail=True, methods=["post"])
    @idempotent
    def release(self, request, pk=None):
        def change(number):
            if number.status == NumberStatus.RELEASED:
                raise Conflict("This number is already released.")
            with refusal_is_conflict():
                return services.release_number(number, actor=request.user)

        return self.write(change, lock_pk=self.get_object().pk)

    @extend_schema(methods=["GET"], summary="Its 999 address", responses={200: EmergencyAddressSerializer})
    @extend_schema(methods=["PUT"], summary="Set its 999 address", request=EmergencyAddressSerializer,
                   responses={200: EmergencyAddressSerializer},
                   description="Where the line is, for the emergency services; sent to the carrier with the number "
                               "(only carriers that hold one: 400 otherwise). Every line is required.")
    @action(detail=True, methods=["get", "put"], url_path="emergency-address")
    def emergency_address(self, request, pk=None):
        number = self.get_object()
        if request.method == "GET":
            address = EmergencyAddress.objects.filter(number=number).first()
            if address is None:
                raise Http404("This number has no 999 address yet.")
            return self.respond_address(address)
        form = EmergencyAddressSerializer(data=request.data)
        form.is_valid(raise_exception=True)

        def change(locked):
            current = EmergencyAddress.objects.filter(number=locked).first()
            concurrency.check_if_match(request, address_version(current))
            return services.set_emergency_address(locked, actor=request.user, **form.validated_data)

        # The number's row is the lock; the address's own version is what If-Match names.
        return self.write(change, lock_pk=number.pk, respond=self.respond_address, if_match=False)

    def respond_address(self, address):
        response = Response(EmergencyAddressSerializer(address).data)
        response["ETag"] = concurrency.etag(address_version(address))
        return response


def address_version(address) -> str:
    return concurrency.digest(EmergencyAddressSerializer(address).data if address is not None else None)


@extend_schema(
    parameters=[AvailableNumberQuery], responses={200: AvailableNumberSerializer(many=True), **errors_for(400, 502)},
    summary="Search a carrier's available numbers",
    description="Asks the carrier account's carrier now (one request of its budget). Add the ones you want with "
                "POST /api/v1/numbers/.",
)
class AvailableNumberViewSet(ApiViewSet):
    model = Number
    pagination_class = None
    filter_backends = []

    def list(self, request, *args, **kwargs):
        query = AvailableNumberQuery(data=request.query_params, context=self.get_serializer_context())
        query.is_valid(raise_exception=True)
        params = query.validated_data
        try:
            found = services.search_available_numbers(
                params["carrier_account"], prefix=params["prefix"], contains=params["contains"], limit=params["limit"])
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                raise
            raise CarrierUnavailable(" ".join(exc.messages)) from None
        return Response(AvailableNumberSerializer(found, many=True).data)
