"""The self-service pages: what a customer's own users see and change (``/my/``).

Every view starts from ``Model.objects.for_request(request)`` with the customer user's
access (or, for staff viewing as the customer, that customer's access): anything outside
the customer is a 404. Writes go through the domain services with the logged-in user as
actor; a refusal comes back next to its field, input kept, nothing saved. The forward
editor is the staff pages' own (``forwards.views.ForwardEditorMixin``).
"""

from __future__ import annotations

from allauth.account.adapter import get_adapter
from allauth.account.decorators import reauthentication_required
from allauth.core.exceptions import ReauthenticationRequired
from allauth.mfa.models import Authenticator
from django.contrib import messages
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import resolve, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.functional import cached_property
from django.utils.http import urlencode
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from portal.accounts import services as account_services
from portal.accounts.forms import CustomerUserInviteForm
from portal.accounts.models import Invitation
from portal.customers.models import Customer, CustomerLogin, SelfServiceRouting
from portal.customers.views import login_removal_context, remove_login
from portal.forwards.editor import offer
from portal.forwards.models import CallForward
from portal.forwards.preview import target_words
from portal.forwards.views import ForwardEditorMixin
from portal.numbers.models import EmergencyAddress, Number, NumberStatus
from portal.numbers.services import update_number
from portal.subscribers.models import Subscriber
from portal.subscribers.services import reset_sip_password
from portal.tenancy.permissions import staff_required
from portal.trunks.models import Trunk
from portal.ui.forms import add_refusal
from portal.ui.views import SECRET_KEY_PREFIX, reveal_once

from . import activity, services, viewas
from .forms import ProfileForm, RoutingForm, SendSettingsForm
from .models import PhoneSettingsLink
from .words import (
    forward_words,
    forwards_by_owner,
    forwards_status,
    routing_words,
    status_of,
)

USER_MANAGEMENT_WHILE_VIEWING = "Not while you view as the customer: their logins are theirs to manage."


class SelfServicePage(View):
    """A page of one customer's self-service: a customer user's, or staff viewing as the customer."""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.access.is_customer_user:
            raise PermissionDenied("These pages are for customer logins. Staff open them with “View as customer” "
                                   "on the customer’s page.")
        return super().dispatch(request, *args, **kwargs)

    @cached_property
    def customer(self) -> Customer:
        customers = Customer.objects.for_request(self.request).select_related("reseller")
        return get_object_or_404(customers, pk=self.request.access.customer_id)

    @property
    def viewing_as(self) -> bool:
        return self.request.view_as is not None

    def render(self, template: str, context: dict, status: int = 200):
        return render(self.request, template, {"customer": self.customer, **context}, status=status)


def _forwards(request, **owners):
    """The customer's forwards (of the owners given), ready to be told in words: one query each."""
    return (CallForward.objects.for_request(request).filter(**owners)
            .prefetch_related("destinations", "windows").order_by("type"))


def _numbers(request, customer):
    return (Number.objects.for_request(request).filter(customer=customer).exclude(status=NumberStatus.RELEASED)
            .select_related("subscriber", "trunk", "carrier_account"))


def _phones(request, customer):
    return Subscriber.objects.for_request(request).filter(customer=customer)


class HomeView(SelfServicePage):
    """Every number, phone and phone system of the customer, with where calls go in plain words."""

    def get(self, request):
        customer = self.customer
        numbers = list(_numbers(request, customer))
        subscribers = list(Subscriber.objects.for_request(request).filter(customer=customer)
                           .select_related("carrier_account").prefetch_related(
                               Prefetch("numbers", queryset=Number.objects.exclude(status=NumberStatus.RELEASED))))
        trunks = list(Trunk.objects.for_request(request).filter(customer=customer)
                      .select_related("carrier_account").prefetch_related("numbers"))
        grouped = forwards_by_owner(_forwards(request, subscriber__customer=customer)) | forwards_by_owner(
            _forwards(request, number__customer=customer))
        for subscriber in subscribers:
            subscriber.forwards_here = grouped.get(("subscriber", subscriber.pk), [])
            subscriber.words = forward_words(subscriber, subscriber.forwards_here)
        by_pk = {s.pk: s for s in subscribers}
        for number in numbers:
            number.forwards_here = grouped.get(("number", number.pk), [])
            number.words = [routing_words(number), *forward_words(number, number.forwards_here)]
            if number.subscriber_id in by_pk:
                number.words += by_pk[number.subscriber_id].words
        return self.render("selfservice/home.html", {"numbers": numbers, "subscribers": subscribers,
                                                      "trunks": trunks, "title": "Your services"})


