from datetime import UTC, datetime

import pytest

from taskboard.operations import inputs


def test_run_after_is_normalised_to_utc() -> None:
    assert inputs.parse_run_after("2030-01-31T13:00:00+01:00") == datetime(2030, 1, 31, 12, tzinfo=UTC)


def test_run_after_accepts_z() -> None:
    assert inputs.parse_run_after("2030-01-31T12:00:00Z") == datetime(2030, 1, 31, 12, tzinfo=UTC)


def test_naive_run_after_is_refused_naming_the_field() -> None:
    with pytest.raises(inputs.BadInput, match="--run-after '2030-01-31T12:00:00' has no UTC offset"):
        inputs.parse_run_after("2030-01-31T12:00:00", "--run-after")


def test_unparseable_run_after_is_refused() -> None:
    with pytest.raises(inputs.BadInput, match="is not an ISO 8601 datetime"):
        inputs.parse_run_after("tomorrow")


@pytest.mark.parametrize("text", ["NaN", "[Infinity]", '{"a": -Infinity}'])
def test_loads_refuses_non_json_constants(text: str) -> None:
    with pytest.raises(ValueError, match="is not valid JSON"):
        inputs.loads(text)


def test_loads_reads_json() -> None:
    assert inputs.loads(b'{"a": [1, 2.5, null]}') == {"a": [1, 2.5, None]}


def test_nul_characters_are_refused_naming_the_field() -> None:
    with pytest.raises(inputs.BadInput, match="kwargs contains a NUL character"):
        inputs.check_json_value({"name": "a\x00b"}, "kwargs")


def test_absent_text_passes() -> None:
    inputs.check_text(None, "queue")


def test_lone_surrogates_in_text_are_refused() -> None:
    with pytest.raises(inputs.BadInput, match="queue contains an unpaired surrogate"):
        inputs.check_text("\ud800", "queue")
