"""Call forwards: an owner's whole set (``/subscribers/{id}/forwards/``, ``/numbers/{id}/forwards/``)
and each forward on its own (``/forwards/``).

Every write ends in ``forwards.services.set_forwards``, which writes an owner's whole set at
once (the carrier is sent the set): a change to one forward is the owner's current set
with that forward changed. The owner's row is locked first, so two writers of one set
are serialised and ``If-Match`` is checked against what the set (or the forward) is now.
"""

from __future__ import annotations

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from portal.customers.models import Customer
from portal.forwards.models import MAX_DESTINATIONS, MAX_RING_TIMEOUT, MIN_RING_TIMEOUT, CallForward, ForwardType
from portal.forwards.services import ForwardInput, WindowInput, current_forwards, set_forwards
from portal.numbers.models import Number
from portal.subscribers.filtersets import customers
from portal.subscribers.models import Subscriber
from portal.sync.models import SyncState
from portal.ui.filtersets import PortalFilterSet

from . import concurrency
from .base import ApiViewSet, ProvisionedSerializer, ReadMixin, ScopedRelatedField
from .idempotency import idempotent
from .schema import errors_for

OWNERS = {"subscriber": Subscriber, "number": Number}


# ------------------------------------------------------------------ shapes
class DestinationSerializer(serializers.Serializer):
    target = serializers.CharField(max_length=255, help_text="+44… or sip:user@host.")
    timeout = serializers.IntegerField(min_value=MIN_RING_TIMEOUT, max_value=MAX_RING_TIMEOUT, default=20,
                                       help_text="Seconds it rings before the next destination.")


class WindowSerializer(serializers.Serializer):
    weekdays = serializers.ListField(child=serializers.IntegerField(min_value=0, max_value=6), min_length=1,
                                     max_length=7, help_text="0 = Monday … 6 = Sunday.")
    start = serializers.TimeField(help_text="HH:MM")
    end = serializers.TimeField(help_text="HH:MM, after start.")
    timezone = serializers.CharField(max_length=64, default="Europe/London")


class ForwardContentSerializer(serializers.Serializer):
    """What a forward is: when it applies and where calls go, in order."""

    type = serializers.ChoiceField(choices=ForwardType.choices)
    enabled = serializers.BooleanField(default=True)
    destinations = DestinationSerializer(many=True, max_length=MAX_DESTINATIONS, required=False, default=list)
    windows = WindowSerializer(many=True, max_length=20, required=False, default=list,
                               help_text="When it applies (none: always).")


class ForwardSetInputSerializer(serializers.Serializer):
    forwards = ForwardContentSerializer(many=True, max_length=len(ForwardType.values),
                                        help_text="The whole set: a type left out is removed.")


class ForwardSerializer(ProvisionedSerializer):
    owner = serializers.SerializerMethodField(help_text="subscriber or number.")
    destinations = DestinationSerializer(many=True, read_only=True)
    windows = WindowSerializer(many=True, read_only=True)

    class Meta:
        model = CallForward
        fields = ["id", "owner", "subscriber", "number", "type", "enabled", "destinations", "windows",
                  *ProvisionedSerializer.SYNC_FIELDS, "created_at", "updated_at", "version"]
        read_only_fields = fields

    def get_owner(self, forward) -> str:
        return forward.owner_kind

    def get_version(self, forward) -> str:
        return forward_version(forward)


class ForwardWriteSerializer(ForwardContentSerializer):
    subscriber = ScopedRelatedField(queryset=Subscriber.objects.all(), required=False, allow_null=True,
                                    help_text="The SIP account it belongs to (or give number).")
    number = ScopedRelatedField(queryset=Number.objects.all(), required=False, allow_null=True,
                                help_text="The number it belongs to (or give subscriber).")

    def validate(self, data):
        if self.instance is None and bool(data.get("subscriber")) == bool(data.get("number")):
            raise serializers.ValidationError("Give the forward's owner: a subscriber or a number (one of them).")
        return data


class ForwardSetSerializer(serializers.Serializer):
    owner = serializers.CharField(help_text="subscriber or number.")
    owner_id = serializers.IntegerField()
    sync_state = serializers.ChoiceField(choices=SyncState.choices, allow_blank=True,
                                         help_text="Of the set at the carrier (empty: no forwards).")
    sync_error = serializers.CharField(allow_blank=True)
    forwards = ForwardSerializer(many=True)
    version = serializers.CharField(help_text="The set's version; its ETag.")


