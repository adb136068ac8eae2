"""Structured search: the parser, and what it finds on the run and dead-letter lists."""

from __future__ import annotations

import re

import pytest

from taskboard.models import DeadLetter, Status
from taskboard.web.dashboard.search import SearchError, id_prefix, parse_search
from tests import sample_tasks  # noqa: F401 - registers tests.sample_tasks.echo (task:echo)
from tests.factories import ECHO, FAIL

TASKS = ["taskboard.demo.fail", "tests.sample_tasks.echo"]


def listed(response):
    return re.findall(r'<tr id="run-([0-9a-f-]{36})"', response.content.decode())


def letters(response):
    return [int(pk) for pk in re.findall(r'name="ids" value="(\d+)"', response.content.decode())]


# --- the parser -------------------------------------------------------------------------------


def test_qualifiers_and_text_are_told_apart():
    search = parse_search('task:echo queue:emails,bulk status:failed worker:host-a kwargs.customer:ACME card declined',
                          TASKS)
    assert search.tasks == ["tests.sample_tasks.echo"]
    assert (search.queues, search.statuses, search.worker) == (["emails", "bulk"], ["failed"], "host-a")
    assert search.kwargs == [(("customer",), ["ACME"])]
    assert search.text == "card declined"


def test_a_word_ending_in_a_colon_is_text():
    assert parse_search("ValueError: bad iban").text == "ValueError: bad iban"


def test_an_unknown_name_before_a_colon_is_text():
    assert parse_search("http://example.com").text == "http://example.com"


@pytest.mark.parametrize(("value", "accepted"), [
    ("7", [7, "7"]), ("true", [True, "true"]), ("null", [None, "null"]), ('"7"', ["7"]), ("ACME", ["ACME"]),
])
def test_an_argument_value_is_json_when_it_spells_a_scalar(value, accepted):
    assert parse_search(f"kwargs.n:{value}").kwargs == [(("n",), accepted)]


def test_quotes_keep_spaces_together():
    search = parse_search('kwargs.name:"ACME corp" "two words"')
    assert search.kwargs == [(("name",), ["ACME corp"])]
    assert search.text == "two words"


def test_nested_argument_keys():
    assert parse_search("kwargs.address.city:Berlin").kwargs == [(("address", "city"), ["Berlin"])]


@pytest.mark.parametrize(("text", "message"), [
    ("status:bogus", "status:bogus is not one of"),
    ("id:xyz", "id:xyz is not a run id"),
    ('kwargs.name:"open', "has no closing quote"),
    ("kwargs..x:1", "is not a keyword argument"),
    ("queue:,", "queue: needs a value"),
])
def test_invalid_search_says_why(text, message):
    with pytest.raises(SearchError, match=re.escape(message)):
        parse_search(text)


@pytest.mark.parametrize(("text", "hex_"), [
    ("1A2B3C4D", "1a2b3c4d"), ("1a2b3c4d-5e6f", "1a2b3c4d5e6f"), ("1a2b3c4d-5e6f-4a00-8000-000000000001",
                                                                 "1a2b3c4d5e6f4a008000000000000001"),
])
def test_id_prefixes(text, hex_):
    prefix = id_prefix(text)
    assert prefix is not None and prefix.hex == hex_


@pytest.mark.parametrize("text", ["1a2b3c4", "zzzzzzzz", "card"])
def test_what_is_no_id_prefix(text):
    assert id_prefix(text) is None


def test_a_lone_id_like_word_may_be_an_id():
    assert parse_search("1a2b3c4d").maybe_id is not None
    assert parse_search("1a2b3c4d declined").maybe_id is None


# --- the run list -----------------------------------------------------------------------------


def test_task_qualifier_by_short_name(viewer_client, make_run):
    hit = make_run(task=ECHO)
    make_run(task=FAIL, kwargs={})
    assert listed(viewer_client.get("/dashboard/runs/?q=task:echo")) == [str(hit.pk)]


def test_queue_and_status_qualifiers(viewer_client, make_run):
    hit = make_run(Status.FAILED, queue="emails")
    make_run(Status.SUCCEEDED, queue="emails")
    make_run(Status.FAILED, queue="default")
    assert listed(viewer_client.get("/dashboard/runs/?q=queue:emails status:failed")) == [str(hit.pk)]


def test_worker_qualifier_matches_a_host_prefix(viewer_client, make_run):
    hit = make_run(Status.SUCCEEDED, worker="db-7:4242")
    make_run(Status.SUCCEEDED, worker="web-1:11")
    assert listed(viewer_client.get("/dashboard/runs/?q=worker:db-7")) == [str(hit.pk)]


