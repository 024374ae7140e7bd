"""Customer pages: list, a page with tabs, create and edit, suspend / reactivate / terminate / delete."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.urls import reverse

from portal.accounts.forms import CustomerUserInviteForm
from portal.accounts.models import Invitation
from portal.sync.operations import sync_now
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
from .filtersets import CustomerFilterSet
from .forms import CustomerForm
from .models import Customer, CustomerLogin, CustomerStatus
from .tables import CustomerTable


def carrier_words(obj) -> str:
    """How a page names an object's carrier account: “Northwind Simwood (Simwood)”."""
    account = obj.carrier_account if obj.carrier_account_id else None
    return f"{account.name} ({account.get_kind_display()})" if account else ""


def _status_consequence(word: str, extra: str = ""):
    def consequence(customer) -> str:
        carrier = carrier_words(customer)
        if not carrier:
            text = f"{customer} becomes {word} in the portal. It is on no carrier account, so no carrier is told."
        elif customer.carrier_account.capabilities.customers:
            text = f"{customer} becomes {word} in the portal, and the new status is sent to {carrier}."
        else:
            text = (f"{customer} becomes {word} in the portal. {customer.carrier_account.get_kind_display()} keeps no "
                    "customer records, so nothing changes at the carrier.")
        return f"{text} {extra}".strip()

    return consequence


def _delete_consequence(customer) -> str:
    carrier = carrier_words(customer)
    where = f" and from {carrier}" if carrier and customer.carrier_account.capabilities.customers else ""
    return f"{customer} is deleted from the portal{where}. This cannot be undone."


def _sync_consequence(obj) -> str:
    return f"The portal sends {obj} as it is now to {carrier_words(obj)} again, and shows the carrier's answer here."


SERVICES_STAY = ("Its SIP accounts, numbers and trunks are not touched: disable or release them to stop them "
                 "working and being charged.")

ACTIONS = [
    Action("suspend", "Suspend", lambda c, actor: services.set_customer_status(c, CustomerStatus.SUSPENDED, actor=actor),
           _status_consequence("suspended", SERVICES_STAY), done="{obj} suspended.",
           applies=lambda c: c.status == CustomerStatus.ACTIVE),
    Action("reactivate", "Reactivate", lambda c, actor: services.set_customer_status(c, CustomerStatus.ACTIVE, actor=actor),
           _status_consequence("active"), done="{obj} is active again.",
           applies=lambda c: c.status != CustomerStatus.ACTIVE),
    Action("terminate", "Terminate", lambda c, actor: services.set_customer_status(c, CustomerStatus.TERMINATED, actor=actor),
           _status_consequence("terminated", SERVICES_STAY), done="{obj} terminated.", right=rights.END_CUSTOMER,
           danger=True, applies=lambda c: c.status != CustomerStatus.TERMINATED),
    Action("sync", "Sync now", lambda c, actor: sync_now([c], actor=actor), _sync_consequence,
           done="{obj}: sent to the carrier again.", applies=lambda c: bool(c.carrier_account_id)),
    Action("delete", "Delete", lambda c, actor: services.delete_customer(c, actor=actor), _delete_consequence,
           done="{obj} deleted.", right=rights.END_CUSTOMER, danger=True, refusal=services.deletion_refusal,
           after="list"),
]


class CustomerViewMixin:
    model = Customer

    def base_queryset(self):
        return Customer.objects.for_request(self.request).select_related("carrier_account")


class CustomerListView(CustomerViewMixin, ObjectListView):
    filterset_class = CustomerFilterSet
    table_class = CustomerTable
    actions = ACTIONS
    add_url_name = "customer_add"
    list_url_name = "customer_list"
    bulk_url_name = "customer_bulk"
    empty_text = "No customers yet: add your first one."


class CustomerBulkView(CustomerViewMixin, BulkActionView):
    actions = ACTIONS
    list_url_name = "customer_list"


