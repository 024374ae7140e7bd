from django.contrib import admin

from portal.core.admin import ScopedAdmin, ScopedTabularInline

from .models import CallForward, ForwardDestination, ForwardWindow


class ForwardPartInline(ScopedTabularInline):
    """A part of a forward, reachable only through a forward the user may see."""

    def scoped_queryset(self, request):
        return self.model.objects.filter(forward__in=CallForward.objects.for_request(request))


class ForwardDestinationInline(ForwardPartInline):
    model = ForwardDestination
    fields = ["position", "target", "timeout"]


class ForwardWindowInline(ForwardPartInline):
    model = ForwardWindow
    fields = ["weekdays", "start", "end", "timezone"]


@admin.register(CallForward)
class CallForwardAdmin(ScopedAdmin):
    list_display = ["__str__", "enabled", "carrier_account", "sync_badge"]
    list_filter = ["type", "enabled", "sync_state", ("carrier_account", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["subscriber", "number", "carrier_account"]
    search_fields = ["subscriber__username", "number__e164", "destinations__target"]
    autocomplete_fields = ["subscriber", "number"]
    inlines = [ForwardDestinationInline, ForwardWindowInline]
