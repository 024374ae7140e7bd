"""Number pages: the inventory, getting numbers from a carrier, routing, the 999 address, release."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.shortcuts import redirect, render
from django.urls import reverse

from portal.customers.views import carrier_words
from portal.sync.operations import sync_now
from portal.ui import pickers, rights
from portal.ui.forms import add_refusal, national_format
from portal.ui.views import (
    Action,
    BulkActionView,
    ObjectActionView,
    ObjectDetailView,
    ObjectEditView,
    ObjectListView,
    ScopedView,
    Tab,
)

from . import services
from .filtersets import NumberFilterSet
from .forms import EmergencyAddressForm, NumberAllocateForm, NumberRoutingForm, NumberSearchForm
from .models import EmergencyAddress, Number, NumberStatus
from .tables import NumberTable


def number_label(number) -> str:
    """“020 7946 0001 · Anchor Clinic” (or “· in stock”)."""
    return f"{national_format(number.e164)} · {number.customer.name if number.customer_id else 'in stock'}"


pickers.register("number", pickers.Picker(
    queryset=lambda: Number.objects.select_related("customer").exclude(status=NumberStatus.RELEASED),
    label=number_label,
    search=lambda qs, q: qs.filter(Q(e164__contains="".join(c for c in q if c.isdigit()).lstrip("0") or q)),
))


def _release_consequence(number) -> str:
    carrier = carrier_words(number)
    held = carrier and number.carrier_account.capabilities.number_inventory
    text = (f"{national_format(number.e164)} goes back to {carrier}: calls to it stop, and the carrier may give it to "
            "someone else." if held else f"{national_format(number.e164)} is marked released in the portal.")
    if number.customer_id:
        text += f" {number.customer} loses it; its routing and call forwards are cleared."
    return text


ACTIONS = [
    Action("sync", "Sync now", lambda n, actor: sync_now([n], actor=actor),
           lambda n: f"The portal sends {n} as it is now to {carrier_words(n)} again.",
           done="{obj}: sent to the carrier again.",
           applies=lambda n: bool(n.carrier_account_id) and n.status != NumberStatus.RELEASED),
    Action("release", "Release", lambda n, actor: services.release_number(n, actor=actor), _release_consequence,
           done="{obj} released.", danger=True, applies=lambda n: n.status != NumberStatus.RELEASED),
]


class NumberViewMixin:
    model = Number

    def base_queryset(self):
        return Number.objects.for_request(self.request).select_related("customer", "subscriber", "trunk", "carrier_account")


class NumberListView(NumberViewMixin, ObjectListView):
    filterset_class = NumberFilterSet
    table_class = NumberTable
    actions = ACTIONS
    add_url_name = "number_get"
    add_label = "Get numbers"
    list_url_name = "number_list"
    bulk_url_name = "number_bulk"
    empty_text = "No numbers yet: get some from your carrier."

    def get_queryset(self):
        # Released numbers stay for the history but are not inventory; filter on status to see them.
        # A list shows no secret: they are not read (nor decrypted, 25 times a page).
        queryset = super().get_queryset().defer("carrier_account__credentials", "subscriber__sip_password",
                                                "trunk__password")
        if not self.request.GET.get("status"):
            queryset = queryset.exclude(status=NumberStatus.RELEASED)
        return queryset


class NumberBulkView(NumberViewMixin, BulkActionView):
    actions = ACTIONS
    list_url_name = "number_list"


class NumberRoutingView(NumberViewMixin, ObjectEditView):
    form_class = NumberRoutingForm
    detail_url_name = "number_detail"

    def context(self, form, obj):
        return {**super().context(form, obj), "title": f"Assign and route {national_format(obj.e164)}"}

    def save(self, form, number):
        values = form.values()
        values["status"] = NumberStatus.ASSIGNED if values.get("customer") else NumberStatus.AVAILABLE
        return services.update_number(number, actor=self.request.user, **values)


class EmergencyAddressView(NumberViewMixin, ObjectEditView):
    form_class = EmergencyAddressForm
    detail_url_name = "number_detail"

    def form_kwargs(self, number):
        address = EmergencyAddress.objects.filter(number=number).first() or EmergencyAddress(number=number)
        return {"instance": address, "request": self.request}

    def context(self, form, obj):
        return {**super().context(form, obj), "title": f"999 address of {national_format(obj.e164)}",
                "submit_label": "Save and send to the carrier"}

    def done_message(self, obj, created):
        return f"999 address of {obj} saved; it is sent to the carrier with the number."

    def save(self, form, number):
        services.set_emergency_address(number, actor=self.request.user, **form.values())
        return number


class NumberActionView(NumberViewMixin, ObjectActionView):
    actions = ACTIONS
    detail_url_name = "number_detail"
    list_url_name = "number_list"


class NumberDetailView(NumberViewMixin, ObjectDetailView):
    url_name = "number_detail"
    list_url_name = "number_list"
    actions = ACTIONS
    tabs = [
        Tab("overview", "Overview", "numbers/_overview.html"),
        Tab("forwards", "Call forwards", "forwards/_owner_tab.html"),
        Tab("emergency", "999 address", "numbers/_emergency.html"),
        Tab("sync", "Sync jobs", "ui/_sync_jobs.html"),
        Tab("history", "History", "ui/_history.html"),
    ]

    def extra_context(self, number):
        from portal.forwards.views import forwards_summary, forwards_unavailable
        from portal.ui.history import history_of, jobs_of

        tab = self.kwargs.get("tab") or "overview"
        caps = number.carrier_account.capabilities if number.carrier_account_id else None
        context = {"title": national_format(number.e164), "caps": caps,
                   "forwards_editor_url": reverse("number_forwards", args=[number.pk]),
                   "emergency": EmergencyAddress.objects.filter(number=number).first()}
        if tab in ("overview", "forwards"):
            context["forwards_unavailable"] = forwards_unavailable(number)
            context["summary"] = forwards_summary(number)
            context["forward_rows"] = number.forwards.all()
        if tab == "sync":
            context["jobs"] = jobs_of(self.request, number, forwards=True)
        if tab == "history":
            context["entries"] = history_of(number)
        return context


class NumberGetView(ScopedView):
    """Search a carrier's available numbers (single ones, or a consecutive block) and take the
    chosen ones into stock (or to a customer) in one go, with a result for each number."""

    model = Number
    right = rights.PROVISION
    template_name = "numbers/get.html"
    RESULT_KEY = "numbers-get-result"

    def get(self, request, *args, **kwargs):
        search = NumberSearchForm(request.GET if "carrier_account" in request.GET else None, request=request)
        found, search_error, block = [], "", 0
        if search.is_bound and search.is_valid():
            block = search.cleaned_data.get("block") or 0
            try:
                found = services.search_available_numbers(
                    search.cleaned_data["carrier_account"], prefix=search.cleaned_data["area_code"],
                    contains=search.cleaned_data["contains"], limit=search.cleaned_data["count"], block=block)
            except ValidationError as exc:
                search_error = " ".join(exc.messages)
        initial = {"customer": request.GET.get("customer") or None,
                   "carrier_account": search.cleaned_data.get("carrier_account") if search.is_bound and search.is_valid() else None}
        allocate = NumberAllocateForm(request=request, initial=initial,
                                      **({"block": found} if block else {"found": found}))
        return self.page(search, allocate, found, search_error, block=block, result=self.result())

    def post(self, request, *args, **kwargs):
        search = NumberSearchForm(None, request=request)
        allocate = NumberAllocateForm(request.POST, request=request)
        if allocate.is_valid():
            account, customer = allocate.cleaned_data["carrier_account"], allocate.cleaned_data["customer"]
            if customer is not None and customer.reseller_id != account.reseller_id:
                raise PermissionDenied("That customer and carrier account belong to different resellers.")
            try:
                taken = services.take_numbers(carrier_account=account, found=allocate.cleaned_data["found"],
                                              typed=allocate.cleaned_data["typed_numbers"], customer=customer,
                                              actor=request.user)
            except ValidationError as exc:
                add_refusal(allocate, exc)
            else:
                return self.done(taken, account, customer)
        return self.page(search, allocate, [], "")

    def done(self, taken, account, customer):
        """One number taken and nothing else to say: its page. Otherwise this page, with the
        result of each number (kept in the session, so a reload does not take them again)."""
        if taken.added:
            where = f"given to {customer}" if customer else "added to your stock"
            count = len(taken.added)
            messages.success(self.request, f"{count} number{'s' if count != 1 else ''} {where}; "
                             f"{account.get_kind_display()} is being asked for {'them' if count != 1 else 'it'}.")
        if len(taken.added) == 1 and not (taken.gone or taken.refused):
            return redirect("number_detail", pk=taken.added[0].pk)
        self.request.session[self.RESULT_KEY] = {
            "added": [number.pk for number in taken.added], "gone": taken.gone, "refused": taken.refused,
            "carrier": account.get_kind_display()}
        return redirect(reverse("number_get") + "?result=1")

    def result(self) -> dict | None:
        """The last take's result, when the page is asked for it."""
        kept = self.request.session.get(self.RESULT_KEY) if self.request.GET.get("result") else None
        if not kept:
            return None
        added = self.base_queryset().filter(pk__in=kept["added"]).order_by("e164")
        return {"added": list(added), "gone": kept["gone"], "refused": kept["refused"], "carrier": kept["carrier"]}

    def page(self, search, allocate, found, search_error, *, block=0, result=None):
        return render(self.request, self.template_name, {
            "search": search, "allocate": allocate, "found": found, "search_error": search_error,
            "title": "Get numbers", "searched": search.is_bound, "block": block, "result": result,
        })
