"""A key is taken by its stored answer, in the change's own transaction: no "in progress" rows."""

from django.db import migrations, models


def forget_unanswered(apps, schema_editor):
    apps.get_model("api", "IdempotentRequest").objects.filter(status_code__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("api", "0001_initial")]

    operations = [
        migrations.RunPython(forget_unanswered, migrations.RunPython.noop),
        migrations.RemoveField(model_name="idempotentrequest", name="state"),
        migrations.RemoveField(model_name="idempotentrequest", name="locked_until"),
        migrations.AlterField(model_name="idempotentrequest", name="status_code",
                              field=models.PositiveSmallIntegerField()),
    ]
