"""Customers: ``/api/v1/customers/``."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view

from portal.carriers.models import CarrierAccount
from portal.customers import services
from portal.customers.filtersets import CustomerFilterSet
from portal.customers.models import Customer, CustomerStatus
from portal.ui import rights

from .base import (
    ApiViewSet,
    CreateMixin,
    DestroyMixin,
    ProvisionedSerializer,
    ReadMixin,
    ScopedRelatedField,
    UpdateMixin,
)
from .sync import SyncNowMixin


class CustomerSerializer(ProvisionedSerializer):
    carrier_account = ScopedRelatedField(
        queryset=CarrierAccount.objects.all(),
        help_text="Where the customer and, by default, its SIP accounts, numbers and trunks are provisioned. "
                  "Only a manager moves an existing customer to another one.")

    class Meta:
        model = Customer
        fields = ["id", "name", "external_ref", "status", "carrier_account", "contact_name", "email", "phone",
                  "address_line1", "address_line2", "city", "postcode", "country", "reseller",
                  *ProvisionedSerializer.SYNC_FIELDS, "created_at", "updated_at", "version"]
        read_only_fields = ["reseller"]
        extra_kwargs = {
            "external_ref": {"help_text": "Your CRM or billing reference; unique among your customers."},
            "status": {"help_text": "Only a manager terminates a customer."},
            "phone": {"help_text": "International format, e.g. +44 20 7946 0000; stored as E.164."},
        }
        validators = []  # the service checks uniqueness, with the pages' messages


CUSTOMER_EXAMPLE = OpenApiExample(
    "A new customer",
    value={"name": "Anchor Clinic", "external_ref": "CRM-00042", "carrier_account": 1, "contact_name": "Kira Patel",
           "email": "office@anchor.example", "phone": "+44 20 7946 0001", "city": "London", "country": "GB"},
    request_only=True,
)


@extend_schema_view(
    list=extend_schema(summary="List customers", description="Filter with the staff list's filters; ?q= searches "
                       "name, contact, email, reference and the customer's numbers (typed any way)."),
    create=extend_schema(summary="Add a customer", examples=[CUSTOMER_EXAMPLE]),
    retrieve=extend_schema(summary="A customer"),
    update=extend_schema(summary="Change a customer (all fields)"),
    partial_update=extend_schema(summary="Change some of a customer's fields"),
    destroy=extend_schema(summary="Delete a customer", description="Managers only. Only a customer without SIP "
                          "accounts, numbers and trunks can be deleted (409 otherwise): terminate it instead."),
)
class CustomerViewSet(SyncNowMixin, CreateMixin, UpdateMixin, DestroyMixin, ReadMixin, ApiViewSet):
    model = Customer
    serializer_class = CustomerSerializer
    filterset_class = CustomerFilterSet
    ordering_fields = ("name", "external_ref", "status", "created_at", "updated_at")
    ordering = ("name", "pk")

    def perform_create(self, data):
        if data.get("status") == CustomerStatus.TERMINATED:
            self.require(rights.END_CUSTOMER)
        reseller = self.reseller_of(data.get("carrier_account"))
        return services.create_customer(reseller=reseller, actor=self.request.user, **data)

    def check_update(self, customer, data):
        super().check_update(customer, data)
        if data.get("status", customer.status) == CustomerStatus.TERMINATED != customer.status:
            self.require(rights.END_CUSTOMER)

    def perform_update(self, customer, data):
        return services.update_customer(customer, actor=self.request.user, **data)

    def perform_destroy(self, customer):
        self.require(rights.END_CUSTOMER)
        services.delete_customer(customer, actor=self.request.user)
