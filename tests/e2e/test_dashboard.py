"""The operator dashboard in a real browser, against a real server and a real worker.

Each scenario logs in through the login form, acts only through what an operator sees (roles,
labels, texts) and checks the outcome both on the page and in the database. Screenshots of
every page (``test_pages``) go to ``$TASKBOARD_ARTIFACTS`` (default ``test-artifacts/``).
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from playwright.sync_api import expect

from taskboard.demo import fail, sleep, steps
from taskboard.models import AuditEvent, DeadLetter, Status, TaskRun
from tests.cache_helpers import forget_dashboard_cache
from tests.e2e.conftest import password_of
from tests.execution.workers import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


# --- helpers ----------------------------------------------------------------------------------


def run_status(page: Any) -> Any:
    """The status badge in the run page's title block."""
    return page.locator(".run-title .badge").first


def status_is(status: str) -> re.Pattern[str]:
    """The badge's rendered text (its CSS may capitalise it)."""
    return re.compile(rf"^\s*{status}\s*$", re.IGNORECASE)


def mark_document(page: Any) -> None:
    """A marker that only survives while the document is never reloaded or navigated."""
    page.evaluate("window.__marker = 1")


def document_survived(page: Any) -> bool:
    return page.evaluate("window.__marker") == 1


def wait_for_status(run_id: Any, *statuses: str, timeout: float = 20) -> TaskRun:
    return wait_for(lambda: TaskRun.objects.filter(pk=run_id, status__in=statuses).first(), timeout,
                    interval=0.1, message=f"run {run_id} to be {' or '.join(statuses)}")


def assert_page_healthy(page: Any) -> None:
    """The stylesheet and htmx loaded, and nothing on the wire failed."""
    assert page.problems.failed == []
    assert page.evaluate("typeof window.htmx") == "object"
    assert page.evaluate("Array.from(document.styleSheets).some(s => s.cssRules.length > 0)")


def progress_value(page: Any) -> float:
    return float(page.get_by_role("progressbar").get_attribute("aria-valuenow"))


# --- scenarios --------------------------------------------------------------------------------


def test_operator_logs_in(page, operator):
    page.goto("/dashboard/runs/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/dashboard/runs/$"))

    page.get_by_label("Username").fill("operator")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("username and password")

    page.get_by_label("Password").fill(password_of(operator))
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/dashboard/runs/$"))  # back where the operator wanted to go
    expect(page.get_by_role("heading", level=1)).to_have_text("Runs")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Dead letters")).to_be_visible()
    expect(page.get_by_text("operator", exact=True)).to_be_visible()
    assert_page_healthy(page)


def test_progress_bar_advances_without_reload(page, signed_in):
    run_id = steps.enqueue(steps=8, step_seconds=1.0).id
    page.goto(f"/dashboard/runs/{run_id}/")
    mark_document(page)
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url) if frame == page.main_frame else None)

    seen = [progress_value(page)]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and run_status(page).inner_text().strip().lower() != "succeeded":
        value = progress_value(page)
        if value != seen[-1]:
            seen.append(value)
        time.sleep(0.1)
    seen.append(progress_value(page))

    expect(run_status(page)).to_have_text(status_is("succeeded"))
    increases = [b for a, b in zip(seen, seen[1:], strict=False) if b > a]
    assert len(increases) >= 2, f"progress values seen: {seen}"
    assert seen == sorted(seen), f"progress went backwards: {seen}"
    assert seen[-1] == 100
    expect(page.get_by_role("progressbar")).to_have_attribute("aria-valuenow", re.compile(r"^100(\.0)?$"))
    assert document_survived(page) and navigations == []
    assert TaskRun.objects.get(pk=run_id).status == Status.SUCCEEDED
    assert_page_healthy(page)


def test_cancel_a_running_sleep(page, signed_in):
    run_id = sleep.enqueue(seconds=60).id
    wait_for_status(run_id, Status.RUNNING)
    page.goto(f"/dashboard/runs/{run_id}/")
    expect(run_status(page)).to_have_text(status_is("running"))
    mark_document(page)

    page.get_by_role("button", name="Cancel", exact=True).click()

    expect(run_status(page)).to_have_text(status_is("cancelled"), timeout=10_000)
    expect(page.get_by_role("button", name="Cancel", exact=True)).to_have_count(0)
    expect(page.get_by_text("Cancelled by operator.")).to_be_visible()
    assert document_survived(page)
    run = TaskRun.objects.get(pk=run_id)
    assert run.status == Status.CANCELLED and run.cancel_requested
    assert list(run.attempt_set.values_list("outcome", flat=True)) == ["cancelled"]
    assert_page_healthy(page)


