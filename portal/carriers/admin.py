from django import forms
from django.contrib import admin, messages

from portal.core.admin import ScopedAdmin, write_only_field, write_only_help
from portal.tenancy.models import Role

from .kinds import FIELD_LABELS, KIND_FIELDS, CarrierKind
from .models import CarrierAccount

LIMIT_FIELDS = ["rate_limit_requests", "rate_limit_window", "max_in_flight"]
SECRET_NAMES = sorted({name for fields in KIND_FIELDS.values() for name in fields.secrets})


def secret_input(name: str) -> str:
    return f"secret_{name}"


def secret_label(name: str) -> str:
    return FIELD_LABELS.get(name, name)


def kinds_needing(name: str) -> str:
    return ", ".join(CarrierKind(kind).label for kind, fields in KIND_FIELDS.items() if name in fields.secrets)


def settings_by_kind() -> str:
    lines = []
    for kind, fields in KIND_FIELDS.items():
        keys = [*fields.settings, *(f"{key} (optional)" for key in fields.optional_settings)]
        lines.append(f"{CarrierKind(kind).label}: {', '.join(keys)}")
    return "Settings each kind needs (JSON object) — " + "; ".join(lines) + "."


class CarrierAccountFormBase(forms.ModelForm):
    """Credentials are replaced one secret at a time and never shown; blank keeps what is stored."""

    class Meta:
        model = CarrierAccount
        exclude = ["credentials"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        stored = self.instance.credentials
        for name in SECRET_NAMES:
            if (field := self.fields.get(secret_input(name))) is not None:
                field.help_text = f"Needed by {kinds_needing(name)}. {write_only_help(bool(stored.get(name)))}"

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind")
        if kind in KIND_FIELDS:
            # A stored secret belongs to the carrier and the address it was issued for: it does
            # not survive a change of either (the model refuses to carry it over, too).
            moved = self.instance.pk is not None and (kind, cleaned.get("base_url")) != (
                self.instance.kind,
                self.instance.base_url,
            )
            stored = {} if moved else self.instance.credentials
            new_credentials = {}
            for name in KIND_FIELDS[kind].secrets:
                value = cleaned.get(secret_input(name)) or stored.get(name)
                if value:
                    new_credentials[name] = value
                elif moved and self.instance.credentials.get(name):
                    self.add_error(
                        secret_input(name),
                        f"The carrier or its API address changed: enter the {secret_label(name)} again "
                        "(a stored secret is never sent to a new address).",
                    )
                else:
                    self.add_error(secret_input(name), f"{CarrierKind(kind).label} needs the {secret_label(name)}.")
            # Before the model's own validation, which refuses credentials carried over to a new address.
            self.instance.credentials = new_credentials
        return cleaned


# The secret inputs are declared from KIND_FIELDS, so a new kind's secret gets its input without edits here.
CarrierAccountAdminForm = type(
    "CarrierAccountAdminForm",
    (CarrierAccountFormBase,),
    {"__module__": __name__, **{secret_input(name): write_only_field(secret_label(name)) for name in SECRET_NAMES}},
)


@admin.register(CarrierAccount)
class CarrierAccountAdmin(ScopedAdmin):
    roles = (Role.MANAGER,)
    form = CarrierAccountAdminForm
    list_display = ["name", "reseller", "kind", "account_id", "base_url", "enabled", "secrets_set"]
    list_filter = ["kind", "enabled"]
    list_select_related = ["reseller"]
    search_fields = ["name", "account_id", "base_url", "reseller__name"]
    readonly_fields = ["created_at", "updated_at"]
    actions = ["reconcile_now"]
    fieldsets = [
        (None, {"fields": ["reseller", "name", "kind", "enabled"]}),
        (
            "Carrier API",
            {
                "fields": ["base_url", "account_id", "settings", "connect_timeout", "read_timeout", *LIMIT_FIELDS],
                "description": settings_by_kind(),
            },
        ),
        (
            "Secrets",
            {
                "fields": [secret_input(name) for name in SECRET_NAMES],
                "description": "Encrypted at rest and never shown again, here or anywhere else.",
            },
        ),
        ("Record", {"fields": ["created_at", "updated_at"]}),
    ]

    @admin.display(description="secrets set", boolean=True)
    def secrets_set(self, account):
        fields = KIND_FIELDS.get(account.kind)
        return fields is not None and all(account.credentials.get(name) for name in fields.secrets)

    def has_reconcile_permission(self, request):
        return self.may_use(request)

    @admin.action(description="Reconcile now: compare with what the carrier holds", permissions=["reconcile"])
    def reconcile_now(self, request, queryset):
        from portal.sync.tasks import reconcile_account

        accounts = list(queryset.filter(enabled=True))
        for account in accounts:
            reconcile_account.delay(account.pk)
        self.message_user(
            request,
            f"Reconciling {len(accounts)} carrier account{'s' if len(accounts) != 1 else ''} in the background; "
            "the drift it finds appears under Sync › Drift.",
            messages.SUCCESS,
        )
