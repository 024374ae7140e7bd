"""Pages for API tokens: a person makes (after confirming their password), lists and revokes
their own tokens; a manager also sees and revokes the tokens of the reseller's staff."""

from __future__ import annotations

from allauth.account.decorators import reauthentication_required
from django.urls import reverse
from django.utils.decorators import method_decorator

from portal.ui.history import history_of
from portal.ui.views import (
    Action,
    ObjectActionView,
    ObjectDetailView,
    ObjectEditView,
    ObjectListView,
    Tab,
    reveal_once,
)

from . import services
from .filtersets import TokenFilterSet
from .forms import TokenForm
from .models import ApiToken, TokenState
from .tables import TokenTable


def _revoke_consequence(token) -> str:
    return (f"“{token.description}” ({token.prefix}…) stops working at once: every request with it is refused "
            "from then on. This cannot be undone; make a new token if it is needed again.")


ACTIONS = [
    Action("revoke", "Revoke", lambda token, actor: services.revoke_token(token, actor=actor), _revoke_consequence,
           done="{obj} revoked.", danger=True, bulk=False, applies=lambda token: token.state != TokenState.REVOKED),
]


class TokenViewMixin:
    model = ApiToken

    def base_queryset(self):
        """One's own tokens; a manager also the tokens of everyone on the reseller's staff."""
        tokens = ApiToken.objects.for_request(self.request).select_related("user")
        if self.access.is_manager and self.access.reseller_id is not None:
            return tokens
        return tokens.filter(user=self.request.user)


class TokenListView(TokenViewMixin, ObjectListView):
    filterset_class = TokenFilterSet
    table_class = TokenTable
    actions = ACTIONS
    add_url_name = "apitoken_add"
    add_label = "Make a token"
    list_url_name = "apitoken_list"
    title = "API tokens"
    empty_text = "No API tokens yet. A token lets your own systems (CRM, billing) use the portal's REST API as you."

    def results(self, request, fixed=None, url=None):
        context = super().results(request, fixed, url)
        if not (self.access.is_manager and self.access.reseller_id is not None):
            context["table"].exclude = tuple(context["table"].exclude or ()) + ("user",)
        return context


@method_decorator(reauthentication_required, name="get")
@method_decorator(reauthentication_required, name="post")
class TokenCreateView(TokenViewMixin, ObjectEditView):
    """Confirming one's password first (allauth's reauthentication): a token outlives the session."""

    form_class = TokenForm
    detail_url_name = "apitoken_detail"

    def form_kwargs(self, obj):
        return {**super().form_kwargs(obj), "instance": ApiToken(user=self.request.user)}

    def cancel_fallback(self):
        return reverse("apitoken_list")

    def context(self, form, obj):
        return {**super().context(form, obj), "title": "New API token", "submit_label": "Make the token"}

    def save(self, form, obj):
        issued = services.create_token(
            self.request.user,
            description=form.cleaned_data["description"],
            write_enabled=form.cleaned_data["write_enabled"],
            allowed_ips=form.cleaned_data["allowed_ips"],
            expires_at=form.expires_at(),
        )
        return issued.token, issued.plaintext

    def done_message(self, obj, created):
        return f"Token “{obj.description}” made."

    def reveal(self, obj, secret, next_url):
        return reveal_once(self.request, obj, secret, next_url, label="API token",
                           hint="To get another one later, make a new token (and revoke this one).")


class TokenDetailView(TokenViewMixin, ObjectDetailView):
    template_name = "apitokens/detail.html"
    url_name = "apitoken_detail"
    list_url_name = "apitoken_list"
    actions = ACTIONS
    tabs = [Tab("overview", "Overview")]

    def extra_context(self, token):
        return {"title": token.description, "token": token, "entries": history_of(token),
                "docs_url": reverse("api:docs")}


class TokenActionView(TokenViewMixin, ObjectActionView):
    actions = ACTIONS
    detail_url_name = "apitoken_detail"
    list_url_name = "apitoken_list"
