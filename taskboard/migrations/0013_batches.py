from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("taskboard", "0012_schedules")]

    operations: list = []
