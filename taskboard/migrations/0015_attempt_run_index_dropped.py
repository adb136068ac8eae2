import django.db.models.deletion
from django.db import migrations, models

# The index Django created for the foreign key (its name is derived from the table and column,
# the same on SQLite and PostgreSQL). Dropped directly: AlterField would rebuild the attempts
# table on SQLite and re-validate the foreign key on PostgreSQL, minutes on a large history,
# for a change that only removes an index the unique (run, number) index makes redundant.
INDEX = "taskboard_taskattempt_run_id_42d59b0f"


class Migration(migrations.Migration):

    dependencies = [
        ("taskboard", "0014_notify"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(f'DROP INDEX IF EXISTS "{INDEX}"',
                                  reverse_sql=f'CREATE INDEX "{INDEX}" ON "taskboard_taskattempt" ("run_id")'),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="taskattempt",
                    name="run",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                            related_name="attempt_set", to="taskboard.taskrun"),
                ),
            ],
        ),
    ]
