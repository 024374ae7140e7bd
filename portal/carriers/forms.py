"""The carrier account form of the staff pages: what each carrier needs, in its own fields.

Nobody types JSON: each setting a carrier kind needs is a field of its own (the ones the
chosen kind does not use are ignored), and secrets are write-only inputs (blank keeps
what is stored; never shown, not even masked). The model's own refusals — an address
that is not the carrier's, stored credentials carried to a new address — come back
next to the field they are about.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from portal.core.admin import write_only_field, write_only_help
from portal.ui.forms import PortalModelForm

from .kinds import FIELD_LABELS, KIND_FIELDS, CarrierKind
from .models import CarrierAccount

SETTING_NAMES = list(dict.fromkeys(n for f in KIND_FIELDS.values() for n in (*f.settings, *f.optional_settings)))
SECRET_NAMES = list(dict.fromkeys(n for f in KIND_FIELDS.values() for n in f.secrets))


def _kind_values(name: str, *attributes: str) -> str:
    """The kinds a field is for, as the page's script reads them (it shows only the chosen kind's)."""
    return " ".join(kind for kind, fields in KIND_FIELDS.items() if any(name in getattr(fields, a) for a in attributes))


def _kinds_with(name: str, attribute: str) -> str:
    kinds = [CarrierKind(kind).label for kind, fields in KIND_FIELDS.items() if name in getattr(fields, attribute)]
    return ", ".join(kinds)


class CarrierAccountForm(PortalModelForm):
    fieldsets = [
        ("Account", ["name", "kind", "enabled"], ""),
        ("Where the carrier's API is", ["base_url", "account_id", *[f"setting_{n}" for n in SETTING_NAMES]],
         "Only the fields the chosen carrier needs are used."),
        ("Credentials", [f"secret_{n}" for n in SECRET_NAMES],
         "Encrypted at rest and never shown again, here or anywhere else. Changing the carrier or its address "
         "needs them again: stored ones are never sent to a new address."),
        ("Limits", ["rate_limit_requests", "rate_limit_window", "max_in_flight", "connect_timeout", "read_timeout"],
         "Blank requests and window: the carrier's published limit. The in-flight cap keeps one busy account "
         "from taking every worker."),
    ]

    class Meta:
        model = CarrierAccount
        fields = ["name", "kind", "enabled", "base_url", "account_id", "rate_limit_requests", "rate_limit_window",
                  "max_in_flight", "connect_timeout", "read_timeout"]
        labels = {"max_in_flight": "Changes in flight at once", "connect_timeout": "Connect timeout (seconds)",
                  "read_timeout": "Read timeout (seconds)", "rate_limit_requests": "Requests per window"}
        widgets = {"base_url": forms.URLInput(attrs={"placeholder": "https://api.simwood.com/v3"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        stored_settings = self.instance.settings or {}
        stored_secrets = self.instance.credentials or {}
        for name in SETTING_NAMES:
            self.fields[f"setting_{name}"] = forms.CharField(
                label=FIELD_LABELS.get(name, name.replace("_", " ").capitalize()), required=False,
                initial=stored_settings.get(name, ""), help_text=f"For {_kinds_with(name, 'settings') or _kinds_with(name, 'optional_settings')}."
                + (" Optional." if not _kinds_with(name, "settings") else ""),
            )
            self.fields[f"setting_{name}"].widget.attrs["data-kinds"] = _kind_values(name, "settings", "optional_settings")
        for name in SECRET_NAMES:
            field = self.fields[f"secret_{name}"] = write_only_field(FIELD_LABELS.get(name, name))
            field.help_text = f"For {_kinds_with(name, 'secrets')}. {write_only_help(bool(stored_secrets.get(name)))}"
            field.widget.attrs["data-kinds"] = _kind_values(name, "secrets")
        self.fields["account_id"].widget.attrs["data-kinds"] = " ".join(
            kind for kind, fields in KIND_FIELDS.items() if fields.account_id_key)
        self.fields["kind"].widget.attrs["class"] = "carrier-kind"
        self.fields["account_id"].help_text = "The carrier's own id of your account (Simwood, SureVoIP, Sipwise)."

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind")
        fields = KIND_FIELDS.get(kind)
        if fields is None:
            return cleaned
        settings = {k: v for k, v in (self.instance.settings or {}).items() if k not in SETTING_NAMES}
        for name in (*fields.settings, *fields.optional_settings):
            value = (cleaned.get(f"setting_{name}") or "").strip()
            if value:
                settings[name] = value
            elif name in fields.settings:
                self.add_error(f"setting_{name}", f"{CarrierKind(kind).label} needs the {FIELD_LABELS.get(name, name)}.")
        cleaned["settings"] = settings
        moved = self.instance.pk is not None and (kind, cleaned.get("base_url")) != self.stored_endpoint
        stored = {} if moved else dict(self.stored_credentials)
        credentials = {}
        for name in fields.secrets:
            value = cleaned.get(f"secret_{name}") or stored.get(name)
            if value:
                credentials[name] = value
            elif moved and self.stored_credentials.get(name):
                self.add_error(f"secret_{name}", f"The carrier or its address changed: enter the {FIELD_LABELS.get(name, name)} "
                               "again (a stored secret is never sent to a new address).")
            else:
                self.add_error(f"secret_{name}", f"{CarrierKind(kind).label} needs the {FIELD_LABELS.get(name, name)}.")
        cleaned["credentials"] = credentials
        # The model validates them as the service will save them (its address rules included).
        self.instance.settings, self.instance.credentials = settings, credentials
        return cleaned

    def _update_errors(self, errors):
        """The model's refusals about ``settings`` and ``credentials`` go next to their inputs."""
        if hasattr(errors, "error_dict"):
            kind = KIND_FIELDS.get(self.cleaned_data.get("kind"))
            placed: dict[str, list] = {}
            for field, messages in errors.error_dict.items():
                if field in self.fields or field == NON_FIELD_ERRORS:
                    target = field
                elif field == "credentials" and kind and kind.secrets:
                    target = f"secret_{kind.secrets[0]}"
                elif field == "settings" and any(n.startswith("setting_") for n in self.errors):
                    continue  # already said next to each missing setting
                else:
                    target = NON_FIELD_ERRORS
                placed.setdefault(target, []).extend(messages)
            errors = ValidationError(placed)
        super()._update_errors(errors)

    @property
    def stored_endpoint(self):
        return getattr(self.instance, "_stored_endpoint", (self.instance.kind, self.instance.base_url))

    @property
    def stored_credentials(self) -> dict:
        return getattr(self.instance, "_stored_credentials", None) or {}

    def values(self) -> dict:
        values = super().values()
        values["settings"] = self.cleaned_data["settings"]
        return values
