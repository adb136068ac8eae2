from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("taskboard", "0013_batches")]

    operations: list = []
