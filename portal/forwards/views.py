"""The forward editor's view mixin, and the staff pages that use it.

``ForwardEditorMixin`` needs ``get_owner()`` (a scoped subscriber or number) and
``done_url(owner)``; the self-service pages reuse it with their own scoping.
"""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import render
from django.urls import reverse

from portal.numbers.models import Number
from portal.subscribers.models import Subscriber
from portal.ui import rights
from portal.ui.views import ScopedView, client_redirect, htmx_partial

from . import services
from .editor import ForwardEditor, offer, owner_words
from .models import CallForward
from .preview import describe


class ForwardEditorMixin:
    template_name = "forwards/editor.html"

    def get_owner(self):
        raise NotImplementedError

    def done_url(self, owner) -> str:
        raise NotImplementedError

    def render_editor(self, editor, owner):
        context = {"editor": editor, "owner": owner, "owner_label": owner_words(owner),
                   "title": f"Call forwards of {owner_words(owner)}",
                   "back_url": self.done_url(owner), "preview": editor.preview()}
        template = f"{self.template_name}#editor" if htmx_partial(self.request) else self.template_name
        return render(self.request, template, context)

    def get(self, request, *args, **kwargs):
        owner = self.get_owner()
        return self.render_editor(ForwardEditor(owner, request), owner)

    def post(self, request, *args, **kwargs):
        owner = self.get_owner()
        editor = ForwardEditor(owner, request, request.POST)
        op = request.POST.get("op", "save")
        if op != "save":
            editor.apply(op)
            return self.render_editor(editor, owner)
        if editor.save(request.user):
            messages.success(request, f"Call forwards of {owner_words(owner)} saved; they are on their way to "
                             f"{editor.carrier}.")
            return client_redirect(request, self.done_url(owner))
        return self.render_editor(editor, owner)


class SubscriberForwardsView(ForwardEditorMixin, ScopedView):
    model = Subscriber
    right = rights.PROVISION

    def get_owner(self):
        return self.get_object()

    def base_queryset(self):
        return Subscriber.objects.for_request(self.request).select_related("customer", "carrier_account")

    def done_url(self, owner):
        return reverse("subscriber_detail_tab", args=[owner.pk, "forwards"])


class NumberForwardsView(ForwardEditorMixin, ScopedView):
    model = Number
    right = rights.PROVISION

    def get_owner(self):
        return self.get_object()

    def base_queryset(self):
        return Number.objects.for_request(self.request).select_related("customer", "carrier_account")

    def done_url(self, owner):
        return reverse("number_detail_tab", args=[owner.pk, "forwards"])


def forwards_unavailable(owner) -> str:
    """Why the owner can have no forwards at its carrier ("" when it can)."""
    types, reasons = offer(owner)
    return "" if types else " ".join(reasons)


def forwards_summary(owner) -> list[str]:
    """The owner's saved forwards in plain words (the detail pages' summary)."""
    return describe(services.to_specs(services.current_forwards(owner)), owner_words(owner))


def owners_with_forwards(request, customer) -> list[dict]:
    """Each of the customer's SIP accounts and numbers that has forwards: the forwards in
    plain words and each one's live sync state. One query for all of them."""
    from django.db.models import Q

    from .sync import forward_specs

    forwards = (CallForward.objects.for_request(request)
                .filter(Q(subscriber__customer=customer) | Q(number__customer=customer))
                .select_related("subscriber__carrier_account", "number__carrier_account")
                .prefetch_related("destinations", "windows")
                .order_by("subscriber_id", "number_id", "type"))
    grouped: dict[tuple[str, int], tuple[object, list[CallForward]]] = {}
    for forward in forwards:
        owner = forward.owner
        grouped.setdefault((forward.owner_kind, owner.pk), (owner, []))[1].append(forward)
    return [
        {"owner": owner, "label": owner_words(owner), "words": describe(forward_specs(rows), owner_words(owner)),
         "forwards": rows,
         "url": reverse(f"{kind}_detail_tab", args=[pk, "forwards"])}
        for (kind, pk), (owner, rows) in grouped.items()
    ]
