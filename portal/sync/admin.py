"""Sync jobs and drift in the admin: read-only, scoped like every admin page; jobs can be retried."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.text import Truncator

from portal.core.admin import ScopedAdmin

from .models import Drift, JobOperation, JobState, SyncJob
from .objects import KINDS
from .operations import retry_job
from .reconcile import DriftResolutionError, resolve


class ReadOnlyAdmin(ScopedAdmin):
    """Records the sync engine keeps: people look at them and act through actions, never edit them."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def object_change_url(kind: str, object_id: int | None) -> str | None:
    """The admin page of the object a job or drift names (forwards: their owner's)."""
    synced = KINDS.get(kind)
    if synced is None or not object_id:
        return None
    opts = synced.model._meta
    try:
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[object_id])
    except NoReverseMatch:
        return None


@admin.register(SyncJob)
class SyncJobAdmin(ReadOnlyAdmin):
    list_display = [
        "object_link",
        "object_kind",
        "operation",
        "state_badge",
        "attempts",
        "next_attempt_at",
        "last_error_short",
        "error_kind",
        "carrier_account",
        "caused_by",
        "created_at",
    ]
    list_filter = [
        "state",
        "operation",
        "object_kind",
        "error_kind",
        ("carrier_account", admin.RelatedOnlyFieldListFilter),
    ]
    list_select_related = ["carrier_account", "caused_by"]
    search_fields = ["object_repr", "last_error"]
    date_hierarchy = "created_at"
    actions = ["retry"]

    @admin.display(description="object", ordering="object_repr")
    def object_link(self, job):
        # A delete job's object is gone: its name is all there is.
        url = object_change_url(job.object_kind, job.object_id) if job.operation == JobOperation.PUSH else None
        return format_html('<a href="{}">{}</a>', url, job.object_repr) if url else job.object_repr

    @admin.display(description="state", ordering="state")
    def state_badge(self, job):
        return format_html('<span class="sync-badge job-{}">{}</span>', job.state, job.get_state_display())

    @admin.display(description="last error", ordering="last_error")
    def last_error_short(self, job):
        if not job.last_error:
            return "—"
        return format_html('<span title="{}">{}</span>', job.last_error, Truncator(job.last_error).chars(120))

    def has_retry_permission(self, request):
        return self.may_use(request)

    @admin.action(description="Retry the selected failed jobs", permissions=["retry"])
    def retry(self, request, queryset):
        failed = list(queryset.filter(state=JobState.FAILED))
        skipped = queryset.count() - len(failed)
        retried = 0
        for job in failed:
            try:
                retry_job(job, actor=request.user)
            except ValidationError as exc:
                self.message_user(request, f"{job.object_repr}: not retried. {' '.join(exc.messages)}", messages.ERROR)
            else:
                retried += 1
        self.message_user(request, f"Queued {retried} job{'s' if retried != 1 else ''} again.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request, f"{skipped} of the selected jobs had not failed: left as they are.", messages.WARNING
            )


@admin.register(Drift)
class DriftAdmin(ReadOnlyAdmin):
    list_display = [
        "object_link",
        "kind",
        "object_kind",
        "remote_id",
        "difference",
        "carrier_account",
        "detected_at",
        "resolution",
        "resolution_error",
        "resolved_at",
    ]
    list_filter = ["kind", "object_kind", "resolution", ("carrier_account", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["carrier_account"]
    search_fields = ["label", "remote_id"]
    date_hierarchy = "detected_at"
    actions = ["push_ours", "adopt_theirs"]

    @admin.display(description="difference (ours → theirs)")
    def difference(self, drift):
        if not drift.diff:
            return "—"
        return "; ".join(f"{field}: {ours!r} → {theirs!r}" for field, (ours, theirs) in drift.diff.items())

    def has_resolve_permission(self, request):
        return self.may_use(request)

    def _resolve(self, request, queryset, how: str) -> None:
        resolved = 0
        for drift in queryset.filter(resolved_at__isnull=True).select_related("carrier_account"):
            try:
                resolve(drift, how, actor=request.user)
            except DriftResolutionError as exc:
                self.message_user(request, f"{drift.label}: not resolved. {exc}", messages.ERROR)
            else:
                resolved += 1
        self.message_user(request, f"Resolved {resolved} drift item{'s' if resolved != 1 else ''}.", messages.SUCCESS)

    @admin.action(description="Push ours to the carrier", permissions=["resolve"])
    def push_ours(self, request, queryset):
        self._resolve(request, queryset, "push")

    @admin.action(description="Adopt the carrier's values", permissions=["resolve"])
    def adopt_theirs(self, request, queryset):
        self._resolve(request, queryset, "adopt")

    @admin.display(description="object", ordering="label")
    def object_link(self, drift):
        url = object_change_url(drift.object_kind, drift.object_id)
        return format_html('<a href="{}">{}</a>', url, drift.label) if url else drift.label
