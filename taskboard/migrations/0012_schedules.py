"""Schedules (cron or every N seconds) and their fire times, unique per schedule and time; the
``manage_schedule`` permission goes to the "taskboard operators" group (adding a schedule is a
repeated enqueue, which operators may already do)."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

GROUP = "taskboard operators"


def grant_to_operators(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    group.permissions.add(Permission.objects.get(
        content_type__app_label="taskboard", content_type__model="schedule", codename="manage_schedule"))


class Migration(migrations.Migration):
    dependencies = [
        ("taskboard", "0011_run_origin_and_audit"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.CreateModel(
            name='Schedule',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=100, unique=True)),
                ('task', models.CharField(help_text='Dotted path of the task it enqueues.', max_length=255)),
                ('cron', models.CharField(blank=True, default='', help_text='5 fields, in the time zone.', max_length=200)),
                ('every', models.PositiveIntegerField(blank=True, help_text='Seconds between fire times.', null=True)),
                ('args', models.JSONField(blank=True, default=list)),
                ('kwargs', models.JSONField(blank=True, default=dict)),
                ('queue', models.CharField(blank=True, default='', help_text="Empty: the task's queue.", max_length=64)),
                ('priority', models.SmallIntegerField(blank=True, help_text="Empty: the task's priority.", null=True)),
                ('timezone', models.CharField(default='UTC', help_text='IANA name the cron is read in.', max_length=64)),
                ('misfire', models.CharField(choices=[('skip', 'skip missed fire times'), ('run_once', 'run once for the missed fire times')], default='skip', max_length=16)),
                ('overlap', models.CharField(choices=[('allow', 'allow overlapping runs'), ('skip', 'skip while the previous run is open')], default='allow', max_length=16)),
                ('paused', models.BooleanField(default=False)),
                ('paused_at', models.DateTimeField(blank=True, null=True)),
                ('paused_by', models.CharField(blank=True, default='', max_length=150)),
                ('next_run_at', models.DateTimeField(blank=True, null=True)),
                ('last_fired_at', models.DateTimeField(blank=True, null=True)),
                ('recent_runs', models.JSONField(blank=True, default=list, help_text='Ids of its latest runs, newest first.')),
                ('source', models.CharField(choices=[('settings', 'TASKBOARD_SCHEDULES'), ('runtime', 'added at run time')], default='runtime', max_length=16)),
                ('created_by', models.CharField(blank=True, default='', max_length=150)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('updated_at', models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                'ordering': ['name'],
                'permissions': [('manage_schedule', 'Can add, pause, resume, run and remove schedules')],
                'indexes': [models.Index(condition=models.Q(('paused', False)), fields=['next_run_at'], name='schedule_due')],
                'constraints': [models.CheckConstraint(condition=models.Q(models.Q(('cron', ''), ('every__gte', 1), ('every__isnull', False)), models.Q(models.Q(('cron', ''), _negated=True), ('every__isnull', True)), _connector='OR'), name='schedule_cron_xor_every')],
            },
        ),
        migrations.CreateModel(
            name='ScheduleFire',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('fire_at', models.DateTimeField(help_text='The fire time (UTC).')),
                ('fired_at', models.DateTimeField(default=django.utils.timezone.now, help_text='When a clock fired it.')),
                ('fired_by', models.CharField(blank=True, default='', help_text='host:pid of that clock.', max_length=200)),
                ('outcome', models.CharField(choices=[('enqueued', 'Enqueued'), ('skipped', 'Skipped'), ('failed', 'Failed')], default='enqueued', max_length=16)),
                ('note', models.CharField(blank=True, default='', max_length=300)),
                ('run', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='taskboard.taskrun')),
                ('schedule', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='fires', to='taskboard.schedule')),
            ],
            options={
                'ordering': ['-fire_at'],
                'indexes': [models.Index(fields=['fire_at'], name='schedule_fire_at')],
                'constraints': [models.UniqueConstraint(fields=('schedule', 'fire_at'), name='schedule_fire_once')],
            },
        ),
        migrations.RunPython(grant_to_operators, migrations.RunPython.noop),
    ]
