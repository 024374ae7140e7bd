"""CSV import and export of customers, SIP accounts and numbers (django-import-export).

django-import-export reads the file, matches rows to objects, tells what changed and
reports per row; every row is still written by the domain services (``create_*``,
``update_*``, ``add_number``): a Resource's ``save_instance`` calls them, never
``instance.save()``. The services validate, so a refused row is reported with their
reason, next to the column it is about.

What comes out goes back in: the export has the import's columns (``id`` first), so
export, edit, import is an update. A cell that a spreadsheet would run as a formula is
neutralised on export (a leading ``'``), and refused on import.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

import tablib
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q
from import_export import fields, resources, widgets
from import_export.results import RowResult

from portal.carriers.models import CarrierAccount
from portal.customers import services as customer_services
from portal.customers.models import Customer, CustomerStatus
from portal.numbers import services as number_services
from portal.numbers.models import Number, NumberStatus
from portal.subscribers import services as subscriber_services
from portal.subscribers.models import Subscriber, SubscriberStatus
from portal.ui import rights
from portal.ui.forms import parse_number, region_of

# A cell a spreadsheet would evaluate: =…, +…/-… that is not a number, @…, or a control character first.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class BadFile(Exception):
    """The file as a whole cannot be imported; nothing was changed. The message says why and what to do."""


def looks_like_formula(text: str) -> bool:
    if not text or text[0] not in FORMULA_STARTS:
        return False
    rest = text[1:].replace(" ", "").replace("-", "").replace("(", "").replace(")", "")
    return not (text[0] in "+-" and rest.replace(".", "", 1).isdigit())


def neutralise(value) -> str:
    """A cell made safe for a spreadsheet: a formula-like text gets a leading ``'``."""
    text = "" if value is None else str(value)
    return "'" + text if looks_like_formula(text) else text


# ------------------------------------------------------------------------ widgets
class ScopedForeignKeyWidget(widgets.ForeignKeyWidget):
    """A related object named by a column, looked up among the reseller's only."""

    def __init__(self, model, field, scope: Q, what: str):
        super().__init__(model, field)
        self.scope, self.what = scope, what

    def get_queryset(self, value, row, *args, **kwargs):
        return self.model.objects.filter(self.scope)

    def clean(self, value, row=None, **kwargs):
        if value in (None, ""):
            return None
        try:
            return super().clean(str(value).strip(), row, **kwargs)
        except self.model.DoesNotExist:
            raise ValueError(f"you have no {self.what} “{value}”") from None
        except self.model.MultipleObjectsReturned:
            raise ValueError(f"more than one {self.what} is called “{value}”: use its id") from None


class ChoiceWidget(widgets.CharWidget):
    """A choice by its value or its label, case aside (``Active`` or ``active``)."""

    def __init__(self, choices, **kwargs):
        super().__init__(**kwargs)
        self.choices = choices

    def clean(self, value, row=None, **kwargs):
        text = str(value or "").strip().lower()
        if not text:
            return None
        for stored, label in self.choices:
            if text in (stored, str(label).lower()):
                return stored
        raise ValueError(f"“{value}” is not one of {', '.join(v for v, _ in self.choices)}")