class CustomerEditView(CustomerViewMixin, ObjectEditView):
    form_class = CustomerForm
    detail_url_name = "customer_detail"

    def form_kwargs(self, obj):
        reseller_id = obj.reseller_id if obj else self.access.reseller_id
        if obj is None and reseller_id is None:
            raise PermissionDenied("Platform admins add customers in the admin, where they choose the reseller.")
        return {**super().form_kwargs(obj or Customer(reseller_id=reseller_id)), "reseller": reseller_id}

    def cancel_fallback(self):
        return reverse("customer_list")

    def save(self, form, obj):
        values = form.values()
        if obj is None:
            return services.create_customer(reseller=form.instance.reseller, actor=self.request.user, **values)
        return services.update_customer(obj, actor=self.request.user, **values)


class CustomerServiceEditView(ObjectEditView):
    """Create or edit something a customer has (SIP account, trunk) through its service.

    ``?customer=<id>`` fixes the customer of a new one (the customer page's buttons),
    and Cancel goes back to that customer's tab.
    """

    create_service = None  # (customer=..., actor=..., **values) -> object or (object, secret)
    update_service = None  # (object, actor=..., **values) -> object
    customer_tab = ""
    list_url_name = ""

    def requested_customer(self):
        customer_id = self.request.GET.get("customer", "")
        if not customer_id.isdigit():
            return None
        return Customer.objects.for_request(self.request).filter(pk=int(customer_id)).first()

    def form_kwargs(self, obj):
        kwargs = super().form_kwargs(obj)
        if obj is None:
            kwargs["customer"] = self.requested_customer()
        return kwargs

    def cancel_fallback(self):
        customer = self.requested_customer()
        if customer is not None:
            return reverse("customer_detail_tab", args=[customer.pk, self.customer_tab])
        return reverse(self.list_url_name)

    def save(self, form, obj):
        values = form.values()
        customer = values.pop("customer", None)
        if obj is None:
            return type(self).create_service(customer=customer, actor=self.request.user, **values)
        return type(self).update_service(obj, actor=self.request.user, **values)


class CustomerActionView(CustomerViewMixin, ObjectActionView):
    actions = ACTIONS
    detail_url_name = "customer_detail"
    list_url_name = "customer_list"


class CustomerDetailView(CustomerViewMixin, ObjectDetailView):
    url_name = "customer_detail"
    list_url_name = "customer_list"
    actions = ACTIONS

    @property
    def tabs(self):
        from portal.numbers.views import NumberListView
        from portal.subscribers.views import SubscriberListView
        from portal.trunks.views import TrunkListView

        return [
            Tab("overview", "Overview", "customers/_overview.html"),
            Tab("sip-accounts", "SIP accounts", children=SubscriberListView),
            Tab("numbers", "Numbers", children=NumberListView),
            Tab("trunks", "Trunks", children=TrunkListView),
            Tab("forwards", "Call forwards", "customers/_forwards.html"),
            Tab("logins", "Logins", "customers/_logins.html"),
            Tab("sync", "Sync jobs", "ui/_sync_jobs.html"),
            Tab("history", "History", "ui/_history.html"),
        ]

    def extra_context(self, customer):
        from portal.ui.history import refused_deletes_of_customer

        tab = self.kwargs.get("tab") or "overview"
        context = {"customer": customer, "refused_deletes": refused_deletes_of_customer(self.request, customer)}
        if tab == "overview":
            from portal.numbers.models import Number
            from portal.subscribers.models import Subscriber
            from portal.trunks.models import Trunk

            context["counts"] = [
                ("SIP accounts", Subscriber.objects.for_request(self.request).filter(customer=customer).count(), "sip-accounts"),
                ("Numbers", Number.objects.for_request(self.request).filter(customer=customer).count(), "numbers"),
                ("Trunks", Trunk.objects.for_request(self.request).filter(customer=customer).count(), "trunks"),
            ]
        elif tab == "forwards":
            from portal.forwards.views import owners_with_forwards

            context["owners"] = owners_with_forwards(self.request, customer)
        elif tab == "logins":
            context.update(
                form=CustomerUserInviteForm(reseller=customer.reseller),
                logins=CustomerLogin.objects.for_request(self.request).filter(customer=customer).select_related("user"),
                invitations=Invitation.objects.for_request(self.request).pending().filter(customer=customer),
            )
        elif tab == "sync":
            from portal.ui.history import jobs_of_customer

            context["jobs"] = jobs_of_customer(self.request, customer)
        elif tab == "history":
            from portal.ui.history import history_of

            context["entries"] = history_of(customer)
        return context
