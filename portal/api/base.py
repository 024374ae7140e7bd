"""What every API resource shares: scoped querysets, service-only writes, versions, errors.

A resource module declares a serializer (the shape and the types) and a viewset (the
model, its FilterSet and which service does each write). The base here does the rest:

* every query starts from ``Model.objects.for_request(request)``: out of scope is 404;
* every write runs in one transaction: the object's row is locked, ``If-Match`` is checked
  against its version, the domain service is called (never ``serializer.save()``), the
  object is read back through the scoped queryset (a write cannot move it out of reach)
  and the answer is built, and stored for an ``Idempotency-Key``; a transaction that lost
  a race with another writer is run again from the start;
* a service's refusal becomes a 400 naming its fields, or a 409 where no body was sent.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from contextlib import contextmanager

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.http import Http404
from django.urls import reverse
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import serializers, viewsets
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response

from portal.carriers.models import CarrierAccount
from portal.customers.models import Customer
from portal.sync.models import Provisioned
from portal.sync.provisioning import service
from portal.ui import rights

from . import concurrency
from .errors import Conflict
from .idempotency import idempotent

ID_PATTERN = r"[0-9]{1,18}"  # larger ids are no ids: 404, never an integer overflow


# ------------------------------------------------------------------ serializers
class ScopedRelatedField(serializers.PrimaryKeyRelatedField):
    """An object the caller may see, by id; another reseller's id is "does not exist".

    ``queryset`` names the model (and lets the schema see it); the objects offered are the
    request's, through the scoping helper.
    """

    def get_queryset(self):
        return self.queryset.model.objects.for_request(self.context["request"])


class ApiSerializer(serializers.ModelSerializer):
    """Shape and types only: the domain service validates the rest and saves."""

    # The fields ModelSerializer builds from the model, by serializer class: built once, not
    # twice a request (a request reads one serializer and answers with another); each
    # serializer works on copies, as DRF gives each its own copies of declared fields.
    _built_fields: dict[type, dict] = {}

    def get_fields(self):
        built = ApiSerializer._built_fields.get(type(self))
        if built is None:
            built = ApiSerializer._built_fields[type(self)] = super().get_fields()
        return copy.deepcopy(built)

    version = serializers.SerializerMethodField(
        help_text="The object's version; its ETag. Send it back in If-Match to change it only if unchanged.")

    def get_version(self, obj) -> str:
        return concurrency.version_of(obj)

    def create(self, validated_data):  # pragma: no cover - a guard, not a path
        raise NotImplementedError("API writes go through the domain services.")

    def update(self, instance, validated_data):  # pragma: no cover - a guard, not a path
        raise NotImplementedError("API writes go through the domain services.")


class ProvisionedSerializer(ApiSerializer):
    """An object a carrier holds: where the carrier stands with it comes along, read-only."""

    SYNC_FIELDS = ("sync_state", "sync_error", "remote_id", "synced_at")
    READ_ONLY = ("id", *SYNC_FIELDS, "created_at", "updated_at", "version")

    def get_fields(self):
        fields = super().get_fields()
        for name in self.READ_ONLY:
            if name in fields:
                fields[name].read_only = True
        return fields


class CustomerServiceSerializer(ProvisionedSerializer):
    """Something a customer has (a SIP account, a trunk): its customer is set once, and its carrier
    account is the customer's own unless named (the service fills it in)."""

    customer = ScopedRelatedField(queryset=Customer.objects.all(), help_text="Whose it is; set when it is added.")
    carrier_account = ScopedRelatedField(
        queryset=CarrierAccount.objects.all(), required=False,
        help_text="Where it is provisioned; the customer's own unless given. Only a manager moves it later.")

    def validate(self, data):
        customer = data.get("customer") or getattr(self.instance, "customer", None)
        account = data.get("carrier_account")
        if customer is not None and account is not None and account.reseller_id != customer.reseller_id:
            raise serializers.ValidationError({"carrier_account": "That carrier account belongs to another reseller."})
        return data


# ------------------------------------------------------------------ viewsets
@contextmanager
def refusal_is_conflict():
    """A service's refusal of a request that sent no data (a delete, an action) is a 409."""
    try:
        yield
    except DjangoValidationError as exc:
        raise Conflict(" ".join(exc.messages)) from None


