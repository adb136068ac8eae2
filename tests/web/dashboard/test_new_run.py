"""The New run page: the task picker, the form a signature generates, and enqueueing."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.tasks import task
from django.utils import timezone

from taskboard.models import Status, TaskRun
from taskboard.web.dashboard.new_run import WITH_PRIORITY

SIGNUP = f"{__name__}.signup"
FLEXIBLE = f"{__name__}.flexible"
URL = "/dashboard/runs/new/"


@task(max_attempts=2)
def signup(email: str, age: int, note: str | None, score: float = 1.5, admin: bool = False,
           tags: list[str] | None = None, meta: dict | None = None) -> None:
    """A task with one parameter of each kind the form knows."""


@task
def flexible(first, *rest: Any, **extra: Any) -> None:  # noqa: ANN001 - unannotated on purpose
    pass


def form_of(client, name=SIGNUP):
    return client.get(f"{URL}?task={name}").content.decode()


def enqueue(client, name=SIGNUP, **fields):
    data = {"arg-email": "a@example.com", "arg-age": "30", "arg-note": "", "queue": "default", "priority": "0"}
    data.update(fields)
    return client.post(f"{URL}?task={name}", data)


def test_the_picker_lists_registered_tasks(operator_client):
    content = operator_client.get(URL).content.decode()
    assert f'<option value="{SIGNUP}">{SIGNUP}</option>' in content
    assert 'name="arg-email"' not in content


def test_the_form_has_a_field_per_parameter_typed_by_its_annotation(operator_client):
    content = form_of(operator_client)
    assert 'type="text" name="arg-email"' in content
    assert 'type="number" name="arg-age"' in content and 'name="arg-score" step="any"' in content
    assert '<select name="arg-admin"' in content
    assert '<textarea name="arg-tags"' in content and '<textarea name="arg-meta"' in content
    assert "Default: 1.5." in content


def test_the_options_default_to_the_task(operator_client):
    content = form_of(operator_client)
    assert '<option value="default" selected>default</option>' in content
    assert 'type="datetime-local" name="run_after"' in content


def test_enqueue_sends_what_was_filled_and_leaves_defaults_to_the_task(operator_client):
    response = enqueue(operator_client, **{"arg-tags": '["a", "b"]', "arg-admin": "true"})
    run = TaskRun.objects.get(task=SIGNUP)
    assert response.status_code == 302 and response["Location"] == f"/dashboard/runs/{run.pk}/"
    assert run.kwargs == {"email": "a@example.com", "age": 30, "note": None, "admin": True, "tags": ["a", "b"]}
    assert (run.status, run.queue, run.max_attempts) == (Status.QUEUED, "default", 2)


def test_the_run_page_confirms_the_enqueue(operator_client):
    response = operator_client.get(enqueue(operator_client)["Location"])
    assert "Enqueued signup as run" in response.content.decode()


def test_run_after_schedules_the_run(operator_client):
    later = timezone.localtime(timezone.now() + timedelta(hours=2)).replace(microsecond=0)
    enqueue(operator_client, run_after=later.strftime("%Y-%m-%dT%H:%M:%S"))
    run = TaskRun.objects.get(task=SIGNUP)
    assert (run.status, run.run_after) == (Status.SCHEDULED, later)


def test_a_value_of_the_wrong_type_is_shown_next_to_its_field_and_writes_nothing(operator_client):
    response = enqueue(operator_client, **{"arg-age": "thirty"})
    content = response.content.decode()
    assert response.status_code == 400
    assert 'name="arg-age"' in content and 'aria-invalid="true"' in content and "Enter a whole number." in content
    assert not TaskRun.objects.exists()


def test_a_missing_required_argument_is_an_error(operator_client):
    response = enqueue(operator_client, **{"arg-email": ""})
    assert response.status_code == 400 and "This field is required." in response.content.decode()


def test_a_json_field_must_hold_its_kind(operator_client):
    response = enqueue(operator_client, **{"arg-tags": '{"a": 1}'})
    assert response.status_code == 400 and "Must be a JSON list." in response.content.decode()


def test_deeply_nested_json_is_an_error_not_a_500(operator_client):
    response = enqueue(operator_client, **{"arg-meta": '{"a": ' + "[" * 50_000 + "]" * 50_000 + "}"})
    assert response.status_code == 400 and "nested more than 64 levels" in response.content.decode()


def test_the_task_validation_speaks_on_the_form(operator_client):
    response = enqueue(operator_client, **{"arg-tags": "[1]", "arg-meta": '{"k": "\\u0000"}'})
    assert response.status_code == 400 and "NUL character" in response.content.decode()
    assert not TaskRun.objects.exists()


def test_an_idempotency_key_returns_the_existing_run(operator_client):
    first = enqueue(operator_client, idempotency_key="signup-1")["Location"]
    response = enqueue(operator_client, idempotency_key="signup-1")
    assert response["Location"] == first and TaskRun.objects.count() == 1


def test_unannotated_and_variadic_parameters_take_json(operator_client):
    content = form_of(operator_client, FLEXIBLE)
    assert "Any JSON value" in content and 'name="arg-rest"' in content and 'name="arg-extra"' in content
    enqueue(operator_client, FLEXIBLE, **{"arg-first": '{"x": 1}', "arg-rest": "[2, 3]", "arg-extra": '{"y": 4}'})
    run = TaskRun.objects.get(task=FLEXIBLE)
    assert (run.args, run.kwargs) == ([{"x": 1}, 2, 3], {"y": 4})  # before *rest, "first" is positional


def test_an_unknown_task_is_a_clear_error(operator_client):
    response = operator_client.get(f"{URL}?task=os.system")
    assert response.status_code == 400
    assert "No registered task is called “os.system”" in response.content.decode()


def test_posting_an_unknown_task_writes_nothing(operator_client):
    assert operator_client.post(f"{URL}?task=os.system", {"queue": "default"}).status_code == 400
    assert not TaskRun.objects.exists()


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_viewer_may_not_enqueue(viewer_client, method):
    assert getattr(viewer_client, method)(f"{URL}?task={SIGNUP}").status_code == 403
    assert not TaskRun.objects.exists()


def test_an_unknown_queue_is_refused(operator_client):
    response = enqueue(operator_client, queue="nope")
    assert response.status_code == 400 and "Choose one of the configured queues." in response.content.decode()


def test_priority_is_offered_exactly_when_enqueue_takes_it(operator_client):
    assert ('name="priority"' in form_of(operator_client)) == WITH_PRIORITY


@pytest.mark.skipif(not WITH_PRIORITY, reason="operations.enqueue takes no priority yet")
def test_priority_is_stored(operator_client):
    enqueue(operator_client, priority="7")
    assert TaskRun.objects.get(task=SIGNUP).priority == 7


# --- the heading, bidi controls, and who sees the way here -----------------------------------


def test_the_heading_has_a_space_before_the_signature(operator_client):
    assert '<h2 id="run-form-title">signup <span class="h-sub mono">(email: str,' in form_of(operator_client)


def test_what_the_operator_posted_comes_back_with_bidi_controls_escaped(operator_client):
    unknown = operator_client.get(f"{URL}?task=evil\u202eyxe.txt").content.decode()
    refused = enqueue(operator_client, queue="default\u202e", **{"arg-admin": "tr\u202eue"}).content.decode()
    for content in (unknown, refused):
        assert "\u202e" not in content
    assert "No registered task is called “evil\\u202eyxe.txt”" in unknown


def nav_links(client):
    content = client.get("/dashboard/").content.decode()
    return re.findall(r'<a href="([^"]+)" data-shortcut="([^"]+)"', content)


def test_the_new_run_link_and_shortcut_show_only_to_who_may_enqueue(operator_client, viewer_client):
    assert (URL, "g n") in nav_links(operator_client)
    links = nav_links(viewer_client)
    assert URL not in [url for url, _ in links] and "g n" not in [keys for _, keys in links]
    assert ("/dashboard/runs/", "g r") in links
    assert "<kbd>n</kbd>" not in viewer_client.get("/dashboard/").content.decode()  # nor in the shortcut help
