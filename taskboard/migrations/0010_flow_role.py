"""A role for flow control: pausing queues and tasks and forcing breakers are separate
permissions from the everyday verbs, so they get their own group ("taskboard flow operators");
an operator who should also steer flow is added to both groups."""

from django.db import migrations

FLOW = [
    ("taskboard", "taskrun", "view_taskrun"),
    ("taskboard", "pause", "pause_flow"),
    ("taskboard", "breaker", "control_breaker"),
]
GROUP = "taskboard flow operators"


def create_role(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    for app_label, model, codename in FLOW:
        group.permissions.add(Permission.objects.get(
            content_type__app_label=app_label, content_type__model=model, codename=codename))


def remove_role(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("taskboard", "0009_flow_control"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_role, remove_role)]
