from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("taskboard", "0011_run_origin_and_audit")]

    operations: list = []
