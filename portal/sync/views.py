"""Staff pages of the sync engine: the sync job list with retry, and live object status."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from portal.tenancy.permissions import staff_required

from .filters import SyncJobFilter
from .models import SyncJob
from .objects import KIND_OF_MODEL
from .operations import retry_job

JOBS_PER_PAGE = 25

# The objects whose sync status a page may poll, by the name used in its URL.
STATUS_MODELS = {kind: model for model, kind in KIND_OF_MODEL.items()}


def _job_table(request, notice: dict | None = None) -> dict:
    jobs = SyncJob.objects.for_request(request).select_related("carrier_account", "caused_by")
    filterset = SyncJobFilter(request.GET, queryset=jobs, request=request)
    page_obj = Paginator(filterset.qs, JOBS_PER_PAGE).get_page(request.GET.get("page"))
    ascending = request.GET.get("sort") == "created"  # newest first unless asked
    return {"filter": filterset, "page_obj": page_obj, "ascending": ascending, "notice": notice}


@staff_required
def job_list(request):
    context = _job_table(request)
    # The filters and the table's links (htmx) only need the table; a plain request the page.
    if request.htmx and not request.htmx.boosted:
        return render(request, "sync/_job_table.html", context)
    return render(request, "sync/job_list.html", context)


@require_POST
@staff_required
def job_retry(request, pk: int):
    """Queue a failed job again. The query string carries the list's filters, to show it as it was."""
    job = get_object_or_404(SyncJob.objects.for_request(request), pk=pk)
    try:
        retry_job(job, actor=request.user)
    except ValidationError as exc:
        level, text = messages.ERROR, f"{job.object_repr}: not retried. {' '.join(exc.messages)}"
    else:
        level, text = messages.SUCCESS, f"{job.object_repr}: queued again."
    if request.htmx:
        notice = {"tag": messages.DEFAULT_TAGS[level], "text": text}
        return render(request, "sync/_job_table.html", _job_table(request, notice))
    messages.add_message(request, level, text)
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return redirect(back)
    query = request.GET.urlencode()
    return redirect(reverse("sync_job_list") + (f"?{query}" if query else ""))


@login_required
def object_status(request, kind: str, pk: int):
    """An object's sync badge and error, for pages that poll it until it is final."""
    model = STATUS_MODELS.get(kind)
    if model is None:
        raise Http404("No such kind of object.")
    obj = get_object_or_404(model.objects.for_request(request), pk=pk)
    return render(request, "sync/_live_status.html", {"object": obj})
