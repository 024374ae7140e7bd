"""Generic staff views: scoped list, detail with tabs, edit, confirmed actions, bulk actions.

Every view starts from ``Model.objects.for_request(request)``: an object outside the
user's scope is a 404, whatever the view. Writes go through the domain services (the
declaring view's ``save`` or an :class:`Action`'s ``run``); a service's refusal is shown
next to the field it names, with the input kept and status 200. After a write the scope
is checked again, inside the same transaction, so an edit cannot move an object out of
the user's reach.
"""

from __future__ import annotations

import csv
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db.models import Count, Window
from django.db import transaction
from django.http import Http404, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django_tables2 import RequestConfig

from . import rights
from .forms import add_refusal

log = logging.getLogger(__name__)

PER_PAGE = 25
MAX_PER_PAGE = 100


def htmx_partial(request) -> bool:
    """A fragment is wanted: htmx asked, and not for a boosted page or a history restore."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def safe_return_url(request, fallback: str) -> str:
    url = request.POST.get("return_url") or request.GET.get("return_url") or ""
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}):
        return url
    return fallback


def client_redirect(request, url: str) -> HttpResponse:
    """Go to ``url``: a plain redirect, or for htmx the header that makes the browser go there."""
    if getattr(request, "htmx", None):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)


# ------------------------------------------------------------------------ the base
class ScopedView(View):
    """A staff page about one model: login, role and right checked before anything else."""

    model: type | None = None
    right: str = rights.VIEW  # needed for every method; write views raise it
    title: str = ""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        access = getattr(request, "access", None)
        if access is None or not (access.is_staff or access.is_platform_admin):
            raise PermissionDenied("These pages are for reseller staff.")
        rights.require(access, self.right)
        return super().dispatch(request, *args, **kwargs)

    @property
    def access(self):
        return self.request.access

    def base_queryset(self):
        """The model's objects as this request may see them; views add their joins."""
        return self.model.objects.for_request(self.request)

    def get_queryset(self):
        return self.base_queryset()

    def get_object(self):
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    def verbose_name(self) -> str:
        return self.model._meta.verbose_name

    def verbose_name_plural(self) -> str:
        return self.model._meta.verbose_name_plural


# ------------------------------------------------------------------------ actions
@dataclass
class Action:
    """Something done to one object (or many) through a service, after a confirmation.

    ``consequence`` says what will happen, at the carrier too; ``refusal`` says why it
    cannot be done *before* anybody clicks (the button is replaced by the reason).
    """

    name: str
    label: str
    run: Callable[[Any, Any], Any]  # (obj, actor) -> result; raises ValidationError to refuse
    consequence: Callable[[Any], str]
    done: str = "{obj}: done."
    right: str = rights.PROVISION
    danger: bool = False
    applies: Callable[[Any], bool] = lambda obj: True
    refusal: Callable[[Any], str | None] = lambda obj: None
    bulk: bool = True
    after: str = "detail"  # where to go once done: "detail" or "list" (the object is gone)

    def refusal_for(self, obj, access) -> str | None:
        if not rights.may(access, self.right):
            return rights.REFUSALS.get(self.right, "Your role cannot do this.")
        return self.refusal(obj)


def describe_actions(actions, obj, access) -> list[dict]:
    """The actions that apply to ``obj``, each with the reason it is refused (or None)."""
    return [
        {"action": action, "refusal": action.refusal_for(obj, access)}
        for action in actions
        if action.applies(obj)
    ]


