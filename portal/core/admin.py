"""What every admin page of the portal shares: scoping, role permissions, write-only secrets.

The Django admin is for platform admins (superusers, who see everything) and for reseller
managers and agents given ``is_staff``: they see only their reseller, exactly as in the
portal's own pages, and what they may do follows their role, not Django's per-model
permissions (which would have to be kept in step with the roles by hand).
"""

from __future__ import annotations

from contextlib import contextmanager

from auditlog import get_logentry_model
from auditlog.admin import LogEntryAdmin
from auditlog.mixins import AuditlogHistoryAdminMixin
from auditlog.registry import auditlog
from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.widgets import AutocompleteSelect, AutocompleteSelectMultiple
from django.contrib.auth import get_user_model
from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist, ValidationError
from django.db import router, transaction
from django.db.models import Q
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import capfirst

from portal.sync import operations
from portal.sync.models import Provisioned
from portal.tenancy.models import Reseller, Role
from portal.tenancy.scoping import Access, ScopedQuerySet, access_for

from .admin_input import is_valid_key

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
        # value() is the query string's text, or a choice itself while Django counts facets.
        reseller_id = next((pk for pk, _ in self.lookup_choices if str(pk) == str(self.value())), None)
        if reseller_id is None:
            raise IncorrectLookupParameters(f"No reseller {self.value()!r} to filter by.")
        # Exactly the objects that reseller's own staff see: the one definition of "belongs to".
        return queryset.for_access(Access(reseller_id=reseller_id))


def _valid_choice_values(field, values):
    """The values a model choice field can look up; the others are dropped."""
    target = field.remote_field.model._meta.get_field(field.remote_field.field_name)
    return [value for value in values if is_valid_key(target, value)]


class SafeAutocompleteSelect(AutocompleteSelect):
    """Django's autocomplete widget, re-rendering a submitted "abc" as no choice instead of a 500.

    The form already says the choice is invalid; the widget used to query the database
    with the raw value to show it, and crash.
    """

    def optgroups(self, name, value, attr=None):
        return super().optgroups(name, _valid_choice_values(self.field, value), attr)


class SafeAutocompleteSelectMultiple(AutocompleteSelectMultiple):
    def optgroups(self, name, value, attr=None):
        return super().optgroups(name, _valid_choice_values(self.field, value), attr)


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
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = SafeAutocompleteSelect(db_field, self.admin_site, using=kwargs.get("using"))
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

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = SafeAutocompleteSelectMultiple(db_field, self.admin_site, using=kwargs.get("using"))
        return super().formfield_for_manytomany(db_field, request, **kwargs)


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


# ------------------------------------------------------------ writes through services
class ServiceRefused(Exception):
    """A domain service refused a change the admin was making.

    Raised out of the admin's transaction, so that everything the attempt did is rolled
    back; the view then shows the refusal to the person who made the change.
    """

    def __init__(self, error: ValidationError):
        super().__init__(error)
        self.error = error


@contextmanager
def service_call():
    """``with service_call(): …``: a service's ValidationError becomes a ServiceRefused."""
    try:
        yield
    except ValidationError as exc:
        raise ServiceRefused(exc) from exc


def field_label(model, name: str) -> str:
    try:
        return capfirst(model._meta.get_field(name).verbose_name)
    except FieldDoesNotExist:
        return name


def refusal_by_field(error: ValidationError, model, form_fields=()) -> list[tuple[str | None, list[str]]]:
    """The refusal's messages by the form field they belong to (None: the form as a whole).

    A field the form does not show (read-only, or no field at all) has its messages put on
    the whole form, prefixed with the field's label so that the reason stays clear.
    """
    if not hasattr(error, "error_dict"):
        return [(None, error.messages)]
    placed: list[tuple[str | None, list[str]]] = []
    for name, errors in error.message_dict.items():
        if name in form_fields:
            placed.append((name, errors))
        elif f"new_{name}" in form_fields:  # a write-only secret's input (WriteOnlySecretForm)
            placed.append((f"new_{name}", errors))
        elif name == NON_FIELD_ERRORS:
            placed.append((None, errors))
        else:
            placed.append((None, [f"{field_label(model, name)}: {message}" for message in errors]))
    return placed


def refusal_text(error: ValidationError, model) -> str:
    return " ".join(message for _, errors in refusal_by_field(error, model) for message in errors)


class ShowsRefusalForm:
    """Mixed into an admin form shown again after a refusal: the reasons sit next to the fields."""

    refusal: ValidationError

    def clean(self):
        cleaned = super().clean()
        for field, errors in refusal_by_field(self.refusal, self._meta.model, self.fields):
            self.add_error(field, errors)
        return cleaned


def service_fields(obj) -> dict:
    """The values of ``obj`` a service takes: every editable field but the engine's sync fields."""
    return {
        field.name: getattr(obj, field.name)
        for field in obj._meta.concrete_fields
        if field.editable and not field.primary_key and field.name not in Provisioned.SYNC_FIELDS
    }


