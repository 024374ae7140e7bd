"""Carrier account pages: every member of staff sees them; managers create, change, switch
on and off and test them. Secrets are write-only; the adapter is reached through the
service only."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from portal.ui import rights
from portal.ui.views import (
    Action,
    BulkActionView,
    ObjectActionView,
    ObjectDetailView,
    ObjectEditView,
    ObjectListView,
    Tab,
)

from . import services
from .filtersets import CarrierAccountFilterSet
from .forms import CarrierAccountForm
from .kinds import FIELD_LABELS, KIND_FIELDS
from .models import CarrierAccount
from .tables import CarrierAccountTable


def _test(account, actor):
    result = services.test_connection(account)
    if not result.ok:
        raise ValidationError(result.message)
    return result


ACTIONS = [
    Action("test", "Test connection", _test,
           lambda a: f"The portal asks {a.get_kind_display()} at {a.base_url} whether these credentials work "
                     "(one request of the account's budget). Nothing changes.",
           done="{obj}: the carrier answered and the credentials work.", right=rights.MANAGE, bulk=False),
    Action("disable", "Switch off", lambda a, actor: services.set_enabled(a, False, actor=actor),
           lambda a: f"{a} is no longer offered for new customers and services, and is not reconciled. Its objects "
                     "stay, and changes already queued are still sent.",
           done="{obj} switched off.", right=rights.MANAGE, danger=True, applies=lambda a: a.enabled),
    Action("enable", "Switch on", lambda a, actor: services.set_enabled(a, True, actor=actor),
           lambda a: f"{a} is offered again for new customers and services, and reconciled with the others.",
           done="{obj} switched on.", right=rights.MANAGE, applies=lambda a: not a.enabled),
]


class CarrierAccountViewMixin:
    model = CarrierAccount

    def base_queryset(self):
        return CarrierAccount.objects.for_request(self.request)


class CarrierAccountListView(CarrierAccountViewMixin, ObjectListView):
    filterset_class = CarrierAccountFilterSet
    table_class = CarrierAccountTable
    actions = ACTIONS
    add_url_name = "carrier_account_add"
    list_url_name = "carrier_account_list"
    bulk_url_name = "carrier_account_bulk"
    intro = "Your accounts at the carriers: where customers, SIP accounts, numbers and trunks are provisioned."
    empty_text = "No carrier accounts yet."

    def add_url(self, fixed=None):
        return reverse(self.add_url_name) if rights.may(self.access, rights.MANAGE) and self.access.reseller_id else ""


class CarrierAccountBulkView(CarrierAccountViewMixin, BulkActionView):
    actions = ACTIONS
    list_url_name = "carrier_account_list"
    right = rights.MANAGE


class CarrierAccountEditView(CarrierAccountViewMixin, ObjectEditView):
    form_class = CarrierAccountForm
    detail_url_name = "carrier_account_detail"
    right = rights.MANAGE

    def form_kwargs(self, obj):
        if obj is None and self.access.reseller_id is None:
            raise PermissionDenied("Platform admins add carrier accounts in the admin, where they choose the reseller.")
        return super().form_kwargs(obj)

    def cancel_fallback(self):
        return reverse("carrier_account_list")

    def save(self, form, obj):
        values = form.values()
        credentials = form.cleaned_data["credentials"]
        if obj is None:
            from portal.tenancy.models import Reseller

            reseller = Reseller.objects.get(pk=self.access.reseller_id)
            return services.create_account(reseller=reseller, actor=self.request.user, credentials=credentials, **values)
        return services.update_account(obj, actor=self.request.user, credentials=credentials, **values)


class CarrierAccountActionView(CarrierAccountViewMixin, ObjectActionView):
    actions = ACTIONS
    detail_url_name = "carrier_account_detail"
    list_url_name = "carrier_account_list"


class CarrierAccountDetailView(CarrierAccountViewMixin, ObjectDetailView):
    url_name = "carrier_account_detail"
    list_url_name = "carrier_account_list"
    actions = ACTIONS
    tabs = [Tab("overview", "Overview", "carriers/_overview.html"), Tab("history", "History", "ui/_history.html")]

    def extra_context(self, account):
        from portal.sync.limiter import budget_used
        from portal.sync.models import Drift, ReconcileRun
        from portal.sync.operations import account_health
        from portal.ui.history import history_of

        fields = KIND_FIELDS.get(account.kind)
        used, rate = budget_used(account)
        return {
            "may_manage": rights.may(self.access, rights.MANAGE),
            "settings_shown": [(FIELD_LABELS.get(k, k), v) for k, v in account.settings.items()
                               if fields and k in (*fields.settings, *fields.optional_settings)],
            "secrets_shown": [(FIELD_LABELS.get(k, k), bool(account.credentials.get(k))) for k in (fields.secrets if fields else ())],
            "budget": used, "rate": rate,
            "health": account_health(CarrierAccount.objects.filter(pk=account.pk))[account.pk],
            "last_run": ReconcileRun.objects.filter(carrier_account=account).first(),
            "open_drift": Drift.objects.open().filter(carrier_account=account).count(),
            "entries": history_of(account) if self.kwargs.get("tab") == "history" else None,
        }