# ------------------------------------------------------------------ one number, phone, trunk
class NumberPage(SelfServicePage):
    def get_number(self) -> Number:
        return get_object_or_404(_numbers(self.request, self.customer), pk=self.kwargs["pk"])

    def get(self, request, pk: int):
        number = self.get_number()
        forwards = list(_forwards(request, number=number))
        subscriber_forwards = list(_forwards(request, subscriber=number.subscriber)) if number.subscriber_id else []
        words = [routing_words(number), *forward_words(number, forwards)]
        if number.subscriber_id:
            words += forward_words(number.subscriber, subscriber_forwards)
        return self.render("selfservice/number.html", {
            "number": number, "words": words, "forwards": forwards, "forwards_offered": bool(offer(number)[0]), "routing": routing_offer(number),
            "emergency": EmergencyAddress.objects.for_request(request).filter(number=number).first(),
            "title": number.e164,
        })


def routing_offer(number) -> str:
    """Why the number's routing cannot be changed here ("" when it can)."""
    caps = number.carrier_account.capabilities if number.carrier_account_id else None
    if caps is None or not caps.number_config:
        return "Where this number’s calls go is set up by us; ask us to change it."
    if number.customer.self_service_routing == SelfServiceRouting.LOCKED:
        return "Your provider changes where this number’s calls go; ask us to change it."
    return ""


class PhonePage(SelfServicePage):
    def get_subscriber(self) -> Subscriber:
        return get_object_or_404(_phones(self.request, self.customer).select_related("carrier_account"),
                                 pk=self.kwargs["pk"])

    def get(self, request, pk: int):
        subscriber = self.get_subscriber()
        forwards = list(_forwards(request, subscriber=subscriber))
        numbers = _numbers(request, self.customer).filter(subscriber=subscriber)
        links = services.with_states(subscriber, PhoneSettingsLink.objects.for_request(request)
                                     .filter(subscriber=subscriber)[:5])
        return self.render("selfservice/phone.html", {
            "subscriber": subscriber, "forwards": forwards, "words": forward_words(subscriber, forwards),
            "forwards_offered": bool(offer(subscriber)[0]),
            "numbers": numbers, "links": links, "title": subscriber.username,
        })


class TrunkPage(SelfServicePage):
    def get(self, request, pk: int):
        trunks = Trunk.objects.for_request(request).filter(customer=self.customer).select_related("carrier_account")
        trunk = get_object_or_404(trunks, pk=pk)
        numbers = _numbers(request, self.customer).filter(trunk=trunk)
        return self.render("selfservice/trunk.html", {"trunk": trunk, "numbers": numbers, "title": trunk.name})


# ------------------------------------------------------------------ call forwards (the staff editor)
class NumberForwardsView(ForwardEditorMixin, NumberPage):
    def get_owner(self):
        return self.get_number()

    def done_url(self, owner) -> str:
        return reverse("selfservice_number", args=[owner.pk])


class PhoneForwardsView(ForwardEditorMixin, PhonePage):
    def get_owner(self):
        return self.get_subscriber()

    def done_url(self, owner) -> str:
        return reverse("selfservice_phone", args=[owner.pk])


# ------------------------------------------------------------------ a number's routing
class RoutingView(NumberPage):
    def get_number(self) -> Number:
        number = super().get_number()
        refusal = routing_offer(number)
        if refusal:
            raise PermissionDenied(refusal)
        return number

    def initial(self, number) -> dict:
        where = "subscriber" if number.subscriber_id else "trunk" if number.trunk_id else "destination"
        return {"where": where, "subscriber": number.subscriber_id, "trunk": number.trunk_id,
                "destination": target_words(number.destination) if number.destination else ""}

    def get(self, request, pk: int):
        number = self.get_number()
        form = RoutingForm(request=request, number=number, initial=self.initial(number))
        return self.page(number, form)

    def post(self, request, pk: int):
        number = self.get_number()
        form = RoutingForm(request.POST, request=request, number=number)
        if form.is_valid():
            try:
                update_number(number, actor=request.user, **form.values())
            except ValidationError as exc:
                add_refusal(form, exc)
            else:
                messages.success(request, "Saved: the change is on its way to the carrier.")
                return redirect("selfservice_number", pk=number.pk)
        return self.page(number, form)

    def page(self, number, form):
        return self.render("selfservice/routing.html", {"number": number, "form": form,
                                                         "title": f"Where calls to {number} go"})


# ------------------------------------------------------------------ SIP passwords
def recently_reauthenticated(request) -> bool:
    """Whether allauth counts the user's password (or MFA code) as typed again in the last minutes."""
    try:
        reauthentication_required(lambda request: None)(request)
    except ReauthenticationRequired:
        return False
    return True


