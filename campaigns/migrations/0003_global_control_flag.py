from django.db import migrations


def create_global(apps, schema_editor):
    # The defaults: not paused, not killed, PROOF. Having the row lets the admin flip it.
    apps.get_model("campaigns", "ControlFlag").objects.get_or_create(scope="global")


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0002_controls_leases_ticks_events")]
    operations = [migrations.RunPython(create_global, migrations.RunPython.noop)]