def edited_fields(original, edited) -> dict:
    """What the admin form changed on ``edited`` (an in-memory copy of ``original``)."""
    return {
        name: value
        for name, value in service_fields(edited).items()
        if original._meta.get_field(name).value_from_object(original)
        != edited._meta.get_field(name).value_from_object(edited)
    }


class ServiceAdmin(ScopedAdmin):
    """The admin of a provisioned model, whose every write goes through the domain services.

    The admin never saves or deletes a row itself: subclasses name the service calls
    (``create_object``, ``update_object``, ``delete_object``), which validate, save, audit
    and queue the carrier side in one transaction, with the admin user as the actor. A
    refusal shows as form errors next to the fields (or as an error message, for deletes
    and actions), and nothing of the attempt is kept. "Sync now" queues a fresh push.
    """

    actions = ["sync_now"]

    # -- the service calls of the model -------------------------------------------
    def create_object(self, request, fields: dict):
        raise NotImplementedError

    def update_object(self, request, obj, changes: dict):
        raise NotImplementedError

    def delete_object(self, request, obj) -> None:
        raise NotImplementedError

    # -- Django's admin hooks -------------------------------------------------------
    def save_model(self, request, obj, form, change):
        with service_call():
            if change:
                # The service compares with what is stored (e.g. a number's previous subscriber).
                original = self.model.objects.get(pk=obj.pk)
                if changes := edited_fields(original, obj):  # an unchanged save sends nothing
                    self.update_object(request, original, changes)
            else:
                obj.pk = self.create_object(request, service_fields(obj)).pk
        obj._state.adding = False
        obj.refresh_from_db()  # what the service saved: normalised values, sync state

    def delete_model(self, request, obj):
        with service_call():
            self.delete_object(request, obj)

    def delete_queryset(self, request, queryset):
        # One by one through the service; response_action makes the batch all or nothing.
        for obj in queryset:
            self.delete_model(request, obj)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        refusal = getattr(request, "service_refusal", None)
        if refusal is not None:
            form = type(form.__name__, (ShowsRefusalForm, form), {"refusal": refusal})
        return form

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceRefused as refused:
            # The attempt's transaction is rolled back. The same POST is shown again, all of it
            # as typed, and the form now fails validation with the service's reasons.
            request.service_refusal = refused.error
            return super().changeform_view(request, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except ServiceRefused as refused:
            self.message_user(request, f"Not deleted. {refusal_text(refused.error, self.model)}", messages.ERROR)
            change_url = reverse(
                f"admin:{self.opts.app_label}_{self.opts.model_name}_change",
                args=[object_id],
                current_app=self.admin_site.name,
            )
            return HttpResponseRedirect(change_url)

    def response_action(self, request, queryset):
        try:
            with transaction.atomic(using=router.db_for_write(self.model)):
                response = super().response_action(request, queryset)
        except (ServiceRefused, ValidationError) as exc:  # actions call services directly too
            error = exc.error if isinstance(exc, ServiceRefused) else exc
            self.message_user(request, f"Nothing was changed. {refusal_text(error, self.model)}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
        return self.secrets_page_or(request, response)

    def response_add(self, request, obj, post_url_continue=None):
        return self.secrets_page_or(request, super().response_add(request, obj, post_url_continue))

    # -- secrets shown once -------------------------------------------------------------
    def reveal_once(self, request, obj, label: str, secret: str) -> None:
        """Show ``secret`` (a generated password) on the page that answers this request, once.

        Rendered straight into that page, never stored: not in a message (Django keeps
        those in a cookie, signed but readable), not in the session. The page is no-store.
        """
        if not hasattr(request, "secrets_to_reveal"):
            request.secrets_to_reveal = []
        request.secrets_to_reveal.append((obj, label, secret))

    def secrets_page_or(self, request, response):
        secrets = getattr(request, "secrets_to_reveal", None)
        if not secrets or not isinstance(response, HttpResponseRedirect):
            return response
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Copy the new password now",
            "secrets": secrets,
            "continue_url": response["Location"],
        }
        return TemplateResponse(request, "admin/portal_secrets_once.html", context)

    # -- actions ----------------------------------------------------------------------
    @admin.action(description="Sync now: push the selected %(verbose_name_plural)s to their carrier")
    def sync_now(self, request, queryset):
        queued = operations.sync_now(queryset, actor=request.user)
        self.message_user(
            request,
            f"Queued {len(queued)} sync job{'s' if len(queued) != 1 else ''}."
            if queued
            else "Nothing to push: none of the selected is on a carrier account.",
            messages.SUCCESS if queued else messages.WARNING,
        )


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


# The beat schedule is code (settings.CELERY_BEAT_SCHEDULE), written to django_celery_beat's
# tables by the scheduler each time it starts: an edit in the admin would be undone at the next
# start (and its crontab page answered 500 to a bad hour). The admin does not offer them.
for _model_name in ("PeriodicTask", "CrontabSchedule", "IntervalSchedule", "SolarSchedule", "ClockedSchedule"):
    _model = apps.get_model("django_celery_beat", _model_name)
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