# ----------------------------------------------------------------------- resources
class PortalResource(resources.ModelResource):
    """A resource of one reseller's objects, written through the services as ``actor``."""

    kind = ""
    required_columns: tuple[str, ...] = ()
    natural_key = ""  # a column that finds an existing object when ``id`` is blank

    def __init__(self, *, reseller, actor=None, access=None):
        self.reseller, self.actor, self.access = reseller, actor, access
        super().__init__()
        accounts = Q(reseller=reseller)
        self.fields["carrier_account"] = fields.Field(
            attribute="carrier_account", column_name="carrier_account",
            widget=ScopedForeignKeyWidget(CarrierAccount, "name", accounts, "carrier account"),
        )

    class Meta:
        import_id_fields = ("id",)
        skip_unchanged = True
        report_skipped = True
        skip_html_diff = True
        clean_model_instances = False  # the services validate
        use_transactions = True

    # -- finding the object of a row ---------------------------------------------------
    def scoped(self):
        raise NotImplementedError

    def get_queryset(self):
        return self.scoped()

    def find_by_natural_key(self, row):
        return None

    def get_instance(self, instance_loader, row):
        ident = str(row.get("id") or "").strip()
        if ident:
            if not ident.isdigit():
                raise ValidationError({"id": f"“{ident}” is not an id: leave it blank to add a new {self.kind}."})
            found = self.scoped().filter(pk=int(ident)).first()
            if found is None:
                raise ValidationError({"id": f"you have no {self.kind} with id {ident}: leave it blank to add a new one."})
            return found
        return self.find_by_natural_key(row)

    def before_import_row(self, row, **kwargs):
        for column, value in row.items():
            if isinstance(value, str) and looks_like_formula(value.strip()):
                raise ValidationError({column: f"“{value[:40]}” starts like a spreadsheet formula; "
                                               "the portal takes no formulas (remove the leading character)."})

    # -- writing through the services ------------------------------------------------------
    def values_of(self, instance) -> dict:
        names = [f.attribute for f in self.get_import_fields() if f.attribute and f.attribute != "id"
                 and not f.readonly]
        return {name: getattr(instance, name) for name in names}

    def save_instance(self, instance, is_create, row, **kwargs):
        if not is_create and not rights.may(self.access, rights.CHANGE_CARRIER_ACCOUNT):
            stored = type(instance).objects.filter(pk=instance.pk).values_list("carrier_account_id", flat=True).first()
            if stored != instance.carrier_account_id:
                raise ValidationError({"carrier_account": rights.REFUSALS[rights.CHANGE_CARRIER_ACCOUNT]})
        saved = self.create(instance) if is_create else self.update(instance)
        instance.pk = saved.pk

    def create(self, instance):
        raise NotImplementedError

    def update(self, instance):
        raise NotImplementedError

    def default_account(self):
        return CarrierAccount.objects.filter(reseller=self.reseller, enabled=True).order_by("pk").first()


class CustomerResource(PortalResource):
    kind = "customer"
    required_columns = ("name",)
    status = fields.Field(attribute="status", column_name="status", widget=ChoiceWidget(CustomerStatus.choices))

    class Meta(PortalResource.Meta):
        model = Customer
        fields = ("id", "name", "external_ref", "contact_name", "email", "phone", "address_line1", "address_line2",
                  "city", "postcode", "country", "status", "carrier_account")
        export_order = fields

    def scoped(self):
        return Customer.objects.filter(reseller=self.reseller).select_related("carrier_account")

    def find_by_natural_key(self, row):
        ref = str(row.get("external_ref") or "").strip()
        return self.scoped().filter(external_ref=ref).first() if ref else None

    def before_import_row(self, row, **kwargs):
        super().before_import_row(row, **kwargs)
        country = str(row.get("country") or "").strip().upper()
        if row.get("phone"):
            row["phone"] = parse_number(str(row["phone"]), country if len(country) == 2 else region_of(None))
        if "country" in row:
            row["country"] = country

    def import_instance(self, instance, row, **kwargs):
        super().import_instance(instance, row, **kwargs)
        if instance.status is None:
            instance.status = CustomerStatus.ACTIVE if instance.pk is None else type(instance).objects.get(pk=instance.pk).status
        if instance.carrier_account_id is None:
            instance.carrier_account = self.default_account()
        for name in ("external_ref", "contact_name", "email", "phone", "address_line1", "address_line2", "city",
                     "postcode", "country"):
            if getattr(instance, name) is None:
                setattr(instance, name, "")

    def create(self, instance):
        return customer_services.create_customer(reseller=self.reseller, actor=self.actor, **self.values_of(instance))

    def update(self, instance):
        return customer_services.update_customer(instance, actor=self.actor, **self.values_of(instance))


