"""The failures page's From/To range, and invalid filters on the failures and dead-letter pages:
nothing listed, the reason shown (in the htmx fragment too, since the form is not swapped),
and a 400."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from taskboard.models import Outcome, Status
from tests.web.conftest import HTMX


def local(moment):
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M:%S")


def group_links(content):
    return re.findall(r'href="/dashboard/failures/([0-9a-f]+)/"', content)


def failing(make_run, make_attempt, message, age):
    run = make_run(Status.FAILED)
    return make_attempt(run, outcome=Outcome.RETRYABLE, message=message, finished_at=timezone.now() - age)


def test_the_failures_page_has_from_and_to(viewer_client, db):
    content = viewer_client.get("/dashboard/failures/").content.decode()
    assert 'type="datetime-local" step="1" name="from" id="id_from"' in content
    assert 'name="to" id="id_to"' in content


def test_a_range_lists_the_groups_failing_inside_it_with_their_count_there(viewer_client, make_run, make_attempt):
    inside = failing(make_run, make_attempt, "inside the range", timedelta(hours=5))
    failing(make_run, make_attempt, "after the range", timedelta(hours=1))
    now = timezone.now()
    response = viewer_client.get(f"/dashboard/failures/?from={local(now - timedelta(hours=6))}"
                                 f"&to={local(now - timedelta(hours=2))}")
    content = response.content.decode()
    assert response.status_code == 200
    assert group_links(content) == [inside.fingerprint]
    assert '<th scope="col" class="num">In range</th>' in content and '<td class="num strong">1</td>' in content
    assert f'name="from" id="id_from" value="{local(now - timedelta(hours=6))}"' in content


def test_a_range_with_no_failures_says_so(viewer_client, make_run, make_attempt):
    failing(make_run, make_attempt, "recent", timedelta(minutes=5))
    content = viewer_client.get(f"/dashboard/failures/?to={local(timezone.now() - timedelta(hours=1))}").content
    assert "No failed attempts in this range." in content.decode()


@pytest.mark.parametrize(("query", "field", "error"), [
    ("sort=bogus", "sort", "Select a valid choice"),
    ("from=yesterday", "from", "Enter a valid date/time"),
    ("from=2030-01-02T00:00&to=2030-01-01T00:00", "to", "must be later than From"),
    ("from=2030-01-01T00:00&to=2030-01-09T00:00", "from", "at most 7 days: choose a From within 7 days of To"),
])
def test_an_invalid_failure_filter_lists_nothing_and_says_why(viewer_client, make_failed, query, field, error):
    make_failed()
    response = viewer_client.get(f"/dashboard/failures/?{query}")
    content = response.content.decode()
    assert response.status_code == 400 and group_links(content) == []
    assert re.search(f'id="id_{field}"[^>]* aria-invalid="true"', content)
    assert error in content and "The filter is not valid" in content
    assert "Fix the filter to list failure groups." in content


def test_a_from_more_than_seven_days_ago_is_too_long_a_range(viewer_client, db):
    response = viewer_client.get(f"/dashboard/failures/?from={local(timezone.now() - timedelta(days=8))}")
    assert response.status_code == 400 and "choose a From within 7 days of now" in response.content.decode()


def test_the_failures_fragment_carries_the_errors(viewer_client, make_failed):
    make_failed()
    response = viewer_client.get("/dashboard/failures/?sort=bogus", **HTMX)
    content = response.content.decode()
    assert response.status_code == 400 and content.lstrip().startswith('<section id="groups"')
    assert "The filter is not valid" in content and group_links(content) == []


def test_a_valid_failures_fragment_has_no_error(viewer_client, make_failed):
    make_failed()
    content = viewer_client.get("/dashboard/failures/?sort=frequent", **HTMX).content.decode()
    assert "The filter is not valid" not in content and len(group_links(content)) == 1


def test_the_dead_letters_fragment_carries_the_errors(operator_client, make_failed):
    make_failed()
    response = operator_client.get("/dashboard/dead-letters/?q=worker:host", **HTMX)
    content = response.content.decode()
    assert response.status_code == 400 and content.lstrip().startswith('<section id="results"')
    assert "The filter is not valid" in content and "worker: is not available for dead letters" in content
    assert 'name="ids"' not in content and "Fix the filter to list dead letters." in content


def test_an_invalid_dead_letter_filter_answers_400(operator_client, make_failed):
    make_failed()
    assert operator_client.get("/dashboard/dead-letters/?state=bogus").status_code == 400
    assert operator_client.get("/dashboard/dead-letters/?state=resolved").status_code == 200
