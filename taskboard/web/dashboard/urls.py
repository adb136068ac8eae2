"""URL patterns; see the module docstring of the views they route to."""

from django.urls import path, re_path

from taskboard.web.dashboard import (
    actions,
    alert_pages,
    audit_pages,
    batch_pages,
    flow_pages,
    new_run,
    run_actions,
    run_pages,
    schedule_pages,
    task_pages,
)
from taskboard.web.dashboard import pages as dashboard

app_name = "taskboard"

FINGERPRINT = r"(?P<fingerprint>[0-9a-f]{1,16})"

urlpatterns = [
    path("", dashboard.overview, name="overview"),
    path("panels/<slug:panel>/", dashboard.overview_panel, name="panel"),
    path("runs/", run_pages.run_list, name="runs"),
    path("runs/new/", new_run.new_run, name="run-new"),
    path("runs/bulk/", actions.runs_bulk, name="runs-bulk"),
    path("runs/<uuid:run_id>/", run_pages.run_detail, name="run"),
    path("runs/<uuid:run_id>/progress/", run_pages.run_progress, name="run-progress"),
    path("runs/<uuid:run_id>/row/", run_pages.run_row, name="run-row"),
    path("runs/<uuid:run_id>/cancel/", run_actions.run_cancel, name="run-cancel"),
    path("runs/<uuid:run_id>/replay/", run_actions.run_replay, name="run-replay"),
    path("runs/<uuid:run_id>/replay-edited/", run_actions.run_replay_edited, name="run-replay-edited"),
    path("runs/<uuid:run_id>/retry-now/", run_actions.run_retry_now, name="run-retry-now"),
    path("runs/<uuid:run_id>/run-now/", run_actions.run_run_now, name="run-run-now"),
    path("tasks/", task_pages.task_list, name="tasks"),
    path("tasks/<str:name>/", task_pages.task_detail, name="task"),
    path("failures/", dashboard.failure_list, name="failures"),
    re_path(rf"^failures/{FINGERPRINT}/$", dashboard.failure_group, name="failure-group"),
    re_path(rf"^failures/{FINGERPRINT}/replay/$", actions.failure_group_replay, name="failure-group-replay"),
    path("dead-letters/", dashboard.dead_letters, name="dead-letters"),
    path("dead-letters/bulk/", actions.dead_letters_bulk, name="dead-letters-bulk"),
    path("workers/", dashboard.worker_list, name="workers"),
    path("batches/", batch_pages.batch_list, name="batches"),
    path("batches/<uuid:batch_id>/", batch_pages.batch_detail, name="batch"),
    path("batches/<uuid:batch_id>/<slug:verb>/", batch_pages.batch_action, name="batch-action"),
    path("flow/", flow_pages.flow_page, name="flow"),
    path("alerts/", alert_pages.alert_list, name="alerts"),
    path("alerts/<int:alert_id>/silence/", alert_pages.alert_silence, name="alert-silence"),
    path("schedules/", schedule_pages.schedule_list, name="schedules"),
    path("schedules/add/", schedule_pages.schedule_add, name="schedule-add"),
    re_path(r"^schedules/(?P<name>[^/]{1,100})/(?P<verb>pause|resume|run|remove)/$",
            schedule_pages.schedule_action, name="schedule-action"),
    path("audit/", audit_pages.audit_list, name="audit"),
    re_path(r"^flow/(?P<kind>queue|task|breaker)/(?P<name>[^/]{1,255})/(?P<verb>pause|resume|open|close)/$",
            flow_pages.flow_action, name="flow-action"),
]