# ------------------------------------------------------------------------ lists
class ObjectListView(ScopedView):
    """A filtered, sorted, paginated table; CSV of the filtered view; bulk actions.

    htmx asks for the results only (they re-render in place); the URL keeps the state.
    """

    filterset_class = None
    table_class = None
    template_name = "ui/object_list.html"
    actions: list[Action] = []
    add_url_name: str | None = None  # the create page, offered in the header and the empty state
    add_label: str = ""  # its button ("Add <verbose name>" unless said)
    empty_text: str = ""
    intro: str = ""  # a line under the title: what the list is for
    subnav: str = ""  # a template of tabs that ties the list to its sibling pages
    list_url_name: str = ""
    bulk_url_name: str = ""

    def get_queryset(self):
        return self.base_queryset()

    def bulk_actions(self) -> list[Action]:
        return [a for a in self.actions if a.bulk and rights.may(self.access, a.right)]

    def results(self, request, fixed: dict | None = None, url: str | None = None) -> dict:
        """The filterset, table and page for ``request``; ``fixed`` filters cannot be changed (a tab)."""
        queryset = self.get_queryset()
        if fixed:
            queryset = queryset.filter(**fixed)
        filterset = self.filterset_class(request.GET or None, queryset=queryset, request=request)
        for name in fixed or ():
            filterset.form.fields.pop(name, None)
        rows, paginator = filterset.qs, Paginator
        if request.GET.get("q"):
            rows, paginator = rows.annotate(matching_rows=Window(Count("pk"))), CountedWithThePage
        # Configured once, below: given the request here, django-tables2 would paginate it
        # already (and count every matching row) with its defaults.
        table = self.table_class(rows)
        if not self.bulk_actions():
            table.exclude = tuple(table.exclude or ()) + ("select",)
        try:
            per_page = min(int(request.GET.get("per_page", PER_PAGE)), MAX_PER_PAGE)
        except ValueError:
            per_page = PER_PAGE
        RequestConfig(request, paginate={"per_page": max(per_page, 1), "paginator_class": paginator}).configure(table)
        list_url = url or reverse(self.list_url_name)
        return {
            "filter": filterset,
            "table": table,
            "list_url": list_url,
            "bulk_url": reverse(self.bulk_url_name) if self.bulk_url_name else "",
            "bulk_actions": self.bulk_actions(),
            "filtered": bool(request.GET.get("q") or any(
                v for k, v in request.GET.items() if k in filterset.form.fields
            )),
            "empty_text": self.empty_text or f"No {self.verbose_name_plural()} yet.",
            "add_url": self.add_url(fixed),
            "add_label": self.add_label or f"Add {self.verbose_name()}",
            "verbose_name": self.verbose_name(),
            "verbose_name_plural": self.verbose_name_plural(),
            "export_query": _with(request.GET, export="csv", page=None),
        }

    def add_url(self, fixed: dict | None = None) -> str:
        if not self.add_url_name or not rights.may(self.access, rights.PROVISION):
            return ""
        url = reverse(self.add_url_name)
        if fixed and "customer" in fixed:
            url += f"?customer={fixed['customer']}"
        return url

    def get(self, request, *args, **kwargs):
        context = self.results(request)
        if request.GET.get("export") == "csv":
            return csv_response(context["table"], self.verbose_name_plural())
        context.update(title=self.title or self.verbose_name_plural().capitalize(), intro=self.intro, subnav=self.subnav)
        if htmx_partial(request):
            return render(request, f"{self.template_name}#results", context)
        return render(request, self.template_name, context)


class CountedWithThePage(Paginator):
    """For a search: the number of matching rows comes with the page's rows, in the same
    query (``matching_rows``, ``COUNT(*) OVER ()``), instead of a second pass over every
    match (``COUNT(*)``) that is most of a search's cost on a large table. The query count
    stays the same however many rows match. A page past the end is counted as usual."""

    def page(self, number):
        try:
            number = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger("That page number is not an integer") from None
        if number < 1:
            raise EmptyPage("That page number is less than 1")
        bottom = (number - 1) * self.per_page
        rows = list(self.object_list[bottom:bottom + self.per_page])
        if not rows and number > 1:
            return super().page(number)  # past the end: EmptyPage, and the last page instead
        self.__dict__["count"] = rows[0].record.matching_rows if rows else 0  # Paginator.count is cached
        return self._get_page(rows, number, self)


def _with(query, **changes) -> str:
    params = query.copy()
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    return params.urlencode()


class _Echo:
    def write(self, value):
        return value


def csv_response(table, name: str) -> StreamingHttpResponse:
    """The filtered rows (every page) as CSV, with the table's visible columns."""
    writer = csv.writer(_Echo())
    columns = [c for c in table.columns if c.name != "select"]

    def rows():
        yield writer.writerow([str(c.header) for c in columns])
        for row in table.rows:  # every row, not only the page
            yield writer.writerow([_csv_safe(row.get_cell_value(c.name)) for c in columns])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name.replace(" ", "-")}.csv"'
    return response


def _csv_safe(value) -> str:
    text = "" if value is None else str(value)
    # A cell that starts like a formula is run by spreadsheets: make it plain text.
    return "'" + text if text[:1] in ("=", "+", "-", "@") and not text[1:].replace(" ", "").isdigit() else text


