"""Batches (counters, callbacks, cancel) and per-run hooks (issue 10 §3-4, issue 11 §3); a
cheaper enqueue: the replay_of and batch foreign keys lose their redundant full indexes
(run_replays and run_batch serve them), run_replays and run_finished become partial, so an
INSERT of a new run writes four index entries fewer."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("taskboard", "0012_schedules")]

    operations = [
        migrations.AlterModelOptions(
            name="batch",
            options={"ordering": ["-created_at", "-id"], "verbose_name_plural": "batches"},
        ),
        migrations.AddField(
            model_name="batch",
            name="correlation_id",
            field=models.CharField(blank=True, default="", help_text="Given to every child and callback.",
                                   max_length=100),
        ),
        migrations.AddField(
            model_name="batch",
            name="on_complete",
            field=models.CharField(blank=True, default="", help_text="Task enqueued once when every child has finished.",
                                   max_length=255),
        ),
        migrations.AddField(
            model_name="batch",
            name="on_success",
            field=models.CharField(blank=True, default="", help_text="Task enqueued once when every child has succeeded.",
                                   max_length=255),
        ),
        migrations.AddField(model_name="batch", name="total", field=models.PositiveIntegerField(default=0)),
        migrations.AddField(
            model_name="batch",
            name="open",
            field=models.PositiveIntegerField(default=0, help_text="Children not finished yet."),
        ),
        migrations.AddField(model_name="batch", name="succeeded", field=models.PositiveIntegerField(default=0)),
        migrations.AddField(model_name="batch", name="failed", field=models.PositiveIntegerField(default=0)),
        migrations.AddField(model_name="batch", name="cancelled", field=models.PositiveIntegerField(default=0)),
        migrations.AlterField(
            model_name="batch",
            name="finished_at",
            field=models.DateTimeField(blank=True, help_text="When the last open child finished (cleared by a replay).",
                                       null=True),
        ),
        migrations.AddField(model_name="batch", name="cancelled_at",
                            field=models.DateTimeField(blank=True, null=True)),
        migrations.AddField(model_name="batch", name="cancelled_by",
                            field=models.CharField(blank=True, default="", max_length=150)),
        migrations.AddField(model_name="batch", name="on_complete_run",
                            field=models.UUIDField(blank=True, null=True)),
        migrations.AddField(model_name="batch", name="on_success_run",
                            field=models.UUIDField(blank=True, null=True)),
        migrations.AddIndex(
            model_name="batch",
            index=models.Index(fields=["-created_at", "-id"], name="batch_list"),
        ),
        migrations.AddField(
            model_name="taskrun",
            name="hooks",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name="taskrun",
            index=models.Index(condition=models.Q(("batch__isnull", False)), fields=["batch", "-enqueued_at", "-id"],
                               name="run_batch_list"),
        ),
        migrations.RemoveIndex(model_name="taskrun", name="run_finished"),
        migrations.RemoveIndex(model_name="taskrun", name="run_replays"),
        migrations.AlterField(
            model_name="taskrun",
            name="batch",
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL,
                                    related_name="runs", to="taskboard.batch"),
        ),
        migrations.AlterField(
            model_name="taskrun",
            name="replay_of",
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL,
                                    related_name="replays", to="taskboard.taskrun"),
        ),
        migrations.AddIndex(
            model_name="taskrun",
            index=models.Index(condition=models.Q(("finished_at__isnull", False)), fields=["finished_at"],
                               name="run_finished"),
        ),
        migrations.AddIndex(
            model_name="taskrun",
            index=models.Index(condition=models.Q(("replay_of__isnull", False)), fields=["replay_of", "-enqueued_at"],
                               name="run_replays"),
        ),
    ]