def reauthenticate_first(request, then: str):
    """To allauth's page that asks for the password again; back to ``then`` (the confirmation page).

    The change itself is not replayed after the password (allauth can resume a POST, but it
    would run outside this page's own request, without the customer's access): the person
    presses the button again, now confirmed.
    """
    methods = get_adapter(request).get_reauthentication_methods(request.user)
    if not methods:
        raise PermissionDenied("This login has no way to confirm it is you.")
    messages.info(request, "Confirm it is you first; then press the button again.")
    return redirect(f"{methods[0]['url']}?{urlencode({REDIRECT_FIELD_NAME: then})}")


class PasswordResetView(PhonePage):
    """A new SIP password, shown once; only with the password (or MFA) typed again in the last minutes."""

    def get(self, request, pk: int):
        return self.render("selfservice/password_reset.html", {
            "subscriber": self.get_subscriber(), "title": "New SIP password",
            "confirmed": recently_reauthenticated(request)})

    def post(self, request, pk: int):
        subscriber = self.get_subscriber()
        if not recently_reauthenticated(request):
            return reauthenticate_first(request, request.path)
        password = reset_sip_password(subscriber, actor=request.user)
        messages.success(request, f"{subscriber.username} has a new password; the phone needs it to register.")
        staff_page = reveal_once(request, subscriber, password, reverse("selfservice_phone", args=[subscriber.pk]))
        return redirect("selfservice_secret", token=resolve(staff_page).kwargs["token"])


class ShownOnceView(SelfServicePage):
    """The new password, this once: the session forgets it as the page is made."""

    @method_decorator(never_cache)
    def get(self, request, token: str):
        entry = request.session.pop(SECRET_KEY_PREFIX + token, None)
        return self.render("ui/secret_once.html", {"entry": entry, "title": "New password"})


class SendSettingsView(PhonePage):
    def get(self, request, pk: int):
        subscriber = self.get_subscriber()
        email = request.GET.get("email") or ("" if self.viewing_as else request.user.email)
        return self.page(subscriber, SendSettingsForm(initial={"email": email}))

    def post(self, request, pk: int):
        subscriber = self.get_subscriber()
        form = SendSettingsForm(request.POST)
        if form.is_valid():
            if not recently_reauthenticated(request):
                then = f"{request.path}?{urlencode({'email': form.cleaned_data['email']})}"
                return reauthenticate_first(request, then)
            link = services.send_phone_settings(subscriber, email=form.cleaned_data["email"], actor=request.user,
                                                site_url=request.build_absolute_uri("/"))
            messages.success(request, f"Sent to {link.email}. The link shows the new password once, until "
                             f"{timezone.localtime(link.expires_at):%d %b %H:%M}.")
            return redirect("selfservice_phone", pk=subscriber.pk)
        return self.page(subscriber, form)

    def page(self, subscriber, form):
        return self.render("selfservice/send_settings.html", {
            "subscriber": subscriber, "form": form, "title": "Send the phone settings",
            "confirmed": recently_reauthenticated(self.request)})


# ------------------------------------------------------------------ activity
class ActivityView(SelfServicePage):
    def get(self, request):
        page = Paginator(activity.entries_of(self.customer), 25).get_page(request.GET.get("page"))
        return self.render("selfservice/activity.html", {
            "page_obj": page, "rows": activity.rows(page.object_list, self.customer, request),
            "pending": activity.pending_changes(request, self.customer), "title": "Activity",
        })


# ------------------------------------------------------------------ the account
class AccountView(SelfServicePage):
    def get(self, request):
        return self.page()

    def post(self, request):
        if self.viewing_as:
            raise PermissionDenied(USER_MANAGEMENT_WHILE_VIEWING)
        form = ProfileForm(request.POST)
        if form.is_valid():
            account_services.update_profile(request.user, **form.cleaned_data)
            messages.success(request, "Your name is saved.")
            return redirect("selfservice_account")
        return self.page(form)

    def page(self, form=None, invite_form=None):
        customer, request = self.customer, self.request
        form = form or ProfileForm(initial={"first_name": request.user.first_name, "last_name": request.user.last_name})
        logins = (CustomerLogin.objects.for_request(request).filter(customer=customer)
                  .select_related("user").order_by("user__email"))
        return self.render("selfservice/account.html", {
            "form": form, "title": "Your account",
            "logins": logins,
            "invitations": Invitation.objects.for_request(request).pending().filter(customer=customer),
            "invite_form": invite_form or CustomerUserInviteForm(reseller=customer.reseller, label_suffix=""),
            "may_manage": request.access.customer_admin and not self.viewing_as,
            "has_mfa": Authenticator.objects.filter(user=request.user, type=Authenticator.Type.TOTP).exists(),
        })


