"""The staff pages' generic layer: scoped list, detail, edit, delete, bulk and picker views.

Each domain app declares its pages with these (queryset, filterset, table, form, the
service to call); nothing here names a domain model.
"""
