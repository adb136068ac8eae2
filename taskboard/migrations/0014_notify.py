"""Alerts and notifications (taskboard.notify): alerts, their notifications, the admin's rule
overrides and the evaluator's lease; webhook subscriptions to run lifecycle events and the
messages that carry them; dead letters get the fingerprint of the attempt that
failed their run (the ``dead_letter`` rule groups by it), filled in for existing rows; the
"taskboard operators" group may silence alerts."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models
from django.db.models import OuterRef, Subquery

OPERATORS = "taskboard operators"


def fill_fingerprints(apps, schema_editor):
    DeadLetter = apps.get_model("taskboard", "DeadLetter")
    TaskAttempt = apps.get_model("taskboard", "TaskAttempt")
    # The run's last attempt is the one that failed it.
    last = TaskAttempt.objects.filter(run_id=OuterRef("run_id")).order_by("-number").values("fingerprint")[:1]
    DeadLetter.objects.filter(fingerprint="").update(fingerprint=models.functions.Coalesce(Subquery(last), models.Value("")))


def grant_silence(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=OPERATORS)
    group.permissions.add(Permission.objects.get(content_type__app_label="taskboard", codename="silence_alert"))


class Migration(migrations.Migration):
    dependencies = [
        ("taskboard", "0013_batches"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.CreateModel(
            name='AlertLease',
            fields=[
                ('name', models.CharField(max_length=32, primary_key=True, serialize=False)),
                ('holder', models.CharField(blank=True, default='', max_length=200)),
                ('expires_at', models.DateTimeField(blank=True, null=True)),
                ('acquired_at', models.DateTimeField(blank=True, null=True)),
            ],
        ),
        migrations.CreateModel(
            name='Alert',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('rule', models.CharField(max_length=32)),
                ('key', models.CharField(help_text='The group: a task and fingerprint, a queue, a breaker…', max_length=300)),
                ('state', models.CharField(choices=[('firing', 'Firing'), ('resolved', 'Resolved')], default='firing', max_length=10)),
                ('summary', models.CharField(max_length=500)),
                ('count', models.PositiveIntegerField(default=0, help_text='How many (dead letters, queued runs…) now.')),
                ('link', models.CharField(blank=True, default='', help_text='Dashboard path.', max_length=500)),
                ('started_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('updated_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('resolved_at', models.DateTimeField(blank=True, null=True)),
                ('last_notified_at', models.DateTimeField(blank=True, null=True)),
                ('notified_count', models.PositiveIntegerField(default=0)),
                ('notifications', models.PositiveIntegerField(default=0)),
                ('silenced_until', models.DateTimeField(blank=True, null=True)),
                ('silence_reason', models.CharField(blank=True, default='', max_length=500)),
                ('silenced_by', models.CharField(blank=True, default='', max_length=150)),
            ],
            options={
                'ordering': ['-started_at', '-id'],
                'permissions': [('silence_alert', 'Can silence alerts')],
                'indexes': [models.Index(fields=['-started_at', '-id'], name='alert_list'), models.Index(fields=['state', '-started_at', '-id'], name='alert_state_list'), models.Index(fields=['rule', 'key', '-started_at'], name='alert_group')],
                'constraints': [models.UniqueConstraint(condition=models.Q(('state', 'firing')), fields=('rule', 'key'), name='alert_one_firing')],
            },
        ),
        migrations.CreateModel(
            name='AlertRule',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('rule', models.CharField(choices=[('dead_letter', 'Dead Letter'), ('failure_rate', 'Failure Rate'), ('queue_wait', 'Queue Wait'), ('no_workers', 'No Workers'), ('breaker_open', 'Breaker Open'), ('stuck', 'Stuck'), ('schedule_missed', 'Schedule Missed')], max_length=32)),
                ('scope', models.CharField(blank=True, default='', help_text='A queue (queue_wait, no_workers), task (dead_letter, failure_rate, stuck), breaker or schedule name; blank for the whole rule.', max_length=255)),
                ('enabled', models.BooleanField(blank=True, help_text='Blank: as configured.', null=True)),
                ('threshold', models.FloatField(blank=True, help_text='failure_rate: percent; queue_wait: SLO seconds; stuck, schedule_missed: seconds.', null=True)),
                ('min_count', models.PositiveIntegerField(blank=True, help_text='dead_letter: dead letters; failure_rate: finished runs.', null=True)),
                ('window', models.FloatField(blank=True, help_text='Seconds looked back (whole rule only).', null=True)),
                ('note', models.CharField(blank=True, default='', max_length=500)),
                ('updated_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('updated_by', models.CharField(blank=True, default='', max_length=150)),
            ],
            options={
                'ordering': ['rule', 'scope'],
                'constraints': [models.UniqueConstraint(fields=('rule', 'scope'), name='alertrule_rule_scope')],
            },
        ),
        migrations.CreateModel(
            name='Notification',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('event', models.CharField(choices=[('alert.firing', 'Firing'), ('alert.resolved', 'Resolved')], max_length=20)),
                ('payload', models.JSONField(help_text="The alert's JSON when the notification was decided.")),
                ('channels', models.JSONField(blank=True, default=list, help_text='Channels a delivery run was enqueued for.')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('alert', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='notification_set', to='taskboard.alert')),
            ],
            options={
                'ordering': ['-created_at', '-id'],
                'indexes': [models.Index(fields=['alert', '-created_at'], name='notification_alert')],
            },
        ),
        migrations.CreateModel(
            name='WebhookSubscription',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('url', models.URLField(max_length=500)),
                ('secret', models.CharField(editable=False, max_length=100)),
                ('events', models.JSONField(blank=True, default=list, help_text='Event types; empty for all.')),
                ('task', models.CharField(blank=True, default='', help_text="Only this task's runs; blank for all.", max_length=255)),
                ('description', models.CharField(blank=True, default='', max_length=200)),
                ('active', models.BooleanField(default=True)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('created_by', models.CharField(blank=True, default='', max_length=150)),
            ],
            options={
                'ordering': ['-created_at', '-id'],
                'permissions': [('manage_webhooks', 'Can add and remove webhook subscriptions')],
            },
        ),
        migrations.CreateModel(
            name='WebhookMessage',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('events', models.JSONField(help_text='The events this message carries, oldest first.')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('subscription', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='messages', to='taskboard.webhooksubscription')),
            ],
            options={
                'ordering': ['-created_at', '-id'],
                'indexes': [models.Index(fields=['created_at'], name='webhookmessage_created')],
            },
        ),
        migrations.AddField(
            model_name='deadletter',
            name='fingerprint',
            field=models.CharField(blank=True, default='', max_length=16),
        ),
        migrations.AddIndex(
            model_name='deadletter',
            index=models.Index(condition=models.Q(('resolved_at__isnull', True)), fields=['created_at', 'task', 'fingerprint'], name='dlq_open_groups'),
        ),
        migrations.RunPython(fill_fingerprints, migrations.RunPython.noop),
        migrations.RunPython(grant_silence, migrations.RunPython.noop),
    ]