# ------------------------------------------------------------------ versions and inputs
def forward_version(forward) -> str:
    return concurrency.digest([
        concurrency.version_of(forward),
        [(d.target, d.timeout) for d in forward.destinations.all()],
        [(w.weekdays, str(w.start), str(w.end), w.timezone) for w in forward.windows.all()],
    ])


def set_version(forwards) -> str:
    return concurrency.digest(sorted((f.type, forward_version(f)) for f in forwards))


def to_input(data: dict) -> ForwardInput:
    return ForwardInput(
        data["type"], data["enabled"], [(d["target"], d["timeout"]) for d in data.get("destinations", [])],
        [WindowInput(list(w["weekdays"]), w["start"], w["end"], w["timezone"]) for w in data.get("windows", [])],
    )


def forwards_of(owner):
    kind = "subscriber" if isinstance(owner, Subscriber) else "number"
    return list(CallForward.objects.filter(**{kind: owner}).prefetch_related("destinations", "windows")
                .order_by("type"))


def set_body(owner, forwards, context) -> dict:
    states = {f.sync_state for f in forwards}
    state = next((s for s in (SyncState.ERROR, SyncState.SYNCING, SyncState.PENDING) if s in states),
                 SyncState.SYNCED if forwards else "")
    return {
        "owner": "subscriber" if isinstance(owner, Subscriber) else "number",
        "owner_id": owner.pk,
        "sync_state": state,
        "sync_error": next((f.sync_error for f in forwards if f.sync_error), ""),
        "forwards": ForwardSerializer(forwards, many=True, context=context).data,
        "version": set_version(forwards),
    }


def respond_set(owner, context) -> Response:
    forwards = forwards_of(owner)
    response = Response(set_body(owner, forwards, context))
    response["ETag"] = concurrency.etag(set_version(forwards))
    return response


# ------------------------------------------------------------------ an owner's set
SET_EXAMPLE = OpenApiExample("Busy or unanswered: the mobile, then voicemail", request_only=True, value={
    "forwards": [
        {"type": "busy", "enabled": True, "destinations": [{"target": "+447911123456", "timeout": 20}]},
        {"type": "no_answer", "enabled": True, "destinations": [{"target": "+447911123456", "timeout": 20},
                                                                {"target": "sip:voicemail@pbx.example.com",
                                                                 "timeout": 30}],
         "windows": [{"weekdays": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:30",
                      "timezone": "Europe/London"}]},
    ]})


class OwnerForwardsMixin:
    """``GET``/``PUT …/{id}/forwards/``: the owner's whole set of forwards at once."""

    @extend_schema(methods=["GET"], summary="Its call forwards", responses={200: ForwardSetSerializer})
    @extend_schema(methods=["PUT"], summary="Set its call forwards (the whole set)",
                   request=ForwardSetInputSerializer, responses={200: ForwardSetSerializer, **errors_for(400, 412)},
                   examples=[SET_EXAMPLE],
                   description="Replaces the set: a type left out is removed. Only what the owner's carrier can "
                               "hold is accepted (400 with the carrier's limits otherwise, never dropped).")
    @action(detail=True, methods=["get", "put"], url_path="forwards")
    def forwards(self, request, pk=None):
        owner = self.get_object()
        if request.method == "GET":
            return respond_set(owner, self.get_serializer_context())
        form = ForwardSetInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        self.refusal_field = "forwards"  # the forward service's messages are about the set

        def change(locked):
            concurrency.check_if_match(request, set_version(forwards_of(locked)))
            set_forwards(locked, [to_input(item) for item in form.validated_data["forwards"]], actor=request.user)
            return locked

        return self.write(change, lock_pk=owner.pk, if_match=False,
                          respond=lambda locked: respond_set(locked, self.get_serializer_context()))


# ------------------------------------------------------------------ each forward
class ForwardFilterSet(PortalFilterSet):
    subscriber = django_filters.ModelChoiceFilter(queryset=lambda request: Subscriber.objects.for_request(request))
    number = django_filters.ModelChoiceFilter(queryset=lambda request: Number.objects.for_request(request))
    customer = django_filters.ModelChoiceFilter(queryset=customers, method="filter_customer")
    type = django_filters.ChoiceFilter(choices=ForwardType.choices)
    enabled = django_filters.BooleanFilter()

    search_hint = "A destination, a SIP username or a number"

    class Meta:
        model = CallForward
        fields = ["q", "subscriber", "number", "customer", "type", "enabled", "sync_state"]

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(
            Q(destinations__target__icontains=value) | Q(subscriber__username__icontains=value)
            | Q(number__e164__contains=value)
        ).distinct()

    def filter_customer(self, queryset, name, value: Customer):
        return queryset.filter(Q(subscriber__customer=value) | Q(number__customer=value))


