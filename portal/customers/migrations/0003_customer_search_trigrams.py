"""Trigram indexes for the customer search on PostgreSQL (pg_trgm).

The staff search matches a name, contact, email or reference anywhere in the text
(``icontains``: ``UPPER(column) LIKE UPPER('%…%')``), which no B-tree serves: at 10,000
customers a search read every row (about 10 ms of each search, bench/staff_lists.py). A
GIN trigram index on each searched expression lets PostgreSQL find the matches directly
(under 1 ms). pg_trgm is a trusted extension (PostgreSQL 13 and later): a database owner
may create it. SQLite has no such index; it reads its rows as before.
"""

from django.db import migrations

SEARCHED = ("name", "contact_name", "email", "external_ref")


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in SEARCHED:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "customer_{column}_trgm" ON "customers_customer" '
            f'USING gin (UPPER("{column}"::text) gin_trgm_ops)'
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in SEARCHED:
        schema_editor.execute(f'DROP INDEX IF EXISTS "customer_{column}_trgm"')


class Migration(migrations.Migration):
    dependencies = [("customers", "0002_customer_list_index")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
