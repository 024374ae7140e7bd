"""Form fields for values people type their own way: numbers, lists, weekdays, times, pickers."""

from __future__ import annotations

import phonenumbers
from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse

from portal.core.validators import validate_sip_uri

# Where a reseller has no country of its own, numbers typed nationally are read as British.
DEFAULT_REGION = "GB"

WEEKDAYS = [(0, "Mon"), (1, "Tue"), (2, "Wed"), (3, "Thu"), (4, "Fri"), (5, "Sat"), (6, "Sun")]


def region_of(customer=None, reseller=None) -> str:
    """The country a number typed without +/00 belongs to: the customer's, else the reseller's."""
    for holder in (customer, reseller):
        country = (getattr(holder, "country", "") or "").strip().upper()
        if len(country) == 2:
            return country
    return DEFAULT_REGION


def parse_number(value: str, region: str) -> str:
    """``value`` as E.164, typed nationally (``020 7946 0001``) or internationally
    (``+44 20…``, ``0044 20…``), with spaces, dashes, dots or brackets; ValidationError if not a number."""
    raw = (value or "").strip()
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise ValidationError("“%(value)s” is not a phone number.", code="number", params={"value": value}) from None
    if not phonenumbers.is_valid_number(parsed):
        where = phonenumbers.region_code_for_number(parsed) or region
        raise ValidationError(
            "“%(value)s” is not a valid number (read as %(where)s).",
            code="number_invalid",
            params={"value": value, "where": where},
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def try_parse_number(value: str, region: str = DEFAULT_REGION) -> str | None:
    """E.164 of a possibly partial number a search box got, or None when it is no number."""
    digits = "".join(c for c in value if c.isdigit())
    if len(digits) < 3 or any(c.isalpha() for c in value):
        return None
    try:
        return parse_number(value, region)
    except ValidationError:
        return None


def national_format(e164: str) -> str:
    """``+442079460001`` as people read it at home: ``020 7946 0001``."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)


class PhoneNumberField(forms.CharField):
    """A phone number typed any way people type it; cleaned to E.164 in the form's region.

    The form sets ``region`` (the customer's country) before validation.
    """

    region = DEFAULT_REGION

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 32)
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("inputmode", "tel")
        self.widget.attrs.setdefault("autocomplete", "off")

    def to_python(self, value):
        value = super().to_python(value)
        return parse_number(value, self.region) if value else value


class DestinationField(PhoneNumberField):
    """Where calls go: a phone number (any format) or a SIP URI (sip:user@host)."""

    def to_python(self, value):
        value = forms.CharField.to_python(self, value)
        if value and value.lower().startswith(("sip:", "sips:")):
            validate_sip_uri(value)
            return value
        try:
            return parse_number(value, self.region) if value else value
        except ValidationError:
            raise ValidationError(
                "“%(value)s” is neither a phone number nor a SIP address (sip:user@host).",
                code="destination",
                params={"value": value},
            ) from None


class LinesField(forms.CharField):
    """A list typed one item per line (IP addresses, networks): a list of stripped strings."""

    widget = forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "autocapitalize": "off"})

    def prepare_value(self, value):
        if isinstance(value, (list, tuple)):
            return "\n".join(str(v) for v in value)
        return value

    def to_python(self, value):
        text = super().to_python(value) or ""
        return [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]


class WeekdaysField(forms.TypedMultipleChoiceField):
    """Weekdays as a row of toggles (Mon … Sun); cleaned to ``[0, …, 6]``."""

    widget = forms.CheckboxSelectMultiple(attrs={"class": "weekday-picker"})

    def __init__(self, **kwargs):
        kwargs.setdefault("choices", WEEKDAYS)
        kwargs.setdefault("coerce", int)
        super().__init__(**kwargs)


class TimeField(forms.TimeField):
    widget = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


class PickerSelect(forms.Select):
    """A <select> with a search box above it that asks the picker endpoint as one types.

    ``kind`` names a registered picker (``portal.ui.pickers``); ``filters`` (e.g. the
    customer being edited) limit what it offers. Works without JavaScript as a plain select.
    """

    template_name = "ui/widgets/picker.html"

    def __init__(self, kind: str, attrs=None):
        super().__init__(attrs)
        self.kind = kind
        self.filters: dict[str, object] = {}

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        query = "&".join(f"{k}={v}" for k, v in self.filters.items() if v not in (None, ""))
        context["picker_url"] = reverse("ui_picker", args=[self.kind]) + (f"?{query}" if query else "")
        return context


class PickerField(forms.ModelChoiceField):
    """Choose one scoped object, each shown with its context (``201 · Kira · Anchor Clinic``)."""

    def __init__(self, kind: str, queryset, **kwargs):
        from .pickers import label_of

        kwargs.setdefault("widget", PickerSelect(kind))
        super().__init__(queryset, **kwargs)
        self.kind = kind
        self._label = label_of(kind)

    def label_from_instance(self, obj):
        return self._label(obj)

    def limit(self, **filters) -> None:
        """Offer only objects matching ``filters`` (e.g. ``customer=...``), here and in the search."""
        self.queryset = self.queryset.filter(**{k: v for k, v in filters.items()})
        self.widget.filters.update({k: getattr(v, "pk", v) for k, v in filters.items()})


def add_refusal(form: forms.BaseForm, error: ValidationError) -> None:
    """Put a service's refusal next to the fields it names; the rest above the form."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            target = field if field in form.fields else None
            for message in errors:
                text = " ".join(message.messages)
                if target is None and field not in (None, "__all__"):
                    text = f"{field.replace('_', ' ').capitalize()}: {text}"
                form.add_error(target, text)
    else:
        for message in error.messages:
            form.add_error(None, message)


class PortalModelForm(forms.ModelForm):
    """A model form whose values a service saves (never ``form.save()``).

    ``fieldsets``: ``[(legend, [field names], note), …]`` groups the fields on the page;
    ``region`` (the customer's country) reads numbers typed without a country code.
    """

    fieldsets: list[tuple[str, list[str], str]] | None = None
    intro = ""

    def __init__(self, *args, request=None, region: str = DEFAULT_REGION, **kwargs):
        self.request = request
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.region = region
        for field in self.fields.values():
            if isinstance(field, PhoneNumberField):
                field.region = region

    @property
    def access(self):
        return getattr(self.request, "access", None)

    def visible_fieldsets(self):
        for legend, names, note in self.fieldsets or []:
            present = [self[name] for name in names if name in self.fields and not self[name].is_hidden]
            if present:
                yield legend, present, note

    def values(self) -> dict:
        """The cleaned values of the form's model fields, for the service."""
        return {name: value for name, value in self.cleaned_data.items() if name in self._meta.fields}

    def save(self, commit=True):  # pragma: no cover - a guard, not a path
        raise NotImplementedError("Pages save through the domain services.")