class BulkActionView(ScopedView):
    """POST the chosen rows and an action: a confirmation first, then the action on each."""

    right = rights.PROVISION
    actions: list[Action] = []
    list_url_name = ""
    template_name = "ui/bulk_confirm.html"

    def post(self, request, *args, **kwargs):
        by_name = {a.name: a for a in self.actions if a.bulk}
        action = by_name.get(request.POST.get("action", ""))
        if action is None:
            raise Http404("No such action.")
        rights.require(self.access, action.right)
        pks = [int(pk) for pk in request.POST.getlist("pk") if pk.isdigit()]
        objects = list(self.get_queryset().filter(pk__in=pks))
        return_url = safe_return_url(request, reverse(self.list_url_name))
        if not objects:
            messages.warning(request, "Choose at least one row first.")
            return client_redirect(request, return_url)
        rows = [{"object": obj, "refusal": action.refusal_for(obj, self.access) if action.applies(obj)
                 else "Does not apply to this one."} for obj in objects]
        if request.POST.get("confirm") != "yes":
            context = {"action": action, "rows": rows, "return_url": return_url,
                       "doable": sum(1 for r in rows if not r["refusal"]), "title": action.label}
            return render(request, self.template_name, context)
        done, refused = 0, []
        for row in rows:
            if row["refusal"]:
                refused.append(f"{row['object']}: {row['refusal']}")
                continue
            try:
                action.run(row["object"], request.user)
            except ValidationError as exc:
                refused.append(f"{row['object']}: {' '.join(exc.messages)}")
            else:
                done += 1
        if done:
            messages.success(request, f"{action.label}: {done} done.")
        if refused:
            messages.error(request, f"{action.label}: {len(refused)} not done. " + " ".join(refused))
        return client_redirect(request, return_url)


# ------------------------------------------------------------------------ detail
@dataclass
class Tab:
    name: str
    label: str
    template: str = ""  # a template (or "file.html#partial") showing this tab
    children: type[ObjectListView] | None = None  # a child list, fixed to this object
    parent_field: str = "customer"
    count: Callable[[Any], int] | None = None


class ObjectDetailView(ScopedView):
    template_name = "ui/object_detail.html"
    tabs: list[Tab] = []
    actions: list[Action] = []
    url_name = ""
    list_url_name = ""

    def extra_context(self, obj) -> dict:
        return {}

    def get(self, request, *args, **kwargs):
        obj = self.get_object()
        tab_name = self.kwargs.get("tab") or (self.tabs[0].name if self.tabs else "")
        tab = next((t for t in self.tabs if t.name == tab_name), None)
        if tab is None:
            raise Http404("No such tab.")
        context = {
            "object": obj,
            "title": str(obj),
            "tabs": self.tabs,
            "tab": tab,
            "actions": describe_actions(self.actions, obj, self.access),
            "object_name": self.verbose_name(),
            "detail_url": reverse(self.url_name, args=[obj.pk]),
            "list_url_top": reverse(self.list_url_name) if self.list_url_name else "",
            "list_name_top": self.verbose_name_plural(),
            **self.extra_context(obj),
        }
        if tab.children is not None:
            child = tab.children()
            child.setup(request)
            url = reverse(self.url_name + "_tab", args=[obj.pk, tab.name])
            context.update(child.results(request, fixed={tab.parent_field: obj.pk}, url=url))
            if htmx_partial(request):
                return render(request, f"{child.template_name}#results", context)
        return render(request, self.template_name, context)


class ObjectActionView(ScopedView):
    """One :class:`Action` on one object: GET confirms (or says why not), POST does it."""

    actions: list[Action] = []
    template_name = "ui/action_confirm.html"
    detail_url_name = ""
    list_url_name = ""

    def action(self) -> Action:
        action = next((a for a in self.actions if a.name == self.kwargs["action"]), None)
        if action is None:
            raise Http404("No such action.")
        return action

    def get(self, request, *args, **kwargs):
        obj, action = self.get_object(), self.action()
        if not action.applies(obj):
            raise Http404("This action does not apply to this object.")
        refusal = action.refusal_for(obj, self.access)
        context = {"object": obj, "action": action, "refusal": refusal, "title": f"{action.label}: {obj}",
                   "consequence": action.consequence(obj), "verbose_name": self.verbose_name(),
                   "back_url": reverse(self.detail_url_name, args=[obj.pk])}
        return render(request, self.template_name, context)

    def post(self, request, *args, **kwargs):
        obj, action = self.get_object(), self.action()
        if not action.applies(obj):
            raise Http404("This action does not apply to this object.")
        rights.require(self.access, action.right)
        refusal = action.refusal_for(obj, self.access)
        if refusal is None:
            try:
                result = action.run(obj, request.user)
            except ValidationError as exc:
                refusal = " ".join(exc.messages)
            else:
                messages.success(request, action.done.format(obj=obj))
                secret = _secret_of(result)
                after = (reverse(self.list_url_name) if action.after == "list"
                         else reverse(self.detail_url_name, args=[obj.pk]))
                if secret:
                    return client_redirect(request, reveal_once(request, obj, secret, after))
                return client_redirect(request, after)
        messages.error(request, f"{action.label}: {refusal}")
        return client_redirect(request, reverse(self.detail_url_name, args=[obj.pk]))


