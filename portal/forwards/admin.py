from django.contrib import admin

from portal.core.admin import ScopedTabularInline, ServiceAdmin, service_call

from .models import CallForward, ForwardDestination, ForwardWindow
from .services import ForwardInput, WindowInput, current_forwards, set_forwards


class ForwardPartInline(ScopedTabularInline):
    """A part of a forward, reachable only through a forward the user may see."""

    def scoped_queryset(self, request):
        return self.model.objects.filter(forward__in=CallForward.objects.for_request(request))


class ForwardDestinationInline(ForwardPartInline):
    model = ForwardDestination
    fields = ["position", "target", "timeout"]


class ForwardWindowInline(ForwardPartInline):
    model = ForwardWindow
    fields = ["weekdays", "start_date", "start", "end_date", "end", "timezone"]


def kept_rows(formsets, model) -> list[dict]:
    """What the inline of ``model`` holds: its filled-in rows not marked for deletion."""
    return [
        form.cleaned_data
        for formset in formsets
        if formset.model is model
        for form in formset.forms
        if form.cleaned_data and not form.cleaned_data.get("DELETE")
    ]


def as_input(forward: CallForward, formsets) -> ForwardInput:
    """The forward as the admin form and its inlines have it."""
    destinations = sorted(kept_rows(formsets, ForwardDestination), key=lambda row: row["position"])
    windows = kept_rows(formsets, ForwardWindow)
    return ForwardInput(
        forward.type,
        forward.enabled,
        [(row["target"], row["timeout"]) for row in destinations],
        [WindowInput(list(row["weekdays"] or []), row["start"], row["end"], row["timezone"], row.get("start_date"),
                     row.get("end_date")) for row in windows],
    )


def forwards_without(owner, *types: str) -> list[ForwardInput]:
    return [forward for forward in current_forwards(owner) if forward.type not in types]


@admin.register(CallForward)
class CallForwardAdmin(ServiceAdmin):
    """A forward is written as part of its owner's set (``set_forwards``), parts and all.

    The set is built from the owner's current forwards with the edited one put in, or
    taken out on delete; the carrier receives the whole set.
    """

    list_display = ["__str__", "enabled", "carrier_account", "sync_badge"]
    list_filter = ["type", "enabled", "sync_state", ("carrier_account", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["subscriber", "number", "carrier_account"]
    search_fields = ["subscriber__username", "number__e164", "destinations__target"]
    autocomplete_fields = ["subscriber", "number"]
    readonly_fields = ["carrier_account"]  # always its owner's
    inlines = [ForwardDestinationInline, ForwardWindowInline]

    def save_model(self, request, obj, form, change):
        """Nothing yet: the forward is written with its parts, in ``save_related``."""

    def save_related(self, request, form, formsets, change):
        forward = form.instance
        original = CallForward.objects.get(pk=forward.pk) if change else None
        replaced = {forward.type}
        with service_call():
            if original is not None and original.owner == forward.owner:
                replaced.add(original.type)
            elif original is not None:  # moved to another owner: it leaves the old one's set
                set_forwards(original.owner, forwards_without(original.owner, original.type), actor=request.user)
            kept = set_forwards(
                forward.owner,
                [*forwards_without(forward.owner, *replaced), as_input(forward, formsets)],
                actor=request.user,
            )
        forward.pk = next(saved.pk for saved in kept if saved.type == forward.type)
        forward._state.adding = False
        forward.refresh_from_db()

    def construct_change_message(self, request, form, formsets, add=False):
        # The inlines were written as part of the set, not row by row; the audit log has their detail.
        return super().construct_change_message(request, form, None, add)

    def delete_object(self, request, forward):
        set_forwards(forward.owner, forwards_without(forward.owner, forward.type), actor=request.user)