def test_failures_are_grouped(page, signed_in):
    declined = [fail.enqueue(message=f"e2e card declined for order {n}").id for n in (1042, 2077)]
    other = fail.enqueue(message="e2e gateway unreachable").id
    for run_id in [*declined, other]:
        wait_for_status(run_id, Status.FAILED)
    forget_dashboard_cache()
    page.goto("/dashboard/failures/")

    groups = page.get_by_role("region", name="Failure groups").get_by_role("row")
    declined_group = groups.filter(has_text="card declined")
    other_group = groups.filter(has_text="gateway unreachable")
    expect(declined_group).to_have_count(1)  # two messages differing only by a number: one group
    expect(other_group).to_have_count(1)
    expect(declined_group).to_contain_text("PermanentError")
    expect(declined_group).to_contain_text("fail")
    expect(declined_group.get_by_role("cell").nth(1)).to_have_text("2")  # failures in the last hour
    expect(other_group.get_by_role("cell").nth(1)).to_have_text("1")
    assert_page_healthy(page)

    declined_group.get_by_role("link", name="PermanentError").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("PermanentError")
    attempts = page.get_by_role("region", name="Failed attempts")
    for run_id in declined:
        expect(attempts.get_by_role("link", name=str(run_id)[:8])).to_be_visible()
    expect(attempts.get_by_role("link", name=str(other)[:8])).to_have_count(0)


def test_replay_from_dead_letters_and_follow_the_new_run(page, signed_in):
    old_id = fail.enqueue(message="e2e replay me").id
    wait_for_status(old_id, Status.FAILED)
    page.goto("/dashboard/dead-letters/")
    mark_document(page)

    page.get_by_role("checkbox", name=f"Select dead letter of run {str(old_id)[:8]}").check()
    page.get_by_role("button", name="Replay", exact=True).click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Replay 1 dead letter?")
    dialog.get_by_label("Reason").fill("e2e: the card provider is back")
    dialog.get_by_role("button", name="Replay 1").click()

    expect(page.get_by_role("status").filter(has_text="Replayed 1 dead letter")).to_be_visible()
    expect(page.get_by_role("dialog")).to_have_count(0)
    assert document_survived(page)
    new_run = TaskRun.objects.get(replay_of_id=old_id)
    letter = DeadLetter.objects.get(run_id=old_id)
    assert letter.resolution == "replayed" and letter.replay_run_id == new_run.pk
    event = AuditEvent.objects.get(verb="dead_letter.replay", runs__run_id=old_id)
    assert (event.via, event.actor, event.reason) == ("ui", "operator", "e2e: the card provider is back")

    page.get_by_role("link", name="Resolved").click()
    page.get_by_role("link", name=f"run {str(new_run.pk)[:8]}").click()
    expect(page).to_have_url(re.compile(rf"/dashboard/runs/{new_run.pk}/$"))
    history = page.get_by_role("region", name="History")
    expect(history).to_contain_text("Replay of")
    expect(history.get_by_role("link", name=str(old_id)[:8])).to_have_attribute("href", f"/dashboard/runs/{old_id}/")
    assert_page_healthy(page)


def test_replay_with_edited_arguments_validates_them(page, signed_in):
    old_id = fail.enqueue(message="e2e wrong input").id
    wait_for_status(old_id, Status.FAILED)
    runs_before = TaskRun.objects.count()
    page.goto(f"/dashboard/runs/{old_id}/")
    mark_document(page)

    page.get_by_text("Replay with edited arguments").click()
    arguments = page.get_by_label("Keyword arguments (JSON object)")
    expect(arguments).to_have_value(re.compile(r'"message": "e2e wrong input"'))
    arguments.fill('{"message": 5}')
    page.get_by_role("button", name="Replay with these arguments").click()

    wrong_type = re.compile(r"'message' must be str, got int 5")
    expect(page.get_by_role("alert")).to_contain_text(wrong_type)
    arguments = page.get_by_label("Keyword arguments (JSON object)")  # swapped in anew
    expect(arguments).to_have_attribute("aria-invalid", "true")
    expect(arguments).to_have_accessible_description(wrong_type)  # the error is tied to the field
    expect(arguments).to_have_value('{"message": 5}')
    assert document_survived(page)
    assert TaskRun.objects.count() == runs_before
    assert not TaskRun.objects.filter(replay_of_id=old_id).exists()
    assert DeadLetter.objects.get(run_id=old_id).resolved_at is None

    # Corrected, the same form replays with the edited arguments.
    arguments.fill('{"message": "e2e fixed input"}')
    page.get_by_role("button", name="Replay with these arguments").click()
    toast = page.get_by_role("status").filter(has_text="Replayed with edited arguments")
    expect(toast).to_be_visible()
    new_run = TaskRun.objects.get(replay_of_id=old_id)
    assert new_run.kwargs == {"message": "e2e fixed input"}
    toast.get_by_role("link").click()
    expect(page).to_have_url(re.compile(rf"/dashboard/runs/{new_run.pk}/$"))
    assert_page_healthy(page)
