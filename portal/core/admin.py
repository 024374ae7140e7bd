"""What every admin page of the portal shares: scoping, role permissions, write-only secrets.

The Django admin is for platform admins (superusers, who see everything) and for reseller
managers and agents given ``is_staff``: they see only their reseller, exactly as in the
portal's own pages, and what they may do follows their role, not Django's per-model
permissions (which would have to be kept in step with the roles by hand).
"""

from __future__ import annotations

from auditlog import get_logentry_model
from auditlog.admin import LogEntryAdmin
from auditlog.mixins import AuditlogHistoryAdminMixin
from auditlog.registry import auditlog
from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.http import Http404
from django.utils.html import format_html

from portal.sync.models import Provisioned
from portal.tenancy.models import Reseller, Role
from portal.tenancy.scoping import Access, ScopedQuerySet, access_for

SYNC_SECTION = "Carrier sync"


def users_visible_to(access: Access):
    """Users a staff member may see: their reseller's staff and its customers' logins."""
    users = get_user_model().objects.all()
    if access.is_platform_admin:
        return users
    if not access.is_staff:
        return users.none()
    # Both relations are one-to-one, so the OR joins cannot repeat a user.
    in_reseller = Q(staff_membership__reseller_id=access.reseller_id)
    in_reseller |= Q(customer_login__customer__reseller_id=access.reseller_id)
    return users.filter(in_reseller)


class ResellerListFilter(admin.SimpleListFilter):
    """Filters any scoped model by reseller, whatever path leads from it to its reseller."""

    title = "reseller"
    parameter_name = "reseller"

    def lookups(self, request, model_admin):
        return [(reseller.pk, reseller.name) for reseller in Reseller.objects.for_request(request)]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        try:
            reseller_id = int(self.value())
        except ValueError:
            return queryset.none()
        # Exactly the objects that reseller's own staff see: the one definition of "belongs to".
        return queryset.for_access(Access(reseller_id=reseller_id))