def test_kwargs_qualifier_matches_the_value_not_a_substring(viewer_client, make_run):
    hit = make_run(kwargs={"value": 7})
    make_run(kwargs={"value": 77})
    make_run(kwargs={"other": 7})
    assert listed(viewer_client.get("/dashboard/runs/?q=kwargs.value:7")) == [str(hit.pk)]


@pytest.mark.parametrize(("query", "hits"), [
    ("kwargs.value:7", [{"value": 7}, {"value": "7"}]),
    ('kwargs.value:"7"', [{"value": "7"}]),
    ("kwargs.value:true", [{"value": True}, {"value": "true"}]),
    ("kwargs.value:null", [{"value": None}, {"value": "null"}]),
])
def test_kwargs_qualifier_compares_json_values_on_either_database(viewer_client, make_run, query, hits):
    # JSON 1 is not true, 7.5 is not 7 and a missing key is not null, on SQLite as on PostgreSQL.
    expected = {str(make_run(kwargs=kwargs).pk) for kwargs in hits}
    for kwargs in ({"value": 1}, {"value": 7.5}, {"value": [7]}, {"other": None}, {}):
        make_run(kwargs=kwargs)
    assert sorted(listed(viewer_client.get("/dashboard/runs/", {"q": query}))) == sorted(expected)


def test_kwargs_qualifier_with_a_key_named_like_a_lookup(viewer_client, make_run):
    hit = make_run(kwargs={"contains": "x"})
    make_run(kwargs={"value": "x"})
    assert listed(viewer_client.get("/dashboard/runs/?q=kwargs.contains:x")) == [str(hit.pk)]


def test_qualifiers_combine_with_text(viewer_client, make_run):
    hit = make_run(Status.FAILED, kwargs={"value": 1}, last_error="ValueError: iban")
    make_run(Status.FAILED, kwargs={"value": 2}, last_error="ValueError: iban")
    assert listed(viewer_client.get("/dashboard/runs/?q=kwargs.value:1 iban")) == [str(hit.pk)]


def test_an_invalid_search_says_so_and_lists_nothing(viewer_client, make_run):
    make_run()
    response = viewer_client.get("/dashboard/runs/?q=status:bogus")
    content = response.content.decode()
    assert response.status_code == 400 and listed(response) == []
    assert 'aria-invalid="true" aria-describedby="id_q-error"' in content
    assert "status:bogus is not one of" in content


def test_an_invalid_search_by_htmx_shows_the_reason_in_the_results(viewer_client, make_run):
    make_run()
    response = viewer_client.get("/dashboard/runs/?q=id:nope", HTTP_HX_REQUEST="true")
    content = response.content.decode()
    assert response.status_code == 400
    assert content.lstrip().startswith('<section id="results"')
    assert "The filter is not valid" in content and "id:nope is not a run id" in content


# --- the dead-letter list ---------------------------------------------------------------------


def test_dead_letters_by_short_run_id(operator_client, make_failed):
    wanted = make_failed()
    make_failed()
    response = operator_client.get(f"/dashboard/dead-letters/?q={str(wanted.pk)[:8]}")
    assert letters(response) == [wanted.dead_letter.pk]


def test_dead_letters_by_id_qualifier(operator_client, make_failed):
    wanted = make_failed()
    make_failed()
    assert letters(operator_client.get(f"/dashboard/dead-letters/?q=id:{str(wanted.pk)[:8]}")) == [
        wanted.dead_letter.pk]


def test_dead_letters_by_task_qualifier(operator_client, make_failed):
    wanted = make_failed(task="taskboard.demo.flaky")
    make_failed(task=FAIL)
    assert letters(operator_client.get("/dashboard/dead-letters/?q=task:flaky")) == [wanted.dead_letter.pk]


def test_a_qualifier_dead_letters_cannot_apply_is_an_error(operator_client, make_failed):
    make_failed()
    content = operator_client.get("/dashboard/dead-letters/?q=worker:host").content.decode()
    assert letters_in(content) == [] and "worker: is not available for dead letters" in content


def test_an_invalid_state_lists_no_dead_letters(operator_client, make_failed):
    make_failed()
    content = operator_client.get("/dashboard/dead-letters/?state=bogus").content.decode()
    assert letters_in(content) == []
    assert "Select a valid choice" in content


def test_a_bulk_action_on_an_invalid_filter_touches_nothing(operator_client, make_failed):
    make_failed()
    response = operator_client.post("/dashboard/dead-letters/bulk/?q=status:bogus",
                                     {"action": "discard", "scope": "filter", "confirmed": "1"},
                                     HTTP_HX_REQUEST="true")
    assert response.status_code == 400 and "The filter is not valid" in response.content.decode()
    assert DeadLetter.objects.filter(resolved_at__isnull=True).count() == 1


def letters_in(content):
    return [int(pk) for pk in re.findall(r'name="ids" value="(\d+)"', content)]