def _customer_of(reseller, row) -> Customer | None:
    """The customer a row names: ``customer_id``, else ``customer`` (its reference or exact name)."""
    ident = str(row.get("customer_id") or "").strip()
    customers = Customer.objects.filter(reseller=reseller).select_related("carrier_account")
    if ident:
        found = customers.filter(pk=int(ident)).first() if ident.isdigit() else None
        if found is None:
            raise ValidationError({"customer_id": f"you have no customer with id {ident}."})
        return found
    name = str(row.get("customer") or "").strip()
    if not name:
        return None
    found = list(customers.filter(Q(external_ref=name) | Q(name=name))[:2])
    if not found:
        raise ValidationError({"customer": f"you have no customer “{name}” (by reference or name)."})
    if len(found) > 1:
        raise ValidationError({"customer": f"more than one customer is called “{name}”: give its customer_id."})
    return found[0]


class CustomerColumn(fields.Field):
    """The customer's name on export; on import the row's customer is found by ``_customer_of``."""

    def __init__(self):
        super().__init__(attribute="customer", column_name="customer", readonly=True)

    def get_value(self, obj):
        return obj.customer.name if obj.customer_id else ""


class SubscriberResource(PortalResource):
    kind = "SIP account"
    required_columns = ("username",)
    customer_id = fields.Field(attribute="customer_id", column_name="customer_id", readonly=True)
    customer = CustomerColumn()
    status = fields.Field(attribute="status", column_name="status", widget=ChoiceWidget(SubscriberStatus.choices))

    class Meta(PortalResource.Meta):
        model = Subscriber
        fields = ("id", "customer_id", "customer", "username", "domain", "display_name", "status", "carrier_account")
        export_order = fields

    def scoped(self):
        return Subscriber.objects.filter(customer__reseller=self.reseller).select_related("customer", "carrier_account")

    def find_by_natural_key(self, row):
        username, domain = str(row.get("username") or "").strip(), str(row.get("domain") or "").strip()
        return self.scoped().filter(username=username, domain=domain).first() if username and domain else None

    def before_import_row(self, row, **kwargs):
        super().before_import_row(row, **kwargs)
        row["_customer"] = _customer_of(self.reseller, row)

    def import_instance(self, instance, row, **kwargs):
        super().import_instance(instance, row, **kwargs)
        customer = row["_customer"]
        if instance.pk is None:
            if customer is None:
                raise ValidationError({"customer": "name the SIP account's customer (customer_id or customer)."})
            instance.customer = customer
            instance.status = instance.status or SubscriberStatus.ACTIVE
        elif customer is not None and customer.pk != instance.customer_id:
            raise ValidationError({"customer": "a SIP account stays with its customer; add a new one instead."})
        else:
            instance.status = instance.status or type(instance).objects.get(pk=instance.pk).status
        if instance.carrier_account_id is None:
            instance.carrier_account = instance.customer.carrier_account
        instance.display_name = instance.display_name or ""
        instance.domain = instance.domain or ""

    def create(self, instance):
        values = self.values_of(instance)
        values.pop("customer", None)
        subscriber, _password = subscriber_services.create_subscriber(
            customer=instance.customer, actor=self.actor, **values
        )  # the new password is never shown here: reset it on the SIP account's page to see one
        return subscriber

    def update(self, instance):
        return subscriber_services.update_subscriber(instance, actor=self.actor, **self.values_of(instance))


class SubscriberColumn(fields.Field):
    def __init__(self):
        super().__init__(attribute="subscriber", column_name="subscriber", readonly=True)

    def get_value(self, obj):
        return obj.subscriber.username if obj.subscriber_id else ""


