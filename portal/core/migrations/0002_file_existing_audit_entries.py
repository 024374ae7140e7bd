"""File the audit entries written before entries had owners under their objects' owners now.

Entries of objects that still exist get the customer and reseller the object has today (the
best that can be known afterwards); entries of deleted objects stay unfiled. From here on
each entry is filed as it is written (portal/core/audit.py).
"""

from django.db import migrations
from django.db.models import BigIntegerField, F, Value
from django.db.models.functions import Coalesce

CHUNK = 2000

# (app, model) -> (the customer's id, the reseller's id), as paths from the object.
OWNER_PATHS = {
    ("customers", "customer"): ("pk", "reseller_id"),
    ("customers", "customerlogin"): ("customer_id", "customer__reseller_id"),
    ("subscribers", "subscriber"): ("customer_id", "customer__reseller_id"),
    ("numbers", "number"): ("customer_id", "reseller_id"),
    ("numbers", "emergencyaddress"): ("number__customer_id", "number__reseller_id"),
    ("trunks", "trunk"): ("customer_id", "customer__reseller_id"),
    ("forwards", "callforward"): (("subscriber__customer_id", "number__customer_id"),
                                  ("subscriber__customer__reseller_id", "number__reseller_id")),
    ("forwards", "forwarddestination"): (("forward__subscriber__customer_id", "forward__number__customer_id"),
                                         ("forward__subscriber__customer__reseller_id", "forward__number__reseller_id")),
    ("forwards", "forwardwindow"): (("forward__subscriber__customer_id", "forward__number__customer_id"),
                                    ("forward__subscriber__customer__reseller_id", "forward__number__reseller_id")),
    ("tenancy", "reseller"): (None, "pk"),
    ("tenancy", "staffmembership"): (None, "reseller_id"),
    ("carriers", "carrieraccount"): (None, "reseller_id"),
    ("branding", "branding"): (None, "reseller_id"),
    ("selfservice", "phonesettingslink"): ("subscriber__customer_id", "subscriber__customer__reseller_id"),
}


def _expression(path):
    if path is None:
        return Value(None, output_field=BigIntegerField())
    return Coalesce(*path) if isinstance(path, tuple) else F(path)


def file_entries(apps, schema_editor):
    LogEntry = apps.get_model("auditlog", "LogEntry")
    ContentType = apps.get_model("contenttypes", "ContentType")
    AuditEntryOwner = apps.get_model("core", "AuditEntryOwner")
    for (app, name), (customer_path, reseller_path) in OWNER_PATHS.items():
        content_type = ContentType.objects.filter(app_label=app, model=name).first()
        if content_type is None:
            continue
        model = apps.get_model(app, name)
        entries = (LogEntry.objects.filter(content_type=content_type, object_id__isnull=False, owner__isnull=True)
                   .values_list("pk", "object_id", "timestamp").order_by("pk"))
        last = 0
        while True:
            chunk = list(entries.filter(pk__gt=last)[:CHUNK])
            if not chunk:
                break
            last = chunk[-1][0]
            owners = {
                pk: (customer, reseller)
                for pk, customer, reseller in model.objects.filter(pk__in={object_id for _, object_id, _ in chunk})
                .annotate(owner_customer=_expression(customer_path), owner_reseller=_expression(reseller_path))
                .values_list("pk", "owner_customer", "owner_reseller")
            }
            AuditEntryOwner.objects.bulk_create([
                AuditEntryOwner(entry_id=pk, customer_id=owners[object_id][0], reseller_id=owners[object_id][1],
                                timestamp=timestamp)
                for pk, object_id, timestamp in chunk if object_id in owners and any(owners[object_id])
            ])


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0001_audit_entry_owner"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("customers", "0004_selfservice_roles"),
        ("subscribers", "0001_initial"),
        ("numbers", "0003_emergency_address_and_list_index"),
        ("trunks", "0002_trunk_password_shown_at"),
        ("forwards", "0002_initial"),
        ("tenancy", "0001_initial"),
        ("carriers", "0002_carrieraccount_max_in_flight_and_more"),
        ("branding", "0001_initial"),
        ("selfservice", "0001_initial"),
    ]

    operations = [migrations.RunPython(file_entries, migrations.RunPython.noop)]
