"""Staff pages of the sync engine, on the generic staff views (portal/ui).

* Sync activity: every job with filters, the carrier's words, bulk retry and cancel, and
  one job's whole story (each attempt and the requests it sent).
* Drift: what reconciliation found per carrier account, side by side, resolved one item
  or many at a time ("push ours" / "adopt theirs"), and "reconcile now" with its progress.
* Import of an existing carrier account: preview, map to customers, import, report.

Every view starts from ``for_request`` (out of scope: 404); writes go through
``operations`` and ``reconcile`` only.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from portal.tenancy.permissions import staff_required
from portal.ui import rights
from portal.ui.views import (
    Action,
    BulkActionView,
    ObjectActionView,
    ObjectDetailView,
    ObjectListView,
    Tab,
    client_redirect,
)

from .filters import SyncJobFilterSet, kind_label
from .models import JobOperation, JobState, SyncJob
from .objects import KIND_OF_MODEL, KINDS
from .operations import cancel_job, retry_job
from .tables import SyncJobTable

# The objects whose sync status a page may poll, by the name used in its URL.
STATUS_MODELS = {kind: model for model, kind in KIND_OF_MODEL.items()}


# ------------------------------------------------------------------ where an object lives
def object_url(kind: str, object_id: int | None) -> str:
    """The staff page of a job's or drift item's object (forwards: its owner's tab), or ""."""
    if not object_id:
        return ""
    owner = kind.removesuffix("_forwards")
    model = KINDS[owner].model if owner in KINDS else None
    if model is None:
        return ""
    try:
        url = reverse(f"{model._meta.model_name}_detail", args=[object_id])
    except NoReverseMatch:
        return ""
    return url + ("forwards/" if kind.endswith("_forwards") else "")


def object_links(request, items) -> dict[tuple[str, int], str]:
    """For jobs or drift items, the page of each object that still exists: one query per kind."""
    wanted: dict[str, set[int]] = {}
    for item in items:
        if item.object_id:
            wanted.setdefault(item.object_kind.removesuffix("_forwards"), set()).add(item.object_id)
    links = {}
    for owner, ids in wanted.items():
        if owner not in KINDS:
            continue
        present = set(KINDS[owner].model.objects.for_request(request).filter(pk__in=ids).values_list("pk", flat=True))
        for item in items:
            if item.object_id in present and item.object_kind.removesuffix("_forwards") == owner:
                links[(item.object_kind, item.object_id)] = object_url(item.object_kind, item.object_id)
    return links


# --------------------------------------------------------------------------- sync jobs
def _account_words(job) -> str:
    return f"{job.carrier_account.name} ({job.carrier_account.get_kind_display()})"


def _retry_consequence(job) -> str:
    return (f"The job goes back in the queue with its attempts counted afresh, and sends {job.object_repr} "
            f"as the portal has it now to {_account_words(job)}.")


def _cancel_consequence(job) -> str:
    if job.operation == JobOperation.DELETE:
        return (f"The delete of {job.object_repr} is not sent: {_account_words(job)} keeps it (and may go on "
                "charging for it). The next reconciliation shows it as unknown to the portal.")
    return (f"The change to {job.object_repr} is not sent to {_account_words(job)}. The portal keeps its values and "
            "marks the object as not in sync, until someone sends it with “Sync now”.")


JOB_ACTIONS = [
    Action("retry", "Retry", lambda job, actor: retry_job(job, actor), _retry_consequence,
           done="{obj}: queued again.", applies=lambda job: job.state == JobState.FAILED),
    Action("cancel", "Cancel", lambda job, actor: cancel_job(job, actor), _cancel_consequence,
           done="{obj}: cancelled.", danger=True, applies=lambda job: job.state == JobState.QUEUED),
]


class SyncJobViewMixin:
    model = SyncJob

    def verbose_name(self):
        return "sync job"

    def verbose_name_plural(self):
        return "sync jobs"

    def base_queryset(self):
        return SyncJob.objects.for_request(self.request).select_related("carrier_account", "caused_by")


class SyncJobListView(SyncJobViewMixin, ObjectListView):
    filterset_class = SyncJobFilterSet
    table_class = SyncJobTable
    actions = JOB_ACTIONS
    list_url_name = "sync_job_list"
    bulk_url_name = "sync_job_bulk"
    title = "Sync activity"
    intro = ("Every change sent to a carrier, newest first. A failed job keeps the carrier's own words: fix the cause, "
             "then retry it. A queued job can be cancelled before it is sent.")
    empty_text = "No sync jobs yet. They appear here as changes are sent to your carriers."

    def get_queryset(self):
        # The list never shows the payload or the story: leave the big JSON columns behind.
        return self.base_queryset().defer("payload", "attempt_log")


class SyncJobBulkView(SyncJobViewMixin, BulkActionView):
    actions = JOB_ACTIONS
    list_url_name = "sync_job_list"


class SyncJobDetailView(SyncJobViewMixin, ObjectDetailView):
    template_name = "sync/job_detail.html"
    url_name = "sync_job_detail"
    list_url_name = "sync_job_list"
    actions = JOB_ACTIONS
    tabs = [Tab("story", "Story", "sync/_job_story.html")]

    def extra_context(self, job):
        links = object_links(self.request, [job])
        customer_url = reverse("customer_detail", args=[job.customer_id]) if job.customer_id else ""
        return {
            "title": f"Sync job {job.pk}: {job.get_operation_display().lower()} {job.object_repr}",
            "kind_label": kind_label(job.object_kind),
            "object_link": links.get((job.object_kind, job.object_id), ""),
            "customer_url": customer_url,
            "attempts_story": list(reversed(job.attempt_log or [])),
        }


class SyncJobActionView(SyncJobViewMixin, ObjectActionView):
    actions = JOB_ACTIONS
    detail_url_name = "sync_job_detail"
    list_url_name = "sync_job_list"


@require_POST
@staff_required
def job_retry(request, pk: int):
    """Retry one failed job from another page (a customer's refused deletes) and go back there."""
    job = get_object_or_404(SyncJob.objects.for_request(request), pk=pk)
    rights.require(request.access, rights.PROVISION)
    try:
        retry_job(job, actor=request.user)
    except ValidationError as exc:
        messages.error(request, f"{job.object_repr}: not retried. {' '.join(exc.messages)}")
    else:
        messages.success(request, f"{job.object_repr}: queued again.")
    back = request.POST.get("next", "")
    if not (back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()})):
        back = reverse("sync_job_list")
    return client_redirect(request, back)


@login_required
def object_status(request, kind: str, pk: int):
    """An object's sync badge and error, for pages that poll it until it is final."""
    model = STATUS_MODELS.get(kind)
    if model is None:
        raise Http404("No such kind of object.")
    obj = get_object_or_404(model.objects.for_request(request), pk=pk)
    return render(request, "sync/_live_status.html", {"object": obj})