class NumberResource(PortalResource):
    kind = "number"
    required_columns = ("number",)
    number = fields.Field(attribute="e164", column_name="number")
    customer_id = fields.Field(attribute="customer_id", column_name="customer_id", readonly=True)
    customer = CustomerColumn()
    status = fields.Field(attribute="status", column_name="status", readonly=True)
    subscriber = SubscriberColumn()

    class Meta(PortalResource.Meta):
        model = Number
        fields = ("id", "number", "customer_id", "customer", "status", "destination", "subscriber", "carrier_account")
        export_order = fields

    def scoped(self):
        return Number.objects.filter(reseller=self.reseller).exclude(status=NumberStatus.RELEASED).select_related(
            "customer", "subscriber", "carrier_account")

    def find_by_natural_key(self, row):
        return self.scoped().filter(e164=row.get("number")).first() if row.get("number") else None

    def before_import_row(self, row, **kwargs):
        super().before_import_row(row, **kwargs)
        customer = row["_customer"] = _customer_of(self.reseller, row)
        region = region_of(customer)
        if row.get("number"):
            try:
                row["number"] = parse_number(str(row["number"]), region)
            except ValidationError as exc:
                raise ValidationError({"number": exc.messages}) from None
        destination = str(row.get("destination") or "").strip()
        if destination and not destination.lower().startswith(("sip:", "sips:")):
            try:
                row["destination"] = parse_number(destination, region)
            except ValidationError as exc:
                raise ValidationError({"destination": exc.messages}) from None
        username = str(row.get("subscriber") or "").strip()
        row["_subscriber"] = None
        if username:
            if customer is None:
                raise ValidationError({"subscriber": "a number routed to a SIP account needs its customer."})
            found = Subscriber.objects.filter(customer=customer, username=username).first()
            if found is None:
                raise ValidationError({"subscriber": f"{customer} has no SIP account “{username}”."})
            row["_subscriber"] = found

    def import_instance(self, instance, row, **kwargs):
        super().import_instance(instance, row, **kwargs)
        instance.customer = row["_customer"]
        instance.subscriber = row["_subscriber"]
        instance.destination = instance.destination or ""
        if instance.carrier_account_id is None:
            own = instance.customer.carrier_account if instance.customer and instance.customer.carrier_account_id else None
            instance.carrier_account = own or self.default_account()

    def values_of(self, instance) -> dict:
        values = super().values_of(instance)
        values.update(customer=instance.customer, subscriber=instance.subscriber)
        return values

    def create(self, instance):
        values = self.values_of(instance)
        return number_services.add_number(reseller=self.reseller, carrier_account=values.pop("carrier_account"),
                                          e164=values.pop("e164"), actor=self.actor, **values)

    def update(self, instance):
        values = self.values_of(instance)
        values.pop("e164")  # the number itself is what finds the row; it never changes
        return number_services.update_number(instance, actor=self.actor, **values)


RESOURCES = {"customers": CustomerResource, "subscribers": SubscriberResource, "numbers": NumberResource}
TYPE_LABELS = {"customers": "Customers", "subscribers": "SIP accounts", "numbers": "Numbers"}


# ----------------------------------------------------------------------- the file
def read_upload(data: bytes, object_type: str) -> tablib.Dataset:
    """The rows of an uploaded CSV, or BadFile saying what is wrong with it (nothing is changed)."""
    limit = settings.CSV_IMPORT_MAX_BYTES
    if len(data) > limit:
        raise BadFile(f"The file is {len(data) / 1e6:.1f} MB; the portal takes up to {limit / 1e6:.0f} MB at once. "
                      "Split it into smaller files.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadFile(f"The file is not UTF-8 text (byte {exc.start + 1} cannot be read). In your spreadsheet, "
                      "save it as “CSV UTF-8” and upload it again.") from None
    if "\x00" in text:
        raise BadFile("The file is not a CSV text file (it holds binary data). Export it as CSV from your spreadsheet.")
    rows = list(csv.reader(io.StringIO(text)))
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        raise BadFile("The file is empty.")
    headers = [cell.strip().lower().replace(" ", "_") for cell in rows[0]]
    resource = RESOURCES[object_type]
    missing = [c for c in resource.required_columns if c not in headers]
    if missing:
        raise BadFile(f"The file has no “{'”, “'.join(missing)}” column. Its first line must name the columns; "
                      f"it has: {', '.join(h or '(blank)' for h in headers)}. Download the template or an export to "
                      "see the columns.")
    if len(set(headers)) != len(headers):
        raise BadFile("Two columns have the same name in the first line.")
    if len(rows) == 1:
        raise BadFile("The file has its column names but no rows.")
    width = len(headers)
    dataset = tablib.Dataset(headers=headers + ([] if "id" in headers else ["id"]))  # blank id: a new object
    for number, row in enumerate(rows[1:], start=2):
        if len(row) > width and any(cell.strip() for cell in row[width:]):
            raise BadFile(f"Line {number} has more cells than the first line has columns. Is a comma missing "
                          "quotes around it?")
        dataset.append([cell.strip() for cell in (row + [""] * width)[:width]] + ([] if "id" in headers else [""]))
    return dataset