class ApiViewSet(viewsets.GenericViewSet):
    model: type | None = None
    select_related: tuple[str, ...] = ()
    prefetch_related: tuple[str, ...] = ()
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    ordering_fields: tuple[str, ...] = ()
    ordering: tuple[str, ...] | None = None
    lookup_value_regex = ID_PATTERN
    # The API field a service refusal that names no field is about (None: the request).
    refusal_field: str | None = None

    @property
    def access(self):
        return self.request.access

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Cache-Control"] = "no-store"  # what one caller may see is for no shared cache
        return response

    def get_object(self):
        obj = self.filter_queryset(self.get_queryset()).filter(pk=self.kwargs["pk"]).first()
        if obj is None:
            raise Http404("Not found.")  # the same answer whether it does not exist or is not yours
        return obj

    def get_queryset(self):
        queryset = self.model.objects.for_request(self.request)
        if self.select_related:
            queryset = queryset.select_related(*self.select_related)
        if self.prefetch_related:
            queryset = queryset.prefetch_related(*self.prefetch_related)
        return queryset

    # -- answering ---------------------------------------------------------------
    def respond(self, obj, status: int = 200, *, serializer_class=None, extra: dict | None = None) -> Response:
        """The object as the caller sees it, with its ETag (and Location, for a 201)."""
        serializer = (serializer_class or self.get_serializer_class())(obj, context=self.get_serializer_context())
        data = serializer.data
        if extra:
            data = {**data, **extra}
        headers = {"ETag": concurrency.etag(concurrency.version_of(obj))}
        if status == 201:
            headers["Location"] = self.request.build_absolute_uri(self.detail_url(obj))
        return Response(data, status=status, headers=headers)

    def detail_url(self, obj) -> str:
        return reverse(f"api:{self.basename}-detail", args=[obj.pk])

    # -- writing -----------------------------------------------------------------
    def write(self, change: Callable, *, lock_pk=None, respond: Callable | None = None, status: int = 200,
              if_match: bool = True) -> Response:
        """Run ``change`` (a service call) in one transaction and answer with its result.

        With ``lock_pk`` the object's row is locked first and ``If-Match`` checked
        against its version (``if_match=False``: ``change`` checks the version of what
        it changes itself); ``change`` then gets the locked object. ``respond`` turns
        the result into the answer (default: the object, read back in scope).
        """
        claim = getattr(self.request, "idempotency_claim", None)

        @service
        def in_one_transaction():
            with transaction.atomic():
                if lock_pk is not None:
                    locked = concurrency.lock(self.get_queryset(), lock_pk)
                    if if_match:
                        concurrency.check_if_match(self.request, concurrency.version_of(locked))
                    result = change(locked)
                else:
                    result = change()
                response = respond(result) if respond is not None else self.respond(self.read_back(result), status)
                if claim is not None and 200 <= response.status_code < 300:
                    claim.complete(response)
                return response

        return in_one_transaction()

    def read_back(self, obj):
        """The written object as the caller may see it now; a write may not move it out of reach."""
        found = self.get_queryset().filter(pk=obj.pk).first()
        if found is None:
            raise PermissionDenied("That change would take the object out of your reach.")
        return found

    def require(self, right: str) -> None:
        rights.require(self.access, right)

    def check_carrier_account_change(self, obj, data: dict) -> None:
        """Only a manager moves an existing object to another carrier account (as on the pages)."""
        new = data.get("carrier_account", obj.carrier_account if isinstance(obj, Provisioned) else None)
        if isinstance(obj, Provisioned) and getattr(new, "pk", None) != obj.carrier_account_id:
            self.require(rights.CHANGE_CARRIER_ACCOUNT)

    def reseller_of(self, carrier_account):
        """The reseller a new object belongs to: the caller's, or (platform admins) its carrier account's."""
        from portal.tenancy.models import Reseller

        if self.access.reseller is not None:
            return self.access.reseller
        if self.access.reseller_id is not None:
            return Reseller.objects.get(pk=self.access.reseller_id)
        if carrier_account is None:
            raise DjangoValidationError(
                {"carrier_account": "Platform admins name the carrier account: the object belongs to its reseller."})
        return Reseller.objects.get(pk=carrier_account.reseller_id)

    # -- the writes of a resource, through its services -----------------------------
    def perform_create(self, data: dict):
        raise NotImplementedError

    def perform_update(self, obj, data: dict):
        raise NotImplementedError

    def perform_destroy(self, obj) -> None:
        raise NotImplementedError

    def check_update(self, obj, data: dict) -> None:
        """Rights a change needs beyond provisioning (raise PermissionDenied)."""
        self.check_carrier_account_change(obj, data)


class CustomerServiceMixin:
    """The viewset of something a customer has: it stays with its customer."""

    def check_update(self, obj, data):
        super().check_update(obj, data)
        if "customer" in data and data["customer"].pk != obj.customer_id:
            name = obj._meta.verbose_name
            raise DjangoValidationError({"customer": f"A {name} stays with its customer: add a new one there."})

    def changes(self, data: dict) -> dict:
        return {name: value for name, value in data.items() if name != "customer"}


class ReadMixin:
    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        serializer = self.get_serializer(page, many=True)
        return self.get_paginated_response(serializer.data)

    def retrieve(self, request, *args, **kwargs):
        return self.respond(self.get_object())


class CreateMixin:
    @idempotent
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self.write(lambda: self.perform_create(serializer.validated_data), status=201)


class UpdateMixin:
    def update(self, request, *args, partial: bool = False, **kwargs):
        obj = self.get_object()
        serializer = self.get_serializer(obj, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)

        def change(locked):
            self.check_update(locked, serializer.validated_data)
            return self.perform_update(locked, serializer.validated_data)

        return self.write(change, lock_pk=obj.pk)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)


class DestroyMixin:
    def destroy(self, request, *args, **kwargs):
        obj = self.get_object()

        def change(locked):
            with refusal_is_conflict():
                self.perform_destroy(locked)

        return self.write(change, lock_pk=obj.pk, respond=lambda _: Response(status=204))


