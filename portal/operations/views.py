"""Operations pages: CSV import and export, long operations and their progress, the global
audit log, alerts. On the generic staff views; every query through ``for_request``."""

from __future__ import annotations

from django.contrib import messages
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from portal.customers.models import Customer
from portal.numbers.models import Number, NumberStatus
from portal.subscribers.models import Subscriber
from portal.tenancy.models import Reseller
from portal.tenancy.permissions import staff_required
from portal.ui import rights
from portal.ui.views import Action, BulkActionView, ObjectActionView, ObjectListView, ScopedView

from . import alerts, csvio, services
from .filtersets import AlertFilterSet, AuditLogFilterSet
from .forms import CsvUploadForm
from .history import entries_for
from .models import Alert, Operation, OperationKind
from .tables import AlertTable, AuditLogTable

EXPORTED = {"customers": Customer, "subscribers": Subscriber, "numbers": Number}


def _own_reseller(request) -> Reseller:
    if request.access.reseller_id is None:
        raise PermissionDenied("Imports belong to a reseller: platform admins use the admin.")
    return get_object_or_404(Reseller.objects.for_request(request), pk=request.access.reseller_id)


# ------------------------------------------------------------------------ CSV import
class CsvImportView(ScopedView):
    model = Operation
    right = rights.PROVISION

    def get(self, request, form=None, error=""):
        recent = Operation.objects.for_request(request).filter(kind=OperationKind.CSV_IMPORT).select_related(
            "started_by").defer("source", "report")[:10]
        context = {"title": "Import and export", "form": form or CsvUploadForm(), "error": error, "recent": recent,
                   "types": list(csvio.TYPE_LABELS.items()),
                   "columns": {t: ", ".join(csvio.known_columns(t)) for t in csvio.TYPE_LABELS}}
        return render(request, "operations/csv_import.html", context)

    def post(self, request):
        form = CsvUploadForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.get(request, form=form)
        upload = form.cleaned_data["file"]
        if upload.size > settings.CSV_IMPORT_MAX_BYTES:
            return self.get(request, form=form, error=str(csvio.BadFile(
                f"The file is {upload.size / 1e6:.1f} MB; the portal takes up to "
                f"{settings.CSV_IMPORT_MAX_BYTES / 1e6:.0f} MB at once. Split it into smaller files.")))
        try:
            operation = services.check_csv(reseller=_own_reseller(request), actor=request.user,
                                           object_type=form.cleaned_data["object_type"], name=upload.name,
                                           data=upload.read())
        except csvio.BadFile as exc:
            return self.get(request, form=form, error=str(exc))
        return redirect("operation_detail", pk=operation.pk)