def known_columns(object_type: str) -> list[str]:
    return list(RESOURCES[object_type]._meta.fields)


@dataclass
class RowReport:
    line: int
    outcome: str  # created | updated | unchanged | error
    label: str
    reason: str = ""

    def as_list(self) -> list:
        return [self.line, self.outcome, self.label, self.reason]


OUTCOMES = {
    RowResult.IMPORT_TYPE_NEW: "created",
    RowResult.IMPORT_TYPE_UPDATE: "updated",
    RowResult.IMPORT_TYPE_SKIP: "unchanged",
    RowResult.IMPORT_TYPE_INVALID: "error",
    RowResult.IMPORT_TYPE_ERROR: "error",
}


def _reason(row_result) -> str:
    if row_result.validation_error is not None:
        error = row_result.validation_error
        if hasattr(error, "error_dict"):
            return "; ".join(
                (" ".join(m for e in errors for m in e.messages) if field == "__all__"
                 else f"{field.replace('_', ' ')}: {' '.join(m for e in errors for m in e.messages)}")
                for field, errors in error.error_dict.items()
            )
        return " ".join(error.messages)
    return "; ".join(str(e.error) for e in row_result.errors)


def import_rows(dataset: tablib.Dataset, object_type: str, *, reseller, actor, access, dry_run: bool,
                first_line: int = 2) -> list[RowReport]:
    """Import (or, ``dry_run``, try and roll back) ``dataset``'s rows; one report per row."""
    resource = RESOURCES[object_type](reseller=reseller, actor=actor, access=access)
    result = resource.import_data(dataset, dry_run=dry_run, use_transactions=True, raise_errors=False,
                                  collect_failed_rows=False)
    if result.base_errors:  # the whole chunk failed (and was rolled back): every row says why
        reason = "; ".join(str(e.error) for e in result.base_errors)[:500]
        return [RowReport(first_line + i, "error", _label_of(values, object_type), reason)
                for i, values in enumerate(dataset)]
    reports = []
    for index, row_result in enumerate(result.rows):
        outcome = OUTCOMES.get(row_result.import_type, row_result.import_type)
        label = row_result.object_repr or _label_of(dataset[index], object_type)
        reports.append(RowReport(first_line + index, outcome, str(label)[:120], _reason(row_result)[:500]))
    return reports


def _label_of(values, object_type) -> str:
    return " ".join(str(v) for v in values[1:3] if v) or "(row)"


def chunks(dataset: tablib.Dataset, size: int) -> Iterator[tuple[int, tablib.Dataset]]:
    """The dataset ``size`` rows at a time, with the file line of each chunk's first row."""
    for start in range(0, len(dataset), size):
        part = tablib.Dataset(headers=dataset.headers)
        for values in dataset[start:start + size]:
            part.append(values)
        yield start + 2, part


def export_rows(object_type: str, queryset, *, reseller) -> Iterator[str]:
    """The objects as CSV lines, in the import's columns; formula-like cells neutralised."""
    resource = RESOURCES[object_type](reseller=reseller)
    columns = known_columns(object_type)
    writer = csv.writer(_Echo())
    yield writer.writerow(columns)
    export_fields = {f.column_name: f for f in resource.get_export_fields()}
    for obj in queryset.iterator(chunk_size=2000):
        yield writer.writerow([neutralise(export_fields[c].export(obj)) for c in columns])


class _Echo:
    def write(self, value):
        return value
