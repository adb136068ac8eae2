"""Things the models do not express: the broker index, the cache table, operator roles."""

from django.core.management import call_command
from django.db import migrations

VIEW = [("taskboard", "taskrun", "view_taskrun"), ("taskboard", "taskattempt", "view_taskattempt"),
        ("taskboard", "deadletter", "view_deadletter"), ("taskboard", "workernode", "view_workernode")]
OPERATE = VIEW + [
    ("taskboard", "taskrun", "cancel_taskrun"),
    ("taskboard", "taskrun", "replay_taskrun"),
    ("taskboard", "taskrun", "enqueue_taskrun"),
    ("taskboard", "deadletter", "discard_deadletter"),
]
ROLES = {"taskboard viewers": VIEW, "taskboard operators": OPERATE}


def create_roles(apps, schema_editor):
    # Permissions are normally created after migrate; create them now so the roles can
    # reference them.
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, perms in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        for app_label, model, codename in perms:
            group.permissions.add(Permission.objects.get(
                content_type__app_label=app_label, content_type__model=model, codename=codename))


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [
        ("taskboard", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        # django-q2's ORM broker polls WHERE key = ? AND lock < ? on every tick; without an
        # index that is a full scan of the queue table.
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS taskboard_ormq_key_lock ON django_q_ormq (key, lock)",
            "DROP INDEX IF EXISTS taskboard_ormq_key_lock",
        ),
        migrations.RunPython(create_cache_table, migrations.RunPython.noop),
        migrations.RunPython(create_roles, migrations.RunPython.noop),
    ]