@staff_required
def csv_export(request, object_type: str):
    model = EXPORTED.get(object_type)
    if model is None:
        raise Http404("No such export.")
    reseller = _own_reseller(request)
    queryset = model.objects.for_request(request).select_related("carrier_account").order_by("pk")
    if object_type == "numbers":
        queryset = queryset.exclude(status=NumberStatus.RELEASED).select_related("customer", "subscriber")
    elif object_type == "subscribers":
        queryset = queryset.select_related("customer")
    response = StreamingHttpResponse(csvio.export_rows(object_type, queryset, reseller=reseller),
                                     content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{object_type}.csv"'
    return response


@staff_required
def csv_template(request, object_type: str):
    if object_type not in csvio.RESOURCES:
        raise Http404("No such template.")
    response = HttpResponse(",".join(csvio.known_columns(object_type)) + "\r\n", content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{object_type}-template.csv"'
    return response


# ---------------------------------------------------------------------- operations
OUTCOME_LABELS = {"created": "Created", "updated": "Updated", "unchanged": "Unchanged", "error": "Error"}


class OperationDetailView(ScopedView):
    model = Operation

    def get_queryset(self):
        return Operation.objects.for_request(self.request).select_related("started_by", "carrier_account")

    def get(self, request, pk):
        operation = self.get_object()
        outcome = request.GET.get("outcome", "")
        rows = [r for r in operation.report if not outcome or r[1] == outcome]
        page = Paginator(rows, 50).get_page(request.GET.get("page"))
        done, total = services.progress_of(operation)
        context = {
            "title": operation.title, "operation": operation, "page": page, "outcome": outcome,
            "outcomes": [(key, label, operation.summary.get(key, 0)) for key, label in OUTCOME_LABELS.items()],
            "done": done, "total": total, "dry_run": operation.options.get("phase") == "check",
            "applicable": operation.summary.get("created", 0) + operation.summary.get("updated", 0),
            "may_apply": rights.may(self.access, rights.PROVISION),
        }
        return render(request, "operations/operation_detail.html", context)

    def post(self, request, pk):
        operation = self.get_object()
        rights.require(self.access, rights.PROVISION)
        try:
            services.apply_csv(operation, request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, "Applying the import: the rows are saved as the bar fills.")
        return redirect("operation_detail", pk=operation.pk)


@staff_required
def operation_progress(request, pk: int):
    """The progress bar of one operation; polled while it works. When it ends the page reloads."""
    operation = get_object_or_404(Operation.objects.for_request(request).defer("source", "report"), pk=pk)
    done, total = services.progress_of(operation)
    if not operation.is_working and request.GET.get("watching"):
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return render(request, "operations/_progress.html", {"operation": operation, "done": done, "total": total})


# ----------------------------------------------------------------------- audit log
class AuditLogView(ObjectListView):
    filterset_class = AuditLogFilterSet
    table_class = AuditLogTable
    list_url_name = "audit_log"
    title = "History"
    intro = "Every change to your customers, services, carrier accounts and team: who, when, and what changed."
    empty_text = "Nothing has changed yet."

    def base_queryset(self):
        return entries_for(self.request)

    def verbose_name(self):
        return "change"

    def verbose_name_plural(self):
        return "changes"


# --------------------------------------------------------------------------- alerts
ALERT_ACTIONS = [
    Action("acknowledge", "Acknowledge", lambda alert, actor: alerts.acknowledge(alert, actor),
           lambda alert: "The alert leaves the dashboard. If the cause is still there later, it may be raised again.",
           done="Alert acknowledged.", applies=lambda alert: alert.acknowledged_at is None),
]


class AlertViewMixin:
    model = Alert

    def base_queryset(self):
        return Alert.objects.for_request(self.request).select_related("acknowledged_by")


class AlertListView(AlertViewMixin, ObjectListView):
    filterset_class = AlertFilterSet
    table_class = AlertTable
    actions = ALERT_ACTIONS
    list_url_name = "alert_list"
    bulk_url_name = "alert_bulk"
    title = "Alerts"
    subnav = "sync/_sync_nav.html"
    intro = ("What needs a look: refused changes, changes waiting too long, drift, carrier accounts that do not answer. "
             "Managers get them by e-mail, one digest at a time.")
    empty_text = "No alerts. All quiet."


class AlertBulkView(AlertViewMixin, BulkActionView):
    actions = ALERT_ACTIONS
    list_url_name = "alert_list"


class AlertActionView(AlertViewMixin, ObjectActionView):
    actions = ALERT_ACTIONS
    detail_url_name = "alert_list"
    list_url_name = "alert_list"

    def post(self, request, *args, **kwargs):
        alert, action = self.get_object(), self.action()
        rights.require(self.access, action.right)
        if action.applies(alert):
            action.run(alert, request.user)
            messages.success(request, action.done)
        return redirect(request.POST.get("next") if request.POST.get("next", "").startswith("/staff") else "alert_list")

    def get(self, request, *args, **kwargs):
        return redirect("alert_list")


def recent_changes(request, limit: int = 8):
    return list(entries_for(request).select_related("actor", "content_type")[:limit])


def open_alerts(request, limit: int = 6):
    alerts_open = Alert.objects.for_request(request).open()
    return list(alerts_open[:limit]), alerts_open.count()
