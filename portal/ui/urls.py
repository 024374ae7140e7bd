"""URL patterns of one object type, named the same way for every type.

``object_urls("customer", list=..., detail=..., ...)`` gives ``customer_list``,
``customer_add``, ``customer_detail``, ``customer_detail_tab``, ``customer_edit``,
``customer_action`` and ``customer_bulk``; the generic views find each other by these names.
"""

from __future__ import annotations

from django.urls import path

from .pickers import picker_options
from .views import show_secret


def object_urls(name: str, *, list=None, add=None, detail=None, edit=None, action=None, bulk=None) -> list:
    patterns = []
    if list is not None:
        patterns.append(path("", list.as_view(), name=f"{name}_list"))
    if add is not None:
        patterns.append(path("add/", add.as_view(), name=f"{name}_add"))
    if bulk is not None:
        patterns.append(path("bulk/", bulk.as_view(), name=f"{name}_bulk"))
    if detail is not None:
        patterns.append(path("<int:pk>/", detail.as_view(), name=f"{name}_detail"))
    if edit is not None:
        patterns.append(path("<int:pk>/edit/", edit.as_view(), name=f"{name}_edit"))
    if action is not None:
        patterns.append(path("<int:pk>/do/<slug:action>/", action.as_view(), name=f"{name}_action"))
    if detail is not None:
        patterns.append(path("<int:pk>/<slug:tab>/", detail.as_view(), name=f"{name}_detail_tab"))
    return patterns


urlpatterns = [
    path("staff/pick/<slug:kind>/", picker_options, name="ui_picker"),
    path("staff/shown-once/<str:token>/", show_secret, name="ui_secret"),
]
