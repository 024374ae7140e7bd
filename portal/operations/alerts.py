"""Alerts for a reseller's managers: found by a periodic task, mailed as one digest per
interval, shown on the dashboard until acknowledged.

What raises one: a sync job the carrier refused (failed for good), a change waiting longer
than ``ALERT_PENDING_AFTER``, drift found by a reconciliation, a carrier account whose
connection test fails. Each alert has a ``key`` naming what it is about; the same thing
seen again updates its open alert, and once acknowledged it is not raised again for
``ALERT_REPEAT_AFTER`` (a failed job never again: it is one event).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Count, Min
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from portal.carriers.models import CarrierAccount
from portal.sync.models import Drift, JobState, ReconcileRun, RunState, SyncJob
from portal.tenancy.models import Role, StaffMembership

from .models import Alert, AlertKind

log = logging.getLogger(__name__)


def raise_alert(*, reseller_id: int, key: str, kind: str, subject: str, detail: str = "", url: str = "",
                carrier_account_id: int | None = None, once: bool = False) -> Alert | None:
    """Record (or refresh) the open alert ``key``; None when it is not to be raised again.

    ``once``: an event that happened once (a failed job): never raised again after it was
    acknowledged. Otherwise an acknowledged condition comes back after ALERT_REPEAT_AFTER.
    """
    now = timezone.now()
    alerts = Alert.objects.filter(reseller_id=reseller_id, key=key)
    if alerts.open().update(last_seen=now, subject=subject, detail=detail, url=url):
        return alerts.open().first()
    acknowledged = alerts.filter(acknowledged_at__isnull=False).order_by("-acknowledged_at").first()
    if acknowledged is not None and (once or acknowledged.acknowledged_at > now - timedelta(
            seconds=settings.ALERT_REPEAT_AFTER)):
        return None
    try:
        with transaction.atomic():
            return Alert.objects.create(reseller_id=reseller_id, key=key, kind=kind, subject=subject, detail=detail,
                                        url=url, carrier_account_id=carrier_account_id, first_seen=now, last_seen=now)
    except IntegrityError:  # raised by a concurrent run meanwhile
        return alerts.open().first()


def acknowledge(alert: Alert, actor=None) -> Alert:
    Alert.objects.filter(pk=alert.pk, acknowledged_at__isnull=True).update(
        acknowledged_at=timezone.now(), acknowledged_by=actor if getattr(actor, "pk", None) else None
    )
    alert.refresh_from_db()
    return alert


# ------------------------------------------------------------------------ detection
def _lookback():
    return timezone.now() - timedelta(seconds=max(2 * settings.ALERT_DIGEST_INTERVAL, 3600))


def detect_failed_jobs() -> int:
    found = 0
    recent = SyncJob.objects.filter(state=JobState.FAILED, finished_at__gte=_lookback()).select_related("carrier_account")
    for job in recent.defer("payload", "attempt_log").order_by("pk"):
        what = "delete of" if job.operation == "delete" else "change to"
        if raise_alert(reseller_id=job.reseller_id, key=f"job:{job.pk}", kind=AlertKind.JOB_FAILED, once=True,
                       subject=f"{job.carrier_account.name} refused the {what} {job.object_repr}",
                       detail=job.last_error[:500], url=reverse("sync_job_detail", args=[job.pk]),
                       carrier_account_id=job.carrier_account_id):
            found += 1
    return found


def detect_stuck_jobs() -> int:
    edge = timezone.now() - timedelta(seconds=settings.ALERT_PENDING_AFTER)
    stuck = (
        SyncJob.objects.filter(state=JobState.QUEUED, created_at__lt=edge).order_by()
        .values("reseller_id", "carrier_account_id").annotate(n=Count("pk"), oldest=Min("created_at"))
    )
    accounts = CarrierAccount.objects.in_bulk([row["carrier_account_id"] for row in stuck])
    found = 0
    for row in stuck:
        account = accounts[row["carrier_account_id"]]
        waited = timezone.now() - row["oldest"]
        minutes = int(waited.total_seconds() // 60)
        url = reverse("sync_job_list") + f"?state=queued&carrier_account={account.pk}&sort=created_at"
        if raise_alert(reseller_id=row["reseller_id"], key=f"stuck:{account.pk}", kind=AlertKind.JOB_STUCK,
                       subject=f"{row['n']} change{'s' if row['n'] != 1 else ''} waiting for {account.name}",
                       detail=f"The oldest has waited {minutes} minutes. Is the carrier answering, and a worker running?",
                       url=url, carrier_account_id=account.pk):
            found += 1
    return found


def detect_drift() -> int:
    found = 0
    runs = ReconcileRun.objects.filter(state=RunState.DONE, finished_at__gte=_lookback()).select_related("carrier_account")
    for run in runs:
        still_open = Drift.objects.open().filter(run=run).count()
        if not still_open:
            continue
        if raise_alert(reseller_id=run.reseller_id, key=f"drift:{run.pk}", kind=AlertKind.DRIFT_FOUND, once=True,
                       subject=f"{run.carrier_account.name} differs from the portal in {still_open} place"
                               f"{'s' if still_open != 1 else ''}",
                       detail="Found by the reconciliation of " + run.started_at.strftime("%d %b %H:%M") + ".",
                       url=reverse("drift_list", args=[run.carrier_account_id]), carrier_account_id=run.carrier_account_id):
            found += 1
    return found


def detect_failing_connections() -> int:
    from portal.carriers.services import test_connection

    found = 0
    for account in CarrierAccount.objects.filter(enabled=True).order_by("pk"):
        result = test_connection(account)
        if result.ok:
            continue
        if raise_alert(reseller_id=account.reseller_id, key=f"connection:{account.pk}",
                       kind=AlertKind.CONNECTION_FAILING, subject=f"{account.name}: the connection test fails",
                       detail=result.message, url=reverse("carrier_account_detail", args=[account.pk]),
                       carrier_account_id=account.pk):
            found += 1
    return found


def detect() -> dict[str, int]:
    found = {"failed": detect_failed_jobs(), "stuck": detect_stuck_jobs(), "drift": detect_drift()}
    if settings.ALERT_CHECK_CONNECTIONS:
        found["connection"] = detect_failing_connections()
    return found


# --------------------------------------------------------------------------- digest
def managers_of(reseller_id: int) -> list[str]:
    return list(
        StaffMembership.objects.filter(reseller_id=reseller_id, role=Role.MANAGER, user__is_active=True)
        .values_list("user__email", flat=True).order_by("user__email")
    )


def send_digests(site_url: str = "") -> int:
    """One e-mail per reseller with alerts not mailed yet, to all its active managers. How many were sent."""
    sent = 0
    unmailed = Alert.objects.open().filter(mailed_at__isnull=True)
    for reseller_id in unmailed.order_by().values_list("reseller_id", flat=True).distinct():
        alerts = list(unmailed.filter(reseller_id=reseller_id).select_related("reseller").order_by("kind", "first_seen"))
        recipients = managers_of(reseller_id)
        if not recipients or not alerts:
            continue
        context = {"alerts": alerts, "reseller": alerts[0].reseller, "site_url": site_url.rstrip("/"),
                   "dashboard": reverse("staff_home")}
        subject = render_to_string("operations/email/digest_subject.txt", context).strip()
        body = render_to_string("operations/email/digest_message.txt", context)
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
        Alert.objects.filter(pk__in=[a.pk for a in alerts]).update(mailed_at=timezone.now())
        sent += 1
        log.info("alert digest of %s alerts sent to %s managers of reseller %s", len(alerts), len(recipients), reseller_id)
    return sent
