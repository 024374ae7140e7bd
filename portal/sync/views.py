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

import time

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from portal.carriers.models import CarrierAccount
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
    htmx_partial,
)

from .filters import DriftFilterSet, SyncJobFilterSet, kind_label
from .models import Drift, DriftKind, JobOperation, JobState, ReconcileRun, RunState, SyncJob
from .objects import KIND_OF_MODEL, KINDS, PUSHED_AS
from .operations import cancel_job, retry_job
from .reconcile import ADOPT, PUSH, DriftResolutionError, resolve
from .tables import DriftTable, SyncJobTable


def status_model(name: str):
    """The model whose objects' sync status a page may poll, by its name in the URL: every
    synced kind's model, and the models pushed as part of another object (call forwards)."""
    return next((model for model in (*KIND_OF_MODEL, *PUSHED_AS) if model._meta.model_name == name), None)


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


def attach_object_pages(request, items) -> list:
    """Give each job or drift item ``object_page``: the page of its object if it still exists
    and the request may see it, else "". One query per kind of object."""
    wanted: dict[str, set[int]] = {}
    for item in items:
        item.object_page = ""
        if item.object_id:
            wanted.setdefault(item.object_kind.removesuffix("_forwards"), set()).add(item.object_id)
    for owner, ids in wanted.items():
        if owner not in KINDS:
            continue
        present = set(KINDS[owner].model.objects.for_request(request).filter(pk__in=ids).values_list("pk", flat=True))
        for item in items:
            if item.object_id in present and item.object_kind.removesuffix("_forwards") == owner:
                item.object_page = object_url(item.object_kind, item.object_id)
    return items


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
    subnav = "sync/_sync_nav.html"
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
        attach_object_pages(self.request, [job])
        customer_url = reverse("customer_detail", args=[job.customer_id]) if job.customer_id else ""
        return {
            "title": f"Sync job {job.pk}: {job.get_operation_display().lower()} {job.object_repr}",
            "kind_label": kind_label(job.object_kind),
            "object_link": job.object_page,
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
    model = status_model(kind)
    if model is None:
        raise Http404("No such kind of object.")
    obj = get_object_or_404(model.objects.for_request(request), pk=pk)
    return render(request, "sync/_live_status.html", {"object": obj})


# ------------------------------------------------------------------------------- drift
def _drift_words(drift) -> str:
    return f"{drift.carrier_account.name} ({drift.carrier_account.get_kind_display()})"


def _fields(drift) -> str:
    return ", ".join(field.replace("_", " ") for field in drift.diff) or "its fields"


def _push_consequence(drift) -> str:
    if drift.kind == DriftKind.MISSING_REMOTE:
        return f"The portal sends {drift.label} to {_drift_words(drift)} again, which creates it there."
    return f"The portal's {_fields(drift)} of {drift.label} are sent to {_drift_words(drift)}, replacing the carrier's."


def _adopt_consequence(drift) -> str:
    if drift.kind == DriftKind.MISSING_REMOTE:
        return (f"{_drift_words(drift)} no longer has {drift.label}, and the portal lets it go too: it is deleted from "
                "the portal (a number is marked released). Nothing is sent to the carrier.")
    if drift.kind == DriftKind.UNKNOWN_LOCAL:
        return (f"{drift.label} is imported into the portal as {_drift_words(drift)} holds it: linked, in sync, "
                "nothing sent back.")
    return (f"The carrier's {_fields(drift)} of {drift.label} are written into the portal (recorded in its history). "
            "Nothing is sent back.")


def _delete_remote_consequence(drift) -> str:
    return (f"{drift.label} is deleted at {_drift_words(drift)}, where it is the only copy: the portal never had it. "
            "This cannot be undone.")


def _resolver(how: str, **options):
    def run(drift, actor):
        try:
            return resolve(drift, how, actor=actor, **options)
        except DriftResolutionError as exc:
            raise ValidationError(str(exc)) from None

    return run


DRIFT_ACTIONS = [
    Action("push", "Push ours", _resolver(PUSH), _push_consequence, done="{obj}: the portal's side is on its way.",
           applies=lambda d: d.is_open and d.kind != DriftKind.UNKNOWN_LOCAL),
    Action("adopt", "Adopt theirs", _resolver(ADOPT), _adopt_consequence, done="{obj}: the carrier's side adopted.",
           applies=lambda d: d.is_open),
    Action("delete-remote", "Delete at the carrier", _resolver(PUSH, delete_unknown=True), _delete_remote_consequence,
           done="{obj}: the delete is on its way to the carrier.", danger=True,
           applies=lambda d: d.is_open and d.kind == DriftKind.UNKNOWN_LOCAL),
]


class DriftViewMixin:
    model = Drift

    def verbose_name(self):
        return "difference"

    def verbose_name_plural(self):
        return "differences"

    def base_queryset(self):
        return Drift.objects.for_request(self.request).select_related("carrier_account", "resolved_by")


def _account_or_404(request, pk: int) -> CarrierAccount:
    return get_object_or_404(CarrierAccount.objects.for_request(request), pk=pk)


def _run_context(request, account) -> dict:
    """The account's last run, the one running, and whether a run asked for just now
    (``?since=<time of the request>``) has yet to start: the progress box polls until it ends."""
    runs = ReconcileRun.objects.filter(carrier_account=account).select_related("started_by")
    last_run, running = runs.first(), runs.filter(state=RunState.RUNNING).first()
    since = request.GET.get("since", "")
    asked = since.isdigit() and time.time() - int(since) < RECONCILE_START_WAIT
    started_since = last_run is not None and since.isdigit() and last_run.started_at.timestamp() >= int(since) - 1
    return {"account": account, "last_run": last_run, "running": running, "since": since,
            "waiting": asked and not started_since and running is None}


class DriftListView(DriftViewMixin, ObjectListView):
    filterset_class = DriftFilterSet
    table_class = DriftTable
    template_name = "sync/drift_list.html"
    actions = DRIFT_ACTIONS
    list_url_name = "drift_list"
    bulk_url_name = "drift_bulk"
    empty_text = "No differences: the carrier holds what the portal shows."

    def get_queryset(self):
        return self.base_queryset().filter(carrier_account=self.account_obj).defer("theirs")

    def bulk_actions(self):
        return [a for a in super().bulk_actions() if a.name != "delete-remote"]

    def get(self, request, *args, **kwargs):
        self.account_obj = _account_or_404(request, kwargs["account"])
        context = self.results(request, url=reverse("drift_list", args=[self.account_obj.pk]))
        if request.GET.get("export") == "csv":
            from portal.ui.views import csv_response

            return csv_response(context["table"], "drift")
        context.update(_run_context(request, self.account_obj))
        context.update(
            title=f"Drift: {self.account_obj.name}", intro="",
            counts=dict(Drift.objects.open().filter(carrier_account=self.account_obj).order_by()
                        .values_list("kind").annotate(n=Count("pk"))),
            may_import=rights.may(self.access, rights.MANAGE),
            may_resolve=rights.may(self.access, rights.PROVISION),
            expected=_expected(self.account_obj) if context["running"] else 0,
        )
        if htmx_partial(request):
            return render(request, f"{self.template_name}#results", context)
        return render(request, self.template_name, context)


class DriftBulkView(DriftViewMixin, BulkActionView):
    actions = DRIFT_ACTIONS
    list_url_name = "drift_accounts"


class DriftDetailView(DriftViewMixin, ObjectDetailView):
    template_name = "sync/drift_detail.html"
    url_name = "drift_detail"
    list_url_name = "drift_accounts"
    actions = DRIFT_ACTIONS
    tabs = [Tab("sides", "Side by side", "sync/_drift_sides.html")]

    def extra_context(self, drift):
        attach_object_pages(self.request, [drift])
        fields = sorted(set(drift.diff) | set(drift.theirs)) if drift.kind != DriftKind.DIFFERS else list(drift.diff)
        rows = []
        for field in fields:
            ours, theirs = (drift.diff[field] if field in drift.diff else (None, drift.theirs.get(field)))
            if drift.kind == DriftKind.UNKNOWN_LOCAL:
                ours = None
            rows.append({"field": field.replace("_", " "), "ours": ours, "theirs": theirs, "differs": field in drift.diff})
        return {"title": f"{drift.get_kind_display()}: {drift.label}", "rows": rows, "kind_label": kind_label(drift.object_kind),
                "list_url_top": reverse("drift_list", args=[drift.carrier_account_id])}


class DriftActionView(DriftViewMixin, ObjectActionView):
    actions = DRIFT_ACTIONS
    detail_url_name = "drift_detail"
    list_url_name = "drift_accounts"


@staff_required
def drift_accounts(request):
    """Every carrier account with its last reconciliation and open drift."""
    from .health import carrier_accounts

    return render(request, "sync/drift_accounts.html", {"title": "Drift", "rows": carrier_accounts(request)})


@require_POST
@staff_required
def reconcile_now(request, account: int):
    """Hand the account's reconciliation to a worker; the drift page then shows its progress."""
    from .tasks import reconcile_account

    account_obj = _account_or_404(request, account)
    rights.require(request.access, rights.PROVISION)
    back = reverse("drift_list", args=[account_obj.pk])
    if not account_obj.enabled:
        messages.error(request, f"{account_obj.name} is switched off: switch it on to reconcile it.")
        return redirect(back)
    if ReconcileRun.objects.filter(carrier_account=account_obj, state=RunState.RUNNING).exists():
        messages.info(request, "A reconciliation of this account is already running: its progress is below.")
        return redirect(back)
    try:
        reconcile_account.delay(account_obj.pk, request.user.pk)
    except Exception:
        messages.error(request, "No worker could be reached (the task queue is down). Try again in a moment.")
        return redirect(back)
    messages.success(request, f"Reconciling {account_obj.name}: the carrier's objects are read now.")
    nxt = request.POST.get("next", "")
    target = nxt if nxt.startswith("/staff/") else back
    return redirect(f"{target}?since={int(time.time())}")


@staff_required
def reconcile_progress(request, account: int):
    """The running reconciliation's progress; polled while it runs (or until a requested one starts)."""
    account_obj = _account_or_404(request, account)
    context = _run_context(request, account_obj)
    if context["running"] is None and not context["waiting"] and request.GET.get("watching"):
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"  # finished: the page shows the new picture
        return response
    context.update(expected=_expected(account_obj))
    return render(request, "sync/_reconcile_progress.html", context)


RECONCILE_START_WAIT = 60


def _expected(account) -> int:
    """About how many objects the carrier should hold: what the portal has on the account."""
    return sum(KINDS[name].model.objects.filter(carrier_account=account).count()
               for name in ("customer", "subscriber", "number", "trunk") if name in KINDS)


@require_POST
@staff_required
def drift_resolve_all(request, account: int):
    from portal.operations.services import resolve_all

    account_obj = _account_or_404(request, account)
    rights.require(request.access, rights.PROVISION)
    how = request.POST.get("how", "")
    if how not in (PUSH, ADOPT):
        raise Http404("No such resolution.")
    operation = resolve_all(account_obj, how, request.user)
    return redirect("operation_detail", pk=operation.pk)


# ------------------------------------------------------------------------- carrier import
IMPORT_SAMPLE = 20
MAPPED_CUSTOMERS = 50


def carrier_import(request, account: int):
    """Import an existing carrier account: preview what it holds, map it to customers, import."""
    from django.contrib.auth.views import redirect_to_login
    from django.db.models import Q

    from portal.customers.models import Customer
    from portal.operations.models import Operation, OperationKind
    from portal.operations.services import import_carrier_account

    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    rights.require(request.access, rights.MANAGE)
    account_obj = _account_or_404(request, account)
    open_items = Drift.objects.open().filter(carrier_account=account_obj)
    unknown = open_items.filter(kind=DriftKind.UNKNOWN_LOCAL)
    carrier_customers = list(unknown.filter(object_kind="customer").order_by("pk")[:MAPPED_CUSTOMERS])
    eligible = list(Customer.objects.filter(reseller_id=account_obj.reseller_id, carrier_account=account_obj,
                                            remote_id="").order_by("name")[:500])
    if request.method == "POST":
        mapping = {}
        for drift in carrier_customers:
            chosen = request.POST.get(f"map-{drift.pk}", "")
            if chosen.isdigit():
                mapping[drift.pk] = int(chosen)
        orphans = request.POST.get("orphans", "")
        try:
            operation = import_carrier_account(account_obj, request.user, customers=mapping,
                                               orphans_to=int(orphans) if orphans.isdigit() else None)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("carrier_import", account=account_obj.pk)
        return redirect("operation_detail", pk=operation.pk)
    no_customer = Q(theirs__customer_remote_id="") | Q(theirs__customer_remote_id__isnull=True)
    by_kind = dict(unknown.order_by().values_list("object_kind").annotate(n=Count("pk")))
    context = {
        **_run_context(request, account_obj),
        "title": f"Import {account_obj.name}",
        "by_kind": [(kind_label(k), by_kind.get(k, 0)) for k in ("customer", "subscriber", "number", "trunk",
                                                                    "subscriber_forwards", "number_forwards") if by_kind.get(k)],
        "unknown_total": sum(by_kind.values()),
        "differs": open_items.filter(kind=DriftKind.DIFFERS).count(),
        "missing": open_items.filter(kind=DriftKind.MISSING_REMOTE).count(),
        "samples": list(unknown.exclude(object_kind="customer").order_by("pk")[:IMPORT_SAMPLE]),
        "carrier_customers": carrier_customers,
        "more_customers": max(by_kind.get("customer", 0) - len(carrier_customers), 0),
        "orphans": unknown.filter(object_kind__in=("subscriber", "number", "trunk")).filter(no_customer)
        .filter(Q(theirs__customer_ref="") | Q(theirs__customer_ref__isnull=True)).count(),
        "eligible": eligible,
        "customers": Customer.objects.filter(reseller_id=account_obj.reseller_id).order_by("name")[:500],
        "working": Operation.objects.filter(carrier_account=account_obj, kind=OperationKind.CARRIER_IMPORT,
                                            state__in=("queued", "running")).first(),
    }
    return render(request, "sync/carrier_import.html", context)
