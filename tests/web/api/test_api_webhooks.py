"""``/api/webhooks/``: list, add (the secret shown once), remove; validation (400, nothing
written), permissions (401/403), one audit event per change, never the secret in it."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from taskboard.models import AuditEvent, WebhookSubscription
from taskboard.notify.config import check_webhook_secret
from taskboard.operations import PERM_WEBHOOKS
from tests.conftest import VIEWER_PERMS, make_user
from tests.factories import FAIL
from tests.web.api.api_fixtures import *  # noqa: F403 - pytest fixtures
from tests.web.api.api_fixtures import bearer_client, post_json, token_for

pytestmark = pytest.mark.django_db

URL = "https://hooks.example.com/taskboard"


@pytest.fixture
def integrator() -> User:
    return make_user("integrator", perms=(*VIEWER_PERMS, PERM_WEBHOOKS))


@pytest.fixture
def integrator_api(integrator: User) -> Client:
    return bearer_client(token_for(integrator))


def test_add_list_remove(integrator_api):
    created = post_json(integrator_api, "/api/webhooks/", {"url": URL, "events": ["run.failed", "run.succeeded"],
                                                           "task": FAIL, "description": "billing"})
    assert created.status_code == 201
    body = created.json()
    assert check_webhook_secret(body["secret"]) == body["secret"]
    assert {k: body[k] for k in ("url", "events", "task", "description", "active", "created_by")} == {
        "url": URL, "events": ["run.failed", "run.succeeded"], "task": FAIL, "description": "billing",
        "active": True, "created_by": "integrator"}
    listed = integrator_api.get("/api/webhooks/").json()["results"]
    assert [row["id"] for row in listed] == [body["id"]] and "secret" not in listed[0]
    assert integrator_api.delete(f"/api/webhooks/{body['id']}/").status_code == 204
    assert not WebhookSubscription.objects.exists()
    verbs = list(AuditEvent.objects.order_by("id").values_list("verb", "via"))
    assert verbs == [("webhook.add", "api"), ("webhook.remove", "api")]
    assert body["secret"] not in str(list(AuditEvent.objects.values()))


def test_all_events_when_none_are_given(integrator_api):
    body = post_json(integrator_api, "/api/webhooks/", {"url": URL}).json()
    assert body["events"] == [] and body["task"] is None


@pytest.mark.parametrize("payload", [
    {}, {"url": "ftp://example.com/x"}, {"url": "not a url"}, {"url": "http://"},
    {"url": URL, "events": ["run.exploded"]}, {"url": URL, "events": "run.failed"},
    {"url": URL, "task": "no.such.task"}, {"url": URL, "secret": "whsec_mine"}, {"url": 5},
    {"url": URL, "description": "x" * 201}, {"url": "https://example.com/" + "x" * 500},
])
def test_bad_subscriptions_are_400_and_write_nothing(integrator_api, payload):
    response = post_json(integrator_api, "/api/webhooks/", payload)
    assert response.status_code == 400, response.content
    assert not WebhookSubscription.objects.exists() and not AuditEvent.objects.exists()


def test_unknown_subscription_is_404(integrator_api):
    assert integrator_api.delete("/api/webhooks/12345/").status_code == 404


def test_permission_is_needed_for_everything(viewer_api, operator_api):
    for client in (viewer_api, operator_api):
        assert client.get("/api/webhooks/").status_code == 403
        assert post_json(client, "/api/webhooks/", {"url": URL}).status_code == 403
        assert client.delete("/api/webhooks/1/").status_code == 403
    assert Client().get("/api/webhooks/").status_code == 401
    assert not WebhookSubscription.objects.exists()