class RoleScopedMixin:
    """Scoping and role permissions, shared by model admins and inlines.

    ``roles`` names the staff roles that may work with the model; platform admins always may.
    """

    roles: tuple[str, ...] = (Role.MANAGER, Role.AGENT)

    def access(self, request) -> Access:
        return getattr(request, "access", None) or access_for(request.user)

    def may_use(self, request) -> bool:
        access = self.access(request)
        return access.is_platform_admin or (access.is_staff and access.role in self.roles)

    def has_module_permission(self, request):
        return self.may_use(request)

    def has_view_permission(self, request, obj=None):
        return self.may_use(request)

    def has_add_permission(self, request, obj=None):
        return self.may_use(request)

    def has_change_permission(self, request, obj=None):
        return self.may_use(request)

    def has_delete_permission(self, request, obj=None):
        return self.may_use(request)

    def scoped_queryset(self, request):
        """Everything of the model this request may reach; admins of unscoped models override it."""
        return self.model.objects.for_request(request)

    def get_queryset(self, request):
        queryset = self.scoped_queryset(request)
        ordering = self.get_ordering(request)
        return queryset.order_by(*ordering) if ordering else queryset

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            # Django's admin would redirect with "does not exist"; an object outside the user's
            # scope must be indistinguishable from a missing one, and both give a plain 404.
            raise Http404(f"No {self.opts.verbose_name} matches the given query.")
        return obj

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        related = db_field.related_model
        access = self.access(request)
        if related is Reseller and not access.is_platform_admin:
            # Staff create and edit only inside their own reseller: one fixed choice.
            kwargs.update(
                queryset=Reseller.objects.filter(pk=access.reseller_id),
                initial=access.reseller_id,
                disabled=True,
                empty_label=None,
            )
        elif related is get_user_model():
            kwargs["queryset"] = users_visible_to(access)
        elif isinstance(related._default_manager.all(), ScopedQuerySet):
            kwargs["queryset"] = related.objects.for_request(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ScopedAdmin(RoleScopedMixin, AuditlogHistoryAdminMixin, admin.ModelAdmin):
    """The base of every admin of a portal model.

    Sync fields are read-only and grouped in their own section, a sync badge is available
    as the list column ``sync_badge``, the reseller filter is added for platform admins
    (``reseller_filter``), and the "History" button shows the audit log's field-level changes.
    """

    reseller_filter = True

    class Media:
        css = {"all": ["css/admin.css"]}

    def history_view(self, request, object_id, extra_context=None):
        if auditlog.contains(self.model):
            return self.auditlog_history_view(request, object_id, extra_context)
        return super().history_view(request, object_id, extra_context)

    @property
    def is_provisioned(self) -> bool:
        return issubclass(self.model, Provisioned)

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if self.is_provisioned:
            # The sync engine alone writes these: an edit here would lie about the carrier.
            readonly += [name for name in Provisioned.SYNC_FIELDS if name not in readonly]
        return readonly

    def get_fieldsets(self, request, obj=None):
        if self.fieldsets or not self.is_provisioned:
            return super().get_fieldsets(request, obj)
        carrier_fields = ["carrier_account", *Provisioned.SYNC_FIELDS]
        fields = [name for name in self.get_fields(request, obj) if name not in carrier_fields]
        return [(None, {"fields": fields}), (SYNC_SECTION, {"fields": carrier_fields})]

    def get_list_filter(self, request):
        filters = list(super().get_list_filter(request))
        if self.reseller_filter and self.access(request).is_platform_admin:
            filters.append(ResellerListFilter)
        return filters

    def get_list_display(self, request):
        columns = list(super().get_list_display(request))
        if not self.access(request).is_platform_admin and "reseller" in columns:
            columns.remove("reseller")  # staff see one reseller only
        return columns

    @admin.display(description="sync", ordering="sync_state")
    def sync_badge(self, obj):
        return format_html(
            '<span class="sync-badge sync-{}" title="{}">{}</span>',
            obj.sync_state,
            obj.sync_error,
            obj.get_sync_state_display(),
        )


class ScopedTabularInline(RoleScopedMixin, admin.TabularInline):
    extra = 0


def write_only_field(label: str) -> forms.CharField:
    """A password input that never renders a value back, not even masked."""
    return forms.CharField(
        label=label,
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )


def write_only_help(stored: bool, when_blank: str = "") -> str:
    # Saying whether a secret is stored reveals nothing about it, and tells the editor what blank does.
    if stored:
        return "A value is stored. Leave blank to keep it."
    return "Nothing is stored yet." + (f" Leave blank to {when_blank}." if when_blank else "")


class WriteOnlySecretForm(forms.ModelForm):
    """A model form that can replace one encrypted secret of its model but never shows it.

    Subclasses exclude the model field ``secret_field`` and declare ``new_<secret_field>``
    with ``write_only_field``: a form field named after the model field would be displayed,
    value and all, wherever the admin shows the form read-only.
    """

    secret_field: str = ""
    blank_on_add = ""  # what a blank input does to a new object, if anything

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields.get(self.new_secret_name)
        if field is not None:
            stored = bool(getattr(self.instance, self.secret_field))
            field.help_text = write_only_help(stored, self.blank_on_add if self.instance.pk is None else "")

    @property
    def new_secret_name(self) -> str:
        return f"new_{self.secret_field}"

    def secret_for_blank_add(self) -> str:
        return ""

    def save(self, commit=True):
        new_secret = self.cleaned_data.get(self.new_secret_name)
        if new_secret:
            setattr(self.instance, self.secret_field, new_secret)
        elif self.instance.pk is None:
            setattr(self.instance, self.secret_field, self.secret_for_blank_add())
        return super().save(commit)


class PlatformLogEntryAdmin(LogEntryAdmin):
    """The global audit log spans every reseller, so only platform admins see it.

    Everyone else reads an object's own history from its page, which is scoped.
    """

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser


LogEntry = get_logentry_model()
if admin.site.is_registered(LogEntry):
    admin.site.unregister(LogEntry)
admin.site.register(LogEntry, PlatformLogEntryAdmin)
