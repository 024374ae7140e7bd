"""What every admin page does with input it cannot use: a 400, never a 500.

Kept apart from portal/core/admin.py (which imports the domain models) so that the admin
site can mix it into other apps' model admins while they are being registered.
"""

from __future__ import annotations

from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import BadRequest, ValidationError
from django.db import DataError


def is_valid_key(target_field, value) -> bool:
    """Whether ``value`` can be looked up in ``target_field`` ("abc" or 10**30 for an integer key cannot)."""
    try:
        target_field.run_validators(target_field.to_python(value))
    except (ValidationError, ValueError, TypeError):
        return False
    return True


class PortalChangeList(ChangeList):
    """A change list for which a malformed filter is the visitor's error, never the server's.

    Django's date hierarchy computes the next year, month or day with ``datetime``, which
    overflows for ``?created_at__year=9999``; that and its like are wrong parameters.
    """

    def get_filters(self, request):
        try:
            return super().get_filters(request)
        except (ValueError, OverflowError) as exc:
            raise IncorrectLookupParameters(exc) from exc


class RefusesMalformedInput:
    """A list filter, ordering, page or action selection the admin cannot apply is a 400.

    PortalAdminSite.register mixes it into every model admin, the portal's and other apps'.
    """

    def response_action(self, request, queryset):
        pk = self.model._meta.pk
        if not all(is_valid_key(pk, value) for value in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)):
            raise BadRequest("The selection names objects that cannot exist.")
        return super().response_action(request, queryset)

    def get_changelist(self, request, **kwargs):
        return PortalChangeList

    def get_changelist_instance(self, request):
        """A filter, ordering or page the list cannot apply is a 400 with the reason.

        (Django's admin would redirect to ``?e=1`` for some and crash on others: a
        number too large for the database, a year past 9999.)
        """
        try:
            return super().get_changelist_instance(request)
        except (IncorrectLookupParameters, ValidationError, ValueError, OverflowError, DataError) as exc:
            raise BadRequest(f"This list cannot be filtered that way: {exc}") from exc