@extend_schema_view(
    list=extend_schema(summary="List call forwards", description="Every forward you may see, of SIP accounts and "
                       "numbers; the sets are also at /subscribers/{id}/forwards/ and /numbers/{id}/forwards/."),
    create=extend_schema(summary="Add a call forward", request=ForwardWriteSerializer,
                         responses={201: ForwardSerializer},
                         description="Adds one forward to its owner's set (an owner has one forward per type)."),
    retrieve=extend_schema(summary="A call forward"),
    update=extend_schema(summary="Change a call forward (all fields)", request=ForwardContentSerializer),
    partial_update=extend_schema(summary="Change some of a call forward's fields", request=ForwardContentSerializer),
    destroy=extend_schema(summary="Remove a call forward"),
)
class ForwardViewSet(ReadMixin, ApiViewSet):
    model = CallForward
    serializer_class = ForwardSerializer
    filterset_class = ForwardFilterSet
    prefetch_related = ("destinations", "windows")
    ordering_fields = ("type", "created_at", "updated_at")
    ordering = ("pk",)

    def write_set(self, owner_model, owner_pk, edit, *, forward_pk=None, status=200):
        """Change the owner's set with ``edit(inputs) -> (inputs, type)``; answer with the forward of that type."""

        def change(owner):
            if forward_pk is not None:
                forward = next((f for f in forwards_of(owner) if f.pk == forward_pk), None)
                if forward is None:
                    raise Http404("Not found.")  # gone with a change of its set meanwhile
                concurrency.check_if_match(self.request, forward_version(forward))
            inputs, kept_type = edit(current_forwards(owner))
            set_forwards(owner, inputs, actor=self.request.user)
            return owner, kept_type

        def respond(result):
            owner, kept_type = result
            if kept_type is None:
                return Response(status=204)
            kind = "subscriber" if owner_model is Subscriber else "number"
            forward = self.get_queryset().filter(**{kind: owner, "type": kept_type}).first()
            if forward is None:
                raise Http404("Not found.")
            return self.respond(forward, status)

        owners = owner_model.objects.for_request(self.request)
        return self.write(lambda: change(concurrency.lock(owners, owner_pk)), respond=respond)

    def respond(self, obj, status=200, **kwargs):
        response = super().respond(obj, status, **kwargs)
        response["ETag"] = concurrency.etag(forward_version(obj))
        return response

    @idempotent
    def create(self, request, *args, **kwargs):
        form = ForwardWriteSerializer(data=request.data, context=self.get_serializer_context())
        form.is_valid(raise_exception=True)
        data = form.validated_data
        owner = data.get("subscriber") or data["number"]
        new = to_input(data)

        def edit(inputs):
            if any(item.type == new.type for item in inputs):
                raise ValidationError({"type": f"{owner} already has a forward of this type: change that one."})
            return [*inputs, new], new.type

        return self.write_set(type(owner), owner.pk, edit, status=201)

    def update(self, request, *args, partial: bool = False, **kwargs):
        forward = self.get_object()
        form = ForwardContentSerializer(data=request.data, partial=partial)
        form.is_valid(raise_exception=True)
        changes = form.validated_data

        def edit(inputs):
            old = next((item for item in inputs if item.type == forward.type), None)
            if old is None:
                raise Http404("Not found.")
            merged = {"type": old.type, "enabled": old.enabled,
                      "destinations": [{"target": t, "timeout": s} for t, s in old.destinations],
                      "windows": [vars(w) for w in old.windows], **changes}
            new = to_input(merged)
            if new.type != old.type and any(item.type == new.type for item in inputs):
                raise ValidationError({"type": "The owner already has a forward of this type."})
            return [new if item is old else item for item in inputs], new.type

        return self.write_set(type(forward.owner), forward.owner.pk, edit, forward_pk=forward.pk)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request, *args, **kwargs):
        forward = self.get_object()

        def edit(inputs):
            return [item for item in inputs if item.type != forward.type], None

        return self.write_set(type(forward.owner), forward.owner.pk, edit, forward_pk=forward.pk)
