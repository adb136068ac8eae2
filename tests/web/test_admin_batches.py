"""The batch admin: read-only rows, cancel and replay failed through operations as the user."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from taskboard.bulk import enqueue_many
from taskboard.execution.runner import execute
from taskboard.models import AuditEvent, Batch, Status, TaskRun, Via
from tests import callback_tasks

pytestmark = pytest.mark.django_db


def client_of(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def make_batch(*fails: bool) -> Batch:
    done = enqueue_many(callback_tasks.child, [{"kwargs": {"n": i, "fail": f}} for i, f in enumerate(fails)],
                        batch={"name": "admin batch"})
    assert done.batch is not None
    return done.batch


def test_viewers_see_batches_and_cannot_change_them(viewer: User) -> None:
    batch = make_batch(False)
    client = client_of(viewer)
    listing = client.get("/admin/taskboard/batch/")
    assert listing.status_code == 200 and "admin batch" in listing.content.decode()
    assert client.get(f"/admin/taskboard/batch/{batch.pk}/change/").status_code == 200
    response = client.post("/admin/taskboard/batch/", {"action": "cancel", "_selected_action": [batch.pk]})
    assert response.status_code == 200  # not offered to a viewer
    assert TaskRun.objects.get(batch=batch).status == Status.QUEUED


def test_the_cancel_action_cancels_through_operations(operator: User) -> None:
    batch = make_batch(False, False)
    client_of(operator).post("/admin/taskboard/batch/", {"action": "cancel", "_selected_action": [batch.pk]})
    assert set(TaskRun.objects.filter(batch=batch).values_list("status", flat=True)) == {Status.CANCELLED}
    event = AuditEvent.objects.get(verb="batch.cancel")
    assert (event.via, event.actor) == (Via.ADMIN, "operator")


def test_the_replay_failed_action_replays(operator: User) -> None:
    batch = make_batch(True)
    execute(str(TaskRun.objects.get(batch=batch).pk))
    client_of(operator).post("/admin/taskboard/batch/", {"action": "replay_failed", "_selected_action": [batch.pk]})
    assert TaskRun.objects.filter(batch=batch, replay_of__isnull=False).count() == 1
