"""Trunk pages: lists, create/edit with only what the carrier holds, enable/disable/delete, the password once."""

from __future__ import annotations

from django.db.models import Q
from django.shortcuts import render

from portal.customers.views import CustomerServiceEditView, carrier_words
from portal.sync.operations import sync_now
from portal.ui import pickers
from portal.sync.models import JobState, SyncState
from portal.ui.views import (
    Action,
    BulkActionView,
    ObjectActionView,
    ObjectDetailView,
    ObjectListView,
    ScopedView,
    Tab,
)

from . import services
from .filtersets import TrunkFilterSet
from .forms import TrunkForm
from .models import Trunk, TrunkType
from .tables import TrunkTable

pickers.register("trunk", pickers.Picker(
    queryset=lambda: Trunk.objects.select_related("customer"),
    label=lambda t: f"{t.name} · {t.get_type_display()} · {t.customer.name}",
    search=lambda qs, q: qs.filter(Q(name__icontains=q)),
))


def _at_carrier(trunk, held: str, not_held: str) -> str:
    carrier = carrier_words(trunk)
    if carrier and trunk.carrier_account.capabilities.trunks:
        return held.format(carrier=carrier)
    return not_held


def _reset_consequence(trunk) -> str:
    carrier = carrier_words(trunk) or "The carrier"
    return (f"{carrier} makes a new password for this trunk, and the old one stops working as soon as it does: "
            "the PBX cannot register or make calls through the trunk until it is given the new one. "
            "The new password is shown on this page once, when the carrier has made it.")


def _reset_refusal(trunk) -> str | None:
    latest = services.latest_reset(trunk) if trunk.remote_id else None
    if latest is not None and latest.state in (JobState.QUEUED, JobState.RUNNING):
        return "A new password is on its way from the carrier: it shows here when it is ready."
    return services.reset_refusal(trunk)


ACTIONS = [
    Action("reset-password", "Reset the password", lambda t, actor: services.reset_trunk_password(t, actor=actor),
           _reset_consequence, done="{obj}: the carrier is making a new password; it shows here once it is ready.",
           danger=True, bulk=False, applies=lambda t: t.type == TrunkType.AUTH, refusal=_reset_refusal),
    Action("show-password", "Show the password once", lambda t, actor: services.take_password(t, actor=actor),
           lambda t: "The password the carrier made for this trunk is shown once, now; after that it can never be "
                     "shown again.",
           done="{obj}: password shown.", bulk=False,
           applies=lambda t: t.type == TrunkType.AUTH and bool(t.password) and t.password_shown_at is None),
    Action("disable", "Disable", lambda t, actor: services.disable_trunk(t, actor=actor),
           lambda t: _at_carrier(t, "The trunk is disabled at {carrier}: the PBX can no longer make or take calls "
                                    "through it.", "The trunk is marked disabled in the portal."),
           done="{obj} disabled.", applies=lambda t: t.enabled),
    Action("enable", "Enable", lambda t, actor: services.enable_trunk(t, actor=actor),
           lambda t: _at_carrier(t, "The trunk is enabled at {carrier} again.", "The trunk is marked enabled."),
           done="{obj} enabled.", applies=lambda t: not t.enabled),
    Action("sync", "Sync now", lambda t, actor: sync_now([t], actor=actor),
           lambda t: f"The portal sends {t} as it is now to {carrier_words(t)} again.",
           done="{obj}: sent to the carrier again.", applies=lambda t: bool(t.carrier_account_id)),
    Action("delete", "Delete", lambda t, actor: services.delete_trunk(t, actor=actor),
           lambda t: _at_carrier(t, "The trunk is deleted at {carrier} and in the portal; the PBX's calls through it "
                                    "stop. Numbers routed to it stay with the customer, routed nowhere.",
                                 "The trunk is deleted in the portal."),
           done="{obj} deleted.", danger=True, after="list"),
]


class TrunkViewMixin:
    model = Trunk

    def base_queryset(self):
        return Trunk.objects.for_request(self.request).select_related("customer", "carrier_account")


class TrunkListView(TrunkViewMixin, ObjectListView):
    filterset_class = TrunkFilterSet
    table_class = TrunkTable
    actions = ACTIONS
    add_url_name = "trunk_add"
    list_url_name = "trunk_list"
    bulk_url_name = "trunk_bulk"
    empty_text = "No trunks yet: add one for a customer's PBX."


class TrunkBulkView(TrunkViewMixin, BulkActionView):
    actions = ACTIONS
    list_url_name = "trunk_list"


class TrunkEditView(TrunkViewMixin, CustomerServiceEditView):
    form_class = TrunkForm
    detail_url_name = "trunk_detail"
    create_service = staticmethod(services.create_trunk)
    update_service = staticmethod(services.update_trunk)
    customer_tab = "trunks"
    list_url_name = "trunk_list"


class TrunkActionView(TrunkViewMixin, ObjectActionView):
    actions = ACTIONS
    detail_url_name = "trunk_detail"
    list_url_name = "trunk_list"


class TrunkDetailView(TrunkViewMixin, ObjectDetailView):
    url_name = "trunk_detail"
    list_url_name = "trunk_list"
    actions = ACTIONS
    tabs = [
        Tab("overview", "Overview", "trunks/_overview.html"),
        Tab("sync", "Sync jobs", "ui/_sync_jobs.html"),
        Tab("history", "History", "ui/_history.html"),
    ]

    def extra_context(self, trunk):
        from portal.ui.history import history_of, jobs_of

        tab = self.kwargs.get("tab") or "overview"
        context = {"numbers": trunk.numbers.all(), **password_context(trunk)}
        if tab == "sync":
            context["jobs"] = jobs_of(self.request, trunk)
        if tab == "history":
            context["entries"] = history_of(trunk)
        return context


def password_context(trunk) -> dict:
    """What the trunk's password panel shows: the latest reset and whether to keep polling."""
    reset = services.latest_reset(trunk) if trunk.type == TrunkType.AUTH else None
    resetting = reset is not None and reset.state in (JobState.QUEUED, JobState.RUNNING)
    first_coming = not trunk.password and trunk.sync_state in (SyncState.PENDING, SyncState.SYNCING)
    return {"password_reset": reset, "resetting": resetting, "password_polls": resetting or first_coming}


class TrunkPasswordView(TrunkViewMixin, ScopedView):
    """The trunk's password panel alone, polled while a reset (or the first password) is on its way."""

    def get(self, request, *args, **kwargs):
        trunk = self.get_object()
        return render(request, "trunks/_password.html", {"object": trunk, **password_context(trunk)})