def _secret_of(result) -> str | None:
    """Services return a new password as a plain string, or beside the object."""
    if isinstance(result, str):
        return result
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], str):
        return result[1]
    return None


# ------------------------------------------------------------------------ edit
class ObjectEditView(ScopedView):
    """Create (no ``pk``) or change one object through a service.

    ``save(form, obj)`` calls the service and returns the object, or ``(object, secret)``
    when the service made a password to show once. ``?validate=1`` (htmx, as a field is
    left) re-renders the form with the errors of the fields filled so far, saving nothing.
    """

    right = rights.PROVISION
    form_class = None
    template_name = "ui/object_edit.html"
    detail_url_name = ""

    def get_object(self):
        return super().get_object() if "pk" in self.kwargs else None

    def form_kwargs(self, obj) -> dict:
        return {"instance": obj, "request": self.request}

    def save(self, form, obj):
        raise NotImplementedError

    def success_url(self, obj) -> str:
        return reverse(self.detail_url_name, args=[obj.pk])

    def done_message(self, obj, created: bool) -> str:
        return f"{self.verbose_name().capitalize()} “{obj}” {'created' if created else 'saved'}."

    def context(self, form, obj) -> dict:
        name = self.verbose_name()
        return {
            "form": form,
            "object": obj,
            "title": f"Edit {name} {obj}" if obj else f"New {name}",
            "verbose_name": name,
            "cancel_url": self.success_url(obj) if obj else safe_return_url(self.request, self.cancel_fallback()),
            "submit_label": "Save" if obj else f"Create {name}",
            "validate_url": self.request.path + "?" + _with(self.request.GET, validate="1"),
        }

    def cancel_fallback(self) -> str:
        return reverse("staff_home")

    def get(self, request, *args, **kwargs):
        obj = self.get_object()
        form = self.form_class(**self.form_kwargs(obj))
        return render(request, self.template_name, self.context(form, obj))

    def post(self, request, *args, **kwargs):
        obj = self.get_object()
        form = self.form_class(data=request.POST, **self.form_kwargs(obj))
        if request.GET.get("validate"):
            form.is_valid()
            _only_errors_of_filled_fields(form)
            return render(request, f"{self.template_name}#form", self.context(form, obj))
        if form.is_valid():
            try:
                with transaction.atomic():
                    result = self.save(form, obj)
                    saved = result[0] if isinstance(result, tuple) else result
                    if not self.get_queryset().filter(pk=saved.pk).exists():
                        raise PermissionDenied("That change would take the object out of your reach.")
            except ValidationError as exc:
                add_refusal(form, exc)
            else:
                messages.success(request, self.done_message(saved, created=obj is None))
                secret = _secret_of(result)
                url = self.success_url(saved)
                if secret:
                    url = self.reveal(saved, secret, url)
                return client_redirect(request, url)
        status = 200  # htmx swaps 200s only; the invalid form comes back in place, input kept
        if htmx_partial(request):
            return render(request, f"{self.template_name}#form", self.context(form, obj), status=status)
        return render(request, self.template_name, self.context(form, obj), status=status)

    def reveal(self, obj, secret: str, next_url: str) -> str:
        """Where the secret the service made is shown once (a password, unless said)."""
        return reveal_once(self.request, obj, secret, next_url)


def _only_errors_of_filled_fields(form) -> None:
    """While a form is being filled in, a field not reached yet is not an error."""
    for name in list(form.errors):
        if name != "__all__" and not form.data.get(form.add_prefix(name)):
            del form.errors[name]
    form.errors.pop("__all__", None)


# ------------------------------------------------------------------------ secrets
SECRET_KEY_PREFIX = "ui-secret-"


def reveal_once(request, obj, secret: str, next_url: str, *, label: str = "password",
                hint: str = "To get another one later, reset it.") -> str:
    """Keep ``secret`` server-side (the session lives in the database) for one showing.

    Returns the page that shows it; that page forgets it as it shows it. Never a
    message, never a cookie value. ``label`` names the secret, ``hint`` says how to get a new one.
    """
    token = secrets.token_urlsafe(16)
    request.session[SECRET_KEY_PREFIX + token] = {"secret": secret, "object": str(obj), "next": next_url,
                                                  "label": label, "hint": hint}
    return reverse("ui_secret", args=[token])


def show_secret(request, token: str):
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not (request.access.is_staff or request.access.is_platform_admin):
        raise PermissionDenied("This page is for reseller staff.")  # customers have their own (/my/)
    entry = request.session.pop(SECRET_KEY_PREFIX + token, None)
    label = entry.get("label", "password") if entry else "password"
    response = render(request, "ui/secret_once.html", {"entry": entry, "title": f"New {label}"})
    response["Cache-Control"] = "no-store"
    return response
