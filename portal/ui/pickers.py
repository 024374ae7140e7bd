"""The picker endpoint's registry: what each kind of object offers, and how a choice reads.

A domain app registers its kind once (``register("subscriber", ...)``); forms use
``PickerField(kind, ...)`` and the endpoint ``/staff/pick/<kind>/?q=…&customer=…``
answers the options for the search typed so far, scoped to the request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import render

from portal.tenancy.permissions import staff_required

MAX_OPTIONS = 20


@dataclass(frozen=True)
class Picker:
    queryset: Callable[[], QuerySet]  # the model's objects; scoped per request by the endpoint
    label: Callable[[object], str]
    search: Callable[[QuerySet, str], QuerySet]
    filters: tuple[str, ...] = ("customer",)  # query parameters that narrow the choice


_PICKERS: dict[str, Picker] = {}


def register(kind: str, picker: Picker) -> None:
    _PICKERS[kind] = picker


def label_of(kind: str) -> Callable[[object], str]:
    return _PICKERS[kind].label if kind in _PICKERS else str


@staff_required
def picker_options(request, kind: str):
    picker = _PICKERS.get(kind)
    if picker is None:
        raise Http404("No such picker.")
    queryset = picker.queryset().for_request(request)
    for name in picker.filters:
        value = request.GET.get(name, "")
        if value.isdigit():
            queryset = queryset.filter(**{name: int(value)})
    query = request.GET.get("q", "").strip()
    if query:
        queryset = picker.search(queryset, query)
    options = [(obj.pk, picker.label(obj)) for obj in queryset[:MAX_OPTIONS]]
    # The select's own value comes along (hx-include): keep it on offer while one searches.
    selected = request.GET.get(request.GET.get("field", ""), "")
    if selected.isdigit() and int(selected) not in {pk for pk, _ in options}:
        current = picker.queryset().for_request(request).filter(pk=int(selected)).first()
        if current is not None:
            options.insert(0, (current.pk, picker.label(current)))
    return render(
        request,
        "ui/widgets/_picker_options.html",
        {"options": options, "selected": int(selected) if selected.isdigit() else None, "query": query, "more": len(options) == MAX_OPTIONS},
    )
