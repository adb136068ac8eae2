"""taskboard.conf: settings.TASKBOARD values are validated where they are read; taskboard.env:
values from the environment are validated when the settings load."""

import re

import pytest
from django.core.exceptions import ImproperlyConfigured

from taskboard import env
from taskboard.conf import conf


def test_defaults_apply_when_unset(settings):
    settings.TASKBOARD = {}
    assert conf.OUTCOME_BATCH_SECONDS == 0.02
    assert conf.LEASE_SECONDS == 15.0


def test_numbers_are_read_from_strings(settings):
    settings.TASKBOARD = {"LEASE_SECONDS": "30"}
    assert conf.LEASE_SECONDS == 30.0


@pytest.mark.parametrize("value", ["soon", None, [1]])
def test_a_non_number_is_named_in_the_error(settings, value):
    settings.TASKBOARD = {"LEASE_SECONDS": value}
    with pytest.raises(ImproperlyConfigured, match="LEASE_SECONDS.*must be a number"):
        _ = conf.LEASE_SECONDS


@pytest.mark.parametrize("value", [0, -1])
def test_durations_must_be_positive(settings, value):
    settings.TASKBOARD = {"LEASE_SECONDS": value}
    with pytest.raises(ImproperlyConfigured, match="LEASE_SECONDS.*must be positive"):
        _ = conf.LEASE_SECONDS


def test_the_group_commit_window_may_be_zero_but_not_negative(settings):
    settings.TASKBOARD = {"OUTCOME_BATCH_SECONDS": 0}
    assert conf.OUTCOME_BATCH_SECONDS == 0.0
    settings.TASKBOARD = {"OUTCOME_BATCH_SECONDS": -0.5}
    with pytest.raises(ImproperlyConfigured, match="OUTCOME_BATCH_SECONDS.*must be zero or positive"):
        _ = conf.OUTCOME_BATCH_SECONDS


# --- taskboard.env: settings read from the environment --------------------------------------

def test_unset_and_empty_variables_take_the_default(monkeypatch):
    monkeypatch.delenv("TB_TEST_N", raising=False)
    assert env.env_int("TB_TEST_N", 7) == 7
    monkeypatch.setenv("TB_TEST_N", "")
    assert env.env_int("TB_TEST_N", 7) == 7


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("yes", True), (" Off ", False), ("FALSE", False)])
def test_booleans_accept_the_usual_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("TB_TEST_FLAG", raw)
    assert env.env_bool("TB_TEST_FLAG", not expected) is expected


@pytest.mark.parametrize(("reader", "raw", "message"), [
    (lambda: env.env_bool("TB_TEST_V", False), "maybe", "TB_TEST_V='maybe' is not a boolean"),
    (lambda: env.env_int("TB_TEST_V", 1, minimum=1), "two", "TB_TEST_V='two' is not a whole number"),
    (lambda: env.env_int("TB_TEST_V", 1, minimum=1), "0", "TB_TEST_V='0' must be at least 1"),
    (lambda: env.env_float("TB_TEST_V", 1.0), "nan", "TB_TEST_V='nan' is not a finite number"),
    (lambda: env.env_choice("TB_TEST_V", "INFO", {"INFO", "DEBUG"}, upper=True), "loud", "use one of DEBUG, INFO"),
    (lambda: env.env_url("TB_TEST_V", ("redis",)), "amqp://h", "only redis:// URLs"),
    (lambda: env.env_time_zone("TB_TEST_V", "UTC"), "Mars/Base", "not a known time zone"),
])
def test_a_bad_value_names_the_variable_and_what_is_expected(monkeypatch, reader, raw, message):
    monkeypatch.setenv("TB_TEST_V", raw)
    with pytest.raises(ImproperlyConfigured, match=re.escape(message)):
        reader()


def test_lists_drop_blank_items(monkeypatch):
    monkeypatch.setenv("TB_TEST_LIST", " a, ,b ,")
    assert env.env_list("TB_TEST_LIST", "x") == ["a", "b"]


@pytest.mark.parametrize(("raw", "expected"), [
    ("X-Forwarded-Proto=https", ("HTTP_X_FORWARDED_PROTO", "https")),
    ("HTTP_X_FORWARDED_PROTO,https", ("HTTP_X_FORWARDED_PROTO", "https")),
    (" x-forwarded-ssl = on ", ("HTTP_X_FORWARDED_SSL", "on")),
])
def test_proxy_ssl_header_is_a_header_and_a_value(monkeypatch, raw, expected):
    monkeypatch.setenv("TB_TEST_PROXY", raw)
    assert env.env_proxy_header("TB_TEST_PROXY") == expected


@pytest.mark.parametrize("raw", ["https", "=https", "X-Forwarded-Proto=", "X Forwarded=https"])
def test_a_malformed_proxy_ssl_header_is_refused(monkeypatch, raw):
    monkeypatch.setenv("TB_TEST_PROXY", raw)
    with pytest.raises(env.EnvError, match="TB_TEST_PROXY=.*HEADER=VALUE"):
        env.env_proxy_header("TB_TEST_PROXY")


def test_proxy_ssl_header_unset_is_none(monkeypatch):
    monkeypatch.delenv("TB_TEST_PROXY", raising=False)
    assert env.env_proxy_header("TB_TEST_PROXY") is None


def test_lockout_parameters_combine_with_plus_and_alternate_with_comma(monkeypatch):
    monkeypatch.setenv("TB_TEST_LOCK", "username+ip_address, user_agent")
    assert env.env_lockout_parameters("TB_TEST_LOCK", "ip_address") == [["username", "ip_address"], "user_agent"]
    monkeypatch.setenv("TB_TEST_LOCK", "email")
    with pytest.raises(env.EnvError, match="TB_TEST_LOCK='email'"):
        env.env_lockout_parameters("TB_TEST_LOCK", "ip_address")


def test_overrides_read_each_key_as_its_defaults_type(monkeypatch):
    defaults = {"FLAG": False, "SECONDS": 1.5, "COUNT": 10, "UNSET": 3}
    monkeypatch.setenv("TBX_FLAG", "yes")
    monkeypatch.setenv("TBX_SECONDS", "2")
    monkeypatch.setenv("TBX_COUNT", "7")
    monkeypatch.delenv("TBX_UNSET", raising=False)
    assert env.env_overrides("TBX_", defaults) == {"FLAG": True, "SECONDS": 2.0, "COUNT": 7}
    monkeypatch.setenv("TBX_COUNT", "0")
    with pytest.raises(env.EnvError, match="TBX_COUNT='0' must be at least 1"):
        env.env_overrides("TBX_", defaults)
