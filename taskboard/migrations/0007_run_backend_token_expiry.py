"""A run remembers the TASKS alias it was enqueued through; API tokens may expire.

Both columns are cheap to add on a large table: a constant default (PostgreSQL 11+ stores it
in the catalogue, no rewrite) and a nullable column. Existing runs were all enqueued through
"default", the only alias taskboard configured until now.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('taskboard', '0006_attempt_ordering'),
    ]

    operations = [
        migrations.AddField(
            model_name='apitoken',
            name='expires_at',
            field=models.DateTimeField(blank=True, help_text='After this the token is refused; empty: never expires.', null=True),
        ),
        migrations.AddField(
            model_name='taskrun',
            name='backend',
            field=models.CharField(default='default', max_length=100),
        ),
    ]
