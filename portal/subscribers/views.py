"""SIP account pages: lists across customers and per customer, create/edit, password, enable/disable/delete."""

from __future__ import annotations

from django.db.models import Q
from django.urls import reverse

from portal.customers.models import Customer
from portal.customers.views import CustomerServiceEditView, carrier_words
from portal.sync.operations import sync_now
from portal.ui import pickers
from portal.ui.forms import national_format
from portal.ui.views import Action, BulkActionView, ObjectActionView, ObjectDetailView, ObjectListView, Tab

from . import services
from .filtersets import SubscriberFilterSet
from .forms import SubscriberForm
from .models import Subscriber, SubscriberStatus
from .tables import SubscriberTable


def subscriber_label(subscriber) -> str:
    """“201 · Kira (020 7946 0001) · Anchor Clinic”: enough to choose the right one."""
    name = subscriber.display_name or ""
    if subscriber.primary_number_id:
        name = f"{name} ({national_format(subscriber.primary_number.e164)})".strip()
    return " · ".join(part for part in (subscriber.username, name, subscriber.customer.name) if part)


pickers.register("subscriber", pickers.Picker(
    queryset=lambda: Subscriber.objects.select_related("customer", "primary_number"),
    label=subscriber_label,
    search=lambda qs, q: qs.filter(Q(username__icontains=q) | Q(display_name__icontains=q)),
))
pickers.register("customer", pickers.Picker(
    queryset=lambda: Customer.objects.all(),
    label=lambda c: c.name + (f" · {c.external_ref}" if c.external_ref else ""),
    search=lambda qs, q: qs.filter(Q(name__icontains=q) | Q(external_ref__icontains=q)),
    filters=(),
))


def _carrier_sentence(subscriber, held: str, not_held: str) -> str:
    carrier = carrier_words(subscriber)
    if carrier and subscriber.carrier_account.capabilities.subscribers:
        return held.format(carrier=carrier)
    return not_held.format(carrier=carrier or "no carrier")


ACTIONS = [
    Action("reset-password", "Reset SIP password", lambda s, actor: services.reset_sip_password(s, actor=actor),
           lambda s: _carrier_sentence(
               s, "A new password is made and sent to {carrier}; phones using the old one stop registering until "
                  "they get the new one. You see it once.",
               "A new password is made in the portal ({carrier} keeps no SIP accounts). You see it once."),
           done="{obj}: new SIP password set.", bulk=False),
    Action("disable", "Disable", lambda s, actor: services.disable_subscriber(s, actor=actor),
           lambda s: _carrier_sentence(s, "The SIP account is locked at {carrier}: it can no longer make or take calls.",
                                       "The SIP account is marked locked in the portal ({carrier} keeps no SIP accounts)."),
           done="{obj} disabled.", applies=lambda s: s.status == SubscriberStatus.ACTIVE),
    Action("enable", "Enable", lambda s, actor: services.enable_subscriber(s, actor=actor),
           lambda s: _carrier_sentence(s, "The SIP account is unlocked at {carrier} and can make and take calls again.",
                                       "The SIP account is marked active in the portal."),
           done="{obj} enabled.", applies=lambda s: s.status != SubscriberStatus.ACTIVE),
    Action("sync", "Sync now", lambda s, actor: sync_now([s], actor=actor),
           lambda s: f"The portal sends {s} as it is now to {carrier_words(s)} again.",
           done="{obj}: sent to the carrier again.", applies=lambda s: bool(s.carrier_account_id)),
    Action("delete", "Delete", lambda s, actor: services.delete_subscriber(s, actor=actor),
           lambda s: _carrier_sentence(
               s, "The SIP account is deleted at {carrier} and in the portal; phones using it stop working. Its numbers "
                  "stay with the customer, routed nowhere until you assign them again.",
               "The SIP account is deleted in the portal. Its numbers stay with the customer."),
           done="{obj} deleted.", danger=True, after="list"),
]


class SubscriberViewMixin:
    model = Subscriber

    def base_queryset(self):
        return Subscriber.objects.for_request(self.request).select_related("customer", "primary_number", "carrier_account")

    def verbose_name(self):
        return "SIP account"

    def verbose_name_plural(self):
        return "SIP accounts"


class SubscriberListView(SubscriberViewMixin, ObjectListView):
    filterset_class = SubscriberFilterSet
    table_class = SubscriberTable
    actions = ACTIONS
    add_url_name = "subscriber_add"
    list_url_name = "subscriber_list"
    bulk_url_name = "subscriber_bulk"
    empty_text = "No SIP accounts yet: add one."


class SubscriberBulkView(SubscriberViewMixin, BulkActionView):
    actions = ACTIONS
    list_url_name = "subscriber_list"


class SubscriberEditView(SubscriberViewMixin, CustomerServiceEditView):
    form_class = SubscriberForm
    detail_url_name = "subscriber_detail"
    create_service = staticmethod(services.create_subscriber)
    update_service = staticmethod(services.update_subscriber)
    customer_tab = "sip-accounts"
    list_url_name = "subscriber_list"


class SubscriberActionView(SubscriberViewMixin, ObjectActionView):
    actions = ACTIONS
    detail_url_name = "subscriber_detail"
    list_url_name = "subscriber_list"


class SubscriberDetailView(SubscriberViewMixin, ObjectDetailView):
    url_name = "subscriber_detail"
    list_url_name = "subscriber_list"
    actions = ACTIONS
    tabs = [
        Tab("overview", "Overview", "subscribers/_overview.html"),
        Tab("forwards", "Call forwards", "forwards/_owner_tab.html"),
        Tab("sync", "Sync jobs", "ui/_sync_jobs.html"),
        Tab("history", "History", "ui/_history.html"),
    ]

    def extra_context(self, subscriber):
        from portal.forwards.views import forwards_summary, forwards_unavailable
        from portal.ui.history import history_of, jobs_of

        tab = self.kwargs.get("tab") or "overview"
        context = {"forwards_editor_url": reverse("subscriber_forwards", args=[subscriber.pk])}
        if tab in ("overview", "forwards"):
            context["numbers"] = subscriber.numbers.all()
            context["forwards_unavailable"] = forwards_unavailable(subscriber)
            context["summary"] = forwards_summary(subscriber)
            context["forward_rows"] = subscriber.forwards.all()
        if tab == "sync":
            context["jobs"] = jobs_of(self.request, subscriber, forwards=True)
        if tab == "history":
            context["entries"] = history_of(subscriber)
        return context