class ColleaguesView(AccountView):
    """A customer admin invites a colleague, revokes an invitation or removes a login."""

    http_method_names = ["post"]

    def check(self):
        if self.viewing_as:
            raise PermissionDenied(USER_MANAGEMENT_WHILE_VIEWING)
        if not self.request.access.customer_admin:
            raise PermissionDenied("Only your organisation’s admins invite and remove colleagues.")

    def post(self, request):
        self.check()
        form = CustomerUserInviteForm(request.POST, reseller=self.customer.reseller, label_suffix="")
        if form.is_valid():
            try:
                invitation = account_services.invite_customer_user(
                    customer=self.customer, email=form.cleaned_data["email"], invited_by=request.user,
                    site_url=request.build_absolute_uri("/"))
            except ValidationError as exc:
                add_refusal(form, exc)
            else:
                messages.success(request, f"Invitation sent to {invitation.email}.")
                return redirect("selfservice_account")
        return self.page(invite_form=form)


class RevokeInvitationView(ColleaguesView):
    def post(self, request, pk: int):
        self.check()
        invitations = Invitation.objects.for_request(request).pending().filter(customer=self.customer)
        invitation = get_object_or_404(invitations, pk=pk)
        account_services.revoke_invitation(invitation)
        messages.success(request, f"The invitation to {invitation.email} was revoked.")
        return redirect("selfservice_account")


class RemoveColleagueView(ColleaguesView):
    http_method_names = ["get", "post"]

    def login(self, pk: int) -> CustomerLogin:
        logins = CustomerLogin.objects.for_request(self.request).filter(customer=self.customer).select_related("user")
        return get_object_or_404(logins, pk=pk)

    def get(self, request, pk: int):
        self.check()
        back = reverse("selfservice_account")
        return self.render("ui/action_confirm.html", login_removal_context(self.login(pk), request.user, back))

    def post(self, request, pk: int):
        self.check()
        remove_login(request, self.login(pk))
        return redirect("selfservice_account")


# ------------------------------------------------------------------ live status
# What a page may poll, by the name in its URL: (the customer's objects of the kind, their forwards?).
POLLED = {
    "number": (_numbers, False),
    "phone": (_phones, False),
    "trunk": (lambda request, customer: Trunk.objects.for_request(request).filter(customer=customer), False),
    "number-forwards": (_numbers, True),
    "phone-forwards": (_phones, True),
}


class StatusView(SelfServicePage):
    """An object's (or its forwards') state in words, for pages that poll it until it is final."""

    def get(self, request, kind: str, pk: int):
        if kind not in POLLED:
            raise Http404("No such kind of object.")
        objects, of_forwards = POLLED[kind]
        obj = get_object_or_404(objects(request, self.customer), pk=pk)
        if of_forwards:
            owner = {"number" if isinstance(obj, Number) else "subscriber": obj}
            status = forwards_status(list(CallForward.objects.for_request(request).filter(**owner)))
        else:
            status = status_of(obj)
        return render(request, "selfservice/_status.html", {"status": status, "kind": kind, "pk": pk})


# ------------------------------------------------------------------ view as (staff)
@staff_required
@require_POST
def view_as_start(request, pk: int):
    customer = get_object_or_404(Customer.objects.for_request(request), pk=pk)
    viewas.start(request, customer)
    return redirect("selfservice_home")


@staff_required
@require_POST
def view_as_stop(request):
    customer_id = viewas.stop(request)
    if customer_id and Customer.objects.for_request(request).filter(pk=customer_id).exists():
        return redirect("customer_detail", pk=customer_id)
    return redirect("staff_home")


# ------------------------------------------------------------------ the one-time link (no login)
@never_cache
def phone_settings(request, token: str):
    """The page a phone-settings mail links to: the settings, and the password once, on request.

    Opening the link shows the settings only; the password needs a button press (a POST),
    so a mail scanner that follows links cannot use it up.
    """
    link = services.link_of(token)
    if link is None:
        return _link_gone(request)
    subscriber = link.subscriber
    request.brand_reseller_id = subscriber.customer.reseller_id
    password, outdated = None, False
    if request.method == "POST":
        try:
            password = services.reveal_password(link)
        except services.LinkOutdated:
            outdated = True
        except services.LinkUnusable:
            return _link_gone(request)
    response = render(request, "selfservice/phone_settings.html", {
        "subscriber": subscriber, "link": link, "password": password, "outdated": outdated,
        "title": "Your phone settings"})
    # The link's token never leaves in a Referer: the portal's policy (same-origin) sends none to
    # other sites. (no-referrer would also make the browser post "Origin: null", failing CSRF.)
    response["X-Robots-Tag"] = "noindex"
    return response


def _link_gone(request):
    return render(request, "selfservice/phone_settings_gone.html", {"title": "Link used or expired"}, status=410)
