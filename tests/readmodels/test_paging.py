import uuid
from datetime import UTC, datetime, timedelta

import pytest

from taskboard.readmodels.paging import Cursor, InvalidCursor, int_pk, keyset_page, run_pk

AT = datetime(2030, 1, 31, 12, 0, tzinfo=UTC)


def test_cursor_round_trips():
    pk = uuid.uuid4()
    assert Cursor.parse(Cursor(AT, str(pk)).encode(), run_pk) == Cursor(AT, str(pk))


def test_cursor_format_is_unpadded_base64_of_time_and_pk():
    # The format is in bookmarked URLs and API clients' hands.
    assert Cursor(AT, "7").encode() == "MjAzMC0wMS0zMVQxMjowMDowMCswMDowMHw3"


@pytest.mark.parametrize("token", ["!!!", "bm90LWEtY3Vyc29y", "MjAzMC0wMS0zMVQxMjowMDowMHw3"])
def test_parse_refuses_a_malformed_token(token):
    with pytest.raises(InvalidCursor):
        Cursor.parse(token, int_pk)


def test_parse_refuses_a_cursor_of_another_kind():
    with pytest.raises(InvalidCursor):
        Cursor.parse(Cursor(AT, "7").encode(), run_pk)


def test_decode_ignores_what_parse_refuses():
    assert Cursor.decode("!!!", int_pk) is None
    assert Cursor.decode(None, int_pk) is None
    assert Cursor.decode("x" * 201, int_pk) is None


@pytest.mark.parametrize("text", ["+7", " 7", "1_000", "1" * 19])
def test_int_pk_takes_digits_only(text):
    with pytest.raises(ValueError):
        int_pk(text)


@pytest.mark.django_db
def test_pages_walk_older_and_back_newer(make_run):
    runs = [make_run(enqueued_at=AT - timedelta(minutes=i)) for i in range(5)]
    from taskboard.models import TaskRun

    first = keyset_page(TaskRun.objects.all(), "enqueued_at", size=2)
    assert first.rows == runs[:2] and first.is_first and first.newer is None
    second = keyset_page(TaskRun.objects.all(), "enqueued_at", after=Cursor.decode(first.next, run_pk), size=2)
    assert second.rows == runs[2:4] and not second.is_first
    back = keyset_page(TaskRun.objects.all(), "enqueued_at", before=Cursor.decode(second.newer, run_pk), size=2)
    assert back.rows == runs[:2] and back.is_first
    last = keyset_page(TaskRun.objects.all(), "enqueued_at", after=Cursor.decode(second.next, run_pk), size=2)
    assert last.rows == runs[4:] and last.next is None
