"""Landing pages: the staff home and customer pages, and the self-service home."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render

from portal.accounts.forms import CustomerUserInviteForm
from portal.accounts.models import Invitation
from portal.customers.models import Customer, CustomerLogin
from portal.forwards.models import CallForward
from portal.numbers.models import Number
from portal.subscribers.models import Subscriber
from portal.sync.models import SyncState
from portal.tenancy.permissions import customer_required, staff_required
from portal.trunks.models import Trunk

CUSTOMERS_PER_PAGE = 25

# What the staff home counts, in the order it shows them.
OVERVIEW = [
    ("Customers", Customer),
    ("Subscribers", Subscriber),
    ("Numbers", Number),
    ("Trunks", Trunk),
    ("Call forwards", CallForward),
]


@login_required
def home(request):
    """Where a login lands: staff on the staff home, customer users on self-service."""
    access = request.access
    if access.is_customer_user:
        return redirect("selfservice_home")
    if access.is_staff or access.is_platform_admin:
        return redirect("staff_home")
    raise PermissionDenied("This login belongs to no reseller or customer yet.")


@staff_required
def staff_home(request):
    overview = []
    for label, model in OVERVIEW:
        counts = model.objects.for_request(request).aggregate(
            total=Count("pk"), errors=Count("pk", filter=Q(sync_state=SyncState.ERROR))
        )
        overview.append({"label": label, **counts})
    context = {"overview": overview, "sync_errors": sum(row["errors"] for row in overview)}
    return render(request, "home/staff_home.html", context)


@staff_required
def customer_list(request):
    query = request.GET.get("q", "").strip()
    customers = Customer.objects.for_request(request)
    if query:
        customers = customers.filter(
            Q(name__icontains=query) | Q(email__icontains=query) | Q(external_ref__icontains=query)
        )
    page_obj = Paginator(customers, CUSTOMERS_PER_PAGE).get_page(request.GET.get("page"))
    context = {"page_obj": page_obj, "query": query}
    # A search typed into the box (htmx) only needs the results; a boosted or plain request the page.
    if request.htmx and not request.htmx.boosted:
        return render(request, "home/_customer_results.html", context)
    return render(request, "home/customer_list.html", context)


@staff_required
def customer_detail(request, pk: int):
    customer = get_object_or_404(Customer.objects.for_request(request).select_related("carrier_account"), pk=pk)
    context = {
        "customer": customer,
        "form": CustomerUserInviteForm(reseller=customer.reseller),
        "logins": CustomerLogin.objects.for_request(request).filter(customer=customer).select_related("user"),
        "invitations": Invitation.objects.for_request(request).pending().filter(customer=customer),
        **_services_of(request, customer),
    }
    return render(request, "home/customer_detail.html", context)


@customer_required
def selfservice_home(request):
    customer = get_object_or_404(Customer.objects.for_request(request), pk=request.access.customer_id)
    return render(request, "home/selfservice_home.html", {"customer": customer, **_services_of(request, customer)})


def _services_of(request, customer) -> dict:
    """The customer's subscribers, numbers and trunks, as far as this request may see them."""
    return {
        "subscribers": Subscriber.objects.for_request(request).filter(customer=customer).select_related("primary_number"),
        "numbers": Number.objects.for_request(request).filter(customer=customer).select_related("subscriber", "trunk"),
        "trunks": Trunk.objects.for_request(request).filter(customer=customer),
    }
