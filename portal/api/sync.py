"""Sync jobs (read, retry), drift (read, resolve) and "sync now" for every provisioned object."""

from __future__ import annotations

import django_filters
from django.db.models import Q
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from portal.sync.filters import SyncJobFilterSet
from portal.sync.models import Drift, DriftKind, ErrorKind, Resolution, SyncJob
from portal.sync.operations import retry_job, sync_now
from portal.sync.reconcile import ADOPT, PUSH, DriftResolutionError, resolve
from portal.ui.filtersets import carrier_accounts

from .base import ApiSerializer, ApiViewSet, ReadMixin, refusal_is_conflict
from .concurrency import check_if_match, version_of
from .errors import error_body
from .idempotency import idempotent
from .schema import errors_for


# ------------------------------------------------------------------ sync jobs
class SyncJobSerializer(serializers.ModelSerializer):
    caused_by = serializers.SlugRelatedField(slug_field="email", read_only=True, allow_null=True,
                                             help_text="Whose change it carries (null: the system's).")
    error_kind = serializers.ChoiceField(choices=ErrorKind.choices, allow_blank=True, read_only=True,
                                         help_text="Why a queued job waits, or permanent for a refusal; empty: none.")

    class Meta:
        model = SyncJob
        fields = ["id", "object_kind", "object_id", "object_repr", "operation", "state", "attempts",
                  "next_attempt_at", "last_error", "error_kind", "carrier_account", "customer", "caused_by",
                  "created_at", "started_at", "finished_at"]
        read_only_fields = fields


class SyncJobViewSet(ReadMixin, ApiViewSet):
    """The outbox: every change on its way to a carrier, and what the carrier answered."""

    model = SyncJob
    serializer_class = SyncJobSerializer
    filterset_class = SyncJobFilterSet
    select_related = ("caused_by",)
    ordering_fields = ("created_at", "next_attempt_at", "finished_at")
    ordering = ("-created_at", "-pk")

    @extend_schema(request=None, responses={200: SyncJobSerializer, **errors_for(404, 409)},
                   summary="Send a failed job to the carrier again",
                   description="Only a failed job can be retried (409 otherwise). It carries the object's latest "
                               "state; its attempts are counted afresh.")
    @action(detail=True, methods=["post"])
    @idempotent
    def retry(self, request, pk=None):
        job = self.get_object()
        check_if_match(request, version_of(job))

        def change():
            # Not locked here: retry_job takes the object's rows before the job's, the
            # order every writer keeps (docs/sync.md), and refuses a job that changed.
            with refusal_is_conflict():
                return retry_job(job, actor=request.user)

        return self.write(change)


class SyncNowMixin:
    """``POST …/{id}/sync/``: send the object to its carrier again as the portal has it."""

    @extend_schema(request=None, responses={202: SyncJobSerializer(many=True), **errors_for(404, 409)},
                   summary="Sync now", description="Queues a push of the object as the portal holds it; answers "
                   "with the sync jobs queued (none when it is on no carrier account).")
    @action(detail=True, methods=["post"], pagination_class=None)
    @idempotent
    def sync(self, request, pk=None):
        def change(obj):
            with refusal_is_conflict():
                return sync_now([obj], actor=request.user)

        def respond(jobs):
            return Response(SyncJobSerializer(jobs, many=True).data, status=202)

        return self.write(change, lock_pk=self.get_object().pk, respond=respond)


# ------------------------------------------------------------------ drift
class DriftFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search the label or the carrier's id")
    open = django_filters.BooleanFilter(method="filter_open", label="Open (not resolved yet)")
    kind = django_filters.ChoiceFilter(choices=DriftKind.choices)
    object_kind = django_filters.CharFilter()
    carrier_account = django_filters.ModelChoiceFilter(queryset=carrier_accounts)
    resolution = django_filters.ChoiceFilter(choices=Resolution.choices)

    class Meta:
        model = Drift
        fields = ["q", "open", "kind", "object_kind", "carrier_account", "resolution"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(label__icontains=value) | Q(remote_id=value))

    def filter_open(self, queryset, name, value):
        return queryset.filter(resolved_at__isnull=value)


class DriftSerializer(ApiSerializer):
    resolved_by = serializers.SlugRelatedField(slug_field="email", read_only=True, allow_null=True)
    resolution = serializers.ChoiceField(choices=Resolution.choices, allow_blank=True, read_only=True,
                                         help_text="How it was resolved; empty while open.")
    diff = serializers.DictField(read_only=True, help_text="Each field that differs: [ours, theirs].")
    theirs = serializers.DictField(read_only=True, help_text="Everything the carrier said about the object.")

    class Meta:
        model = Drift
        fields = ["id", "carrier_account", "kind", "object_kind", "object_id", "remote_id", "label", "diff",
                  "theirs", "detected_at", "resolution", "resolved_at", "resolved_by", "resolution_error",
                  "sync_job", "version"]
        read_only_fields = fields


class ResolveSerializer(serializers.Serializer):
    how = serializers.ChoiceField(choices=[(PUSH, "Push ours to the carrier"), (ADOPT, "Adopt the carrier's values")])
    delete_unknown = serializers.BooleanField(
        default=False, help_text="Pushing an object only the carrier has deletes it there: say so explicitly.")


class DriftViewSet(ReadMixin, ApiViewSet):
    """What reconciliation found different between the portal and a carrier account."""

    model = Drift
    serializer_class = DriftSerializer
    filterset_class = DriftFilterSet
    select_related = ("resolved_by",)
    ordering_fields = ("detected_at", "resolved_at")
    ordering = ("-detected_at", "pk")

    @extend_schema(request=ResolveSerializer, responses={200: DriftSerializer, **errors_for(400, 404, 409)},
                   summary="Resolve: push ours or adopt theirs",
                   description="Push ours queues a sync job; adopt theirs writes the carrier's values through the "
                               "services (audited, nothing queued). A drift item that cannot be resolved that way "
                               "answers 409 with the reason, which is also kept on the item.")
    @action(detail=True, methods=["post"])
    @idempotent
    def resolve(self, request, pk=None):
        drift = self.get_object()
        check_if_match(request, version_of(drift))
        form = ResolveSerializer(data=request.data)
        form.is_valid(raise_exception=True)

        def change():
            # A refusal is answered, not raised: the reason it keeps on the item is committed.
            try:
                return resolve(drift, form.validated_data["how"], actor=request.user,
                               delete_unknown=form.validated_data["delete_unknown"])
            except DriftResolutionError as exc:
                return exc

        def respond(outcome):
            if isinstance(outcome, DriftResolutionError):
                return Response(error_body("conflict", str(outcome)), status=409)
            return self.respond(self.read_back(outcome))

        return self.write(change, respond=respond)
