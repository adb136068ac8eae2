"""The admin and the audit log: its actions leave one event ``via`` admin, and the audit log is
there read-only (nothing added, changed or deleted), filtered and linked to the runs."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from taskboard import operations
from taskboard.models import AuditEvent, Status, Via
from taskboard.operations import tokens
from taskboard.operations.audit import acting_via
from tests.audit_helpers import recorded, summary
from tests.web.flow_fixtures import *  # noqa: F403 - pytest fixtures

pytestmark = pytest.mark.django_db


def client_of(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def act(client: Client, model: str, name: str, pks: list) -> None:
    response = client.post(f"/admin/taskboard/{model}/", {"action": name, "_selected_action": pks}, follow=True)
    assert response.status_code == 200


def test_a_bulk_admin_action_is_one_event_via_the_admin(operator: User, make_run) -> None:
    runs = [make_run(Status.QUEUED), make_run(Status.QUEUED)]
    with recorded() as events:
        act(client_of(operator), "taskrun", "cancel_runs", [r.pk for r in runs])
    [event] = events
    assert (event.verb, event.actor, event.via, event.count) == ("run.cancel", "operator", "admin", 2)
    assert set(event.targets) == {str(r.pk) for r in runs}


def test_discarding_in_the_admin(operator: User, make_failed) -> None:
    run = make_failed()
    with recorded() as events:
        act(client_of(operator), "deadletter", "discard_letters", [run.dead_letter.pk])
    assert [summary(e) for e in events] == [("dead_letter.discard", "operator", "admin", [str(run.pk)], 1)]


def test_adding_a_pause_in_the_admin(flow_operator: User) -> None:
    with recorded() as events:
        client_of(flow_operator).post("/admin/taskboard/pause/add/", {"scope": "queue", "name": "default",
                                                                       "reason": "deploy"})
    assert [(e.verb, e.via, e.reason) for e in events] == [("queue.pause", "admin", "deploy")]


def test_revoking_tokens_in_the_admin(db: None, operator: User) -> None:
    root = User.objects.create_superuser("root", "root@example.com", "pw")
    token, _ = tokens.create_token(operator)
    with recorded() as events:
        act(client_of(root), "apitoken", "revoke", [token.pk])
    assert [summary(e) for e in events] == [("token.revoke", "root", "admin", [f"operator:{token.prefix}"], 1)]


def test_an_admin_action_without_permission_records_nothing(viewer: User, make_run) -> None:
    run = make_run(Status.QUEUED)
    with recorded() as events:
        act(client_of(viewer), "taskrun", "cancel_runs", [run.pk])
    assert events == []


# --- the audit log in the admin ---------------------------------------------------------------


@pytest.fixture
def event(operator: User, make_run) -> AuditEvent:
    run = make_run(Status.QUEUED)
    with acting_via(Via.UI):
        operations.cancel(run.pk, user=operator, reason="wrong tenant")
    return AuditEvent.objects.get()


def test_viewers_read_the_list_and_an_event(viewer: User, event: AuditEvent) -> None:
    client = client_of(viewer)
    listing = client.get("/admin/taskboard/auditevent/").content.decode()
    assert "wrong tenant" in listing and "run.cancel" in listing
    detail = client.get(f"/admin/taskboard/auditevent/{event.pk}/change/")
    run_id = event.targets[0]
    assert detail.status_code == 200 and f'href="/dashboard/runs/{run_id}/"' in detail.content.decode()


def test_filters_by_via_and_verb(viewer: User, event: AuditEvent) -> None:
    client = client_of(viewer)
    assert "wrong tenant" in client.get("/admin/taskboard/auditevent/?via__exact=ui&verb=run.cancel").content.decode()
    assert "wrong tenant" not in client.get("/admin/taskboard/auditevent/?via__exact=cli").content.decode()


def test_nothing_is_added_changed_or_deleted(db: None, event: AuditEvent) -> None:
    root = client_of(User.objects.create_superuser("root", "root@example.com", "pw"))
    assert root.get("/admin/taskboard/auditevent/add/").status_code == 403
    assert root.post(f"/admin/taskboard/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    root.post(f"/admin/taskboard/auditevent/{event.pk}/change/", {"actor": "someone else", "reason": "edited"})
    root.post("/admin/taskboard/auditevent/", {"action": "delete_selected", "_selected_action": [event.pk],
                                               "post": "yes"})
    assert AuditEvent.objects.get().actor == "operator" and AuditEvent.objects.get().reason == "wrong tenant"
    listing = root.get("/admin/taskboard/auditevent/").content.decode()
    assert "delete_selected" not in listing and "Add audit event" not in listing


def test_outsiders_do_not_see_it(outsider: User, event: AuditEvent) -> None:
    assert client_of(outsider).get("/admin/taskboard/auditevent/").status_code == 302  # to the admin login
