"""Project settings, every one read from the environment with a safe embedded default.

Values from the environment are read and validated by ``taskboard.env``: a bad value stops
start-up with an error naming the variable.

Embedded default: SQLite in WAL mode + django-q2's ORM broker on the same database, so a
fresh clone runs with nothing else installed. Scale-out: ``DATABASE_URL`` (PostgreSQL) and
``TASKBOARD_BROKER_URL`` (Redis) switch the storage and the broker; see README.
"""

from __future__ import annotations

import json
import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from django.utils.csp import CSP

from taskboard.conf import DEFAULTS as TASKBOARD_DEFAULTS
from taskboard.env import (
    EnvError,
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_json_object,
    env_list,
    env_lockout_parameters,
    env_overrides,
    env_proxy_header,
    env_str,
    env_time_zone,
    env_url,
)
from taskboard.flow.config import DEFAULT_BREAKERS, parse_breakers, parse_queue_limits
from taskboard.logging import build_logging_config
from taskboard.notify.config import check_email, settings_from_env

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("TASKBOARD_VAR_DIR", str(BASE_DIR / "var")))


def _secret_key() -> str:
    # A generated key persisted under var/ keeps sessions and django-q2's signed payloads
    # valid across restarts without shipping a known key.
    if key := env_str("SECRET_KEY", ""):
        return key
    path = VAR_DIR / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(50)
        path.write_text(key)
        path.chmod(0o600)
        return key


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_q",
    "axes",
    "taskboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    # Outside everything that reads a body (CSRF) or writes a private response.
    "taskboard.web.middleware.ChunkedBodyMiddleware",
    "taskboard.web.middleware.NoStoreMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Operator verbs in this request are audited as via api / admin / ui (by path).
    "taskboard.web.middleware.AuditViaMiddleware",
    # An /api/ request with a bearer token goes from here straight to its view: what follows
    # serves browsers (sessions, CSRF, messages, framing, htmx, logins).
    "taskboard.web.middleware.BearerApiMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it answers a locked-out login attempt.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "taskboard.urls"
WSGI_APPLICATION = "taskboard.wsgi.application"
ASGI_APPLICATION = "taskboard.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------------

SQLITE_OPTIONS = {
    # IMMEDIATE takes the write lock at BEGIN, so concurrent writers wait on the busy timeout
    # instead of failing with "database is locked" on lock upgrade (see notes/django-q2.md).
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=10000;",
}


def _database_from_url(url: str) -> dict[str, Any]:
    # Persistent connections: a new PostgreSQL connection per task costs ~7 ms here.
    # Health checks cost a query per request, and per task in a worker: workers skip them
    # and replace a dropped connection when the claim fails on it (runner._claim).
    try:
        config = dj_database_url.parse(url, conn_max_age=600,
                                       conn_health_checks=os.environ.get("TASKBOARD_PROCESS") != "worker")
    except (ValueError, dj_database_url.UnknownSchemeError, dj_database_url.ParseError) as exc:
        # The URL may hold a password: name only its scheme.
        raise EnvError(f"DATABASE_URL (scheme {url.split(':', 1)[0]!r}) is not a database URL: {exc}") from None
    return dict(config)


if database_url := env_str("DATABASE_URL", ""):
    DATABASES = {"default": _database_from_url(database_url)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        DATABASES["default"]["OPTIONS"] = dict(SQLITE_OPTIONS)
    elif os.environ.get("TASKBOARD_PROCESS") == "worker" and not env_bool("TASKBOARD_WORKER_SYNC_COMMIT", False):
        # Worker processes (set by taskboard_worker) commit claims and outcomes without
        # waiting for the WAL flush. A PostgreSQL crash can then lose the last few hundred
        # milliseconds of those writes; the runs concerned are recovered like any crashed
        # attempt (lease expiry, re-push), which taskboard's at-least-once contract already
        # covers. TASKBOARD_WORKER_SYNC_COMMIT=1 restores synchronous commits.
        DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c synchronous_commit=off"
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("TASKBOARD_SQLITE_PATH", str(VAR_DIR / "taskboard.sqlite3")),
            "OPTIONS": dict(SQLITE_OPTIONS),
            # django-q2 workers call close_old_connections() before every task; reopening the
            # file and re-running the PRAGMAs each time would cost more than the task.
            "CONN_MAX_AGE": 600,
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- broker, cache and django-q2 ------------------------------------------------------------

BROKER_URL = env_url("TASKBOARD_BROKER_URL", ("redis", "rediss", "unix"),
                     hint="leave it unset for the ORM broker on the database")

if BROKER_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": BROKER_URL}
    }
else:
    # django-q2 publishes cluster status through the cache: it must be shared between
    # processes (LocMemCache would hide workers from the dashboard).
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "taskboard_cache",
        }
    }

TASKBOARD_QUEUES = env_list("TASKBOARD_QUEUES", "default")

# taskboard owns retries, timeouts and recovery; django-q2 is only the transport. So django-q2
# must never retry (max_attempts=1, ack_failures), never store results (save_limit=-1) and
# never redeliver a message on its own while a run is alive (retry far above any run time:
# taskboard re-pushes lost messages itself, and a duplicate delivery is dropped at the claim).
_WORKERS = env_int("TASKBOARD_WORKERS", 2, minimum=1)
Q_CLUSTER = {
    "name": "taskboard",
    "workers": _WORKERS,
    "timeout": env_int("TASKBOARD_HARD_TIMEOUT", 7 * 86400, minimum=1),
    "retry": env_int("TASKBOARD_HARD_TIMEOUT", 7 * 86400, minimum=1) + 3600,
    "max_attempts": 1,
    "ack_failures": True,
    "save_limit": -1,
    # Prefetch: the pusher takes up to `bulk` messages per dequeue (one statement with the
    # ORM broker) and keeps about `queue_limit` waiting per cluster. Runs stuck there behind
    # long tasks are re-pushed for idle hosts (service.clock.redispatch_unclaimed).
    "queue_limit": _WORKERS * 4,
    "bulk": 10,
    "poll": 0.1,
    "guard_cycle": 0.5,
    # A worker process is replaced after this many messages (bounds leaks in task code).
    "recycle": env_int("TASKBOARD_WORKER_RECYCLE", 5000, minimum=1),
    "catch_up": False,
    "scheduler": False,
    "cache": "default",
    "cpu_affinity": 0,
    "ALT_CLUSTERS": {},
    "sync": False,
}
if BROKER_URL:
    Q_CLUSTER["redis"] = BROKER_URL
    # Up to `bulk` messages per BLMPOP instead of one per BLPOP (see transport.broker.RedisBroker).
    Q_CLUSTER["broker_class"] = "taskboard.transport.broker.RedisBroker"
else:
    Q_CLUSTER["orm"] = "default"
    # Messages are taken (deleted) ten at a time at dequeue (see transport.broker.OrmBroker).
    Q_CLUSTER["broker_class"] = "taskboard.transport.broker.OrmBroker"

# Flow control: circuit breakers (JSON, see taskboard.flow.config; the demo's "demo-payments"
# unless set) and per-queue limits on running runs across all hosts ("default=10,reports=2").
_BREAKERS_JSON = env_str("TASKBOARD_BREAKERS", "")
parse_breakers(_BREAKERS_JSON or DEFAULT_BREAKERS)  # validated at start-up, naming the variable
TASKBOARD_BREAKERS = json.loads(_BREAKERS_JSON) if _BREAKERS_JSON else DEFAULT_BREAKERS
TASKBOARD_QUEUE_LIMITS = parse_queue_limits(env_str("TASKBOARD_QUEUE_LIMITS", ""))
# Schedules declared in settings (JSON here; see taskboard.schedules.settings_sync), synced on
# every taskboard_worker start and checked by the taskboard.E101 system check.
TASKBOARD_SCHEDULES = env_json_object("TASKBOARD_SCHEDULES")

TASKS = {
    "default": {
        "BACKEND": "taskboard.backends.TaskboardBackend",
        "QUEUES": TASKBOARD_QUEUES,
        "OPTIONS": {},
    }
}

# --- alerts and e-mail ----------------------------------------------------------------------

# Alert rules and timing (JSON, see taskboard.notify.config) and the channels notifications go
# to; validated together (a webhook URL needs its secret, Apprise URLs must parse).
_NOTIFY = settings_from_env()
TASKBOARD_ALERTS = _NOTIFY.alerts
TASKBOARD_ALERT_WEBHOOK_URL = _NOTIFY.webhook_url
TASKBOARD_WEBHOOK_SECRET = _NOTIFY.webhook_secret
TASKBOARD_ALERT_EMAILS = _NOTIFY.emails
TASKBOARD_ALERT_URLS = _NOTIFY.apprise_urls
TASKBOARD_BASE_URL = _NOTIFY.base_url  # absolute links in notifications

# Django's mail framework (alert e-mail), as Django 6.1's MAILERS; ADMINS receive alerts when
# TASKBOARD_ALERT_EMAILS is unset.
ADMINS = [check_email(address, "ADMINS") for address in env_list("ADMINS", "")]
if env_bool("EMAIL_USE_TLS", False) and env_bool("EMAIL_USE_SSL", False):
    raise EnvError("EMAIL_USE_TLS and EMAIL_USE_SSL are exclusive: set one of them")
MAILERS = {
    "default": {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {
            "host": env_str("EMAIL_HOST", "localhost"),
            "port": env_int("EMAIL_PORT", 25, minimum=1),
            "username": env_str("EMAIL_HOST_USER", ""),
            "password": env_str("EMAIL_HOST_PASSWORD", ""),
            "use_tls": env_bool("EMAIL_USE_TLS", False),
            "use_ssl": env_bool("EMAIL_USE_SSL", False),
            "timeout": env_int("EMAIL_TIMEOUT", 10, minimum=1),
        },
    }
}
DEFAULT_FROM_EMAIL = SERVER_EMAIL = check_email(env_str("DEFAULT_FROM_EMAIL", "taskboard@localhost"),
                                                "DEFAULT_FROM_EMAIL")

# --- auth, i18n, static ---------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/dashboard/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_time_zone("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
# WhiteNoise serves from the finders (no collectstatic step) but expects STATIC_ROOT to exist.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# WhiteNoise serves static files from the app server itself (no CDN, no nginx needed).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024

# --- security: HTTPS, cookies, CSP, login throttling ----------------------------------------

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

# Off by default (a fresh clone serves plain HTTP on 127.0.0.1); set behind TLS. Redirecting
# to HTTPS makes the cookies HTTPS-only too unless they are set explicitly.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", SECURE_SSL_REDIRECT)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", SECURE_SSL_REDIRECT)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Only behind a proxy that sets this header itself (and strips it from clients' requests).
SECURE_PROXY_SSL_HEADER = env_proxy_header("SECURE_PROXY_SSL_HEADER")

# Django's own CSP. Scripts only from this origin: no inline scripts, no eval (htmx runs with
# allowEval off; the API docs load django-ninja's bundled Swagger UI files). Styles likewise:
# no <style> element and no style attribute (a progress bar's width comes from data-width,
# set by static/taskboard/widths.js through the CSSOM).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# django-axes: after AXES_FAILURE_LIMIT wrong passwords for a user from one address (by
# default), that pair is locked out for AXES_COOLOFF_MINUTES (0: until `manage.py axes_reset`),
# on /accounts/login/ and the admin login alike; a success resets the count.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_ENABLED = env_bool("AXES_ENABLED", True)
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
_cooloff_minutes = env_float("AXES_COOLOFF_MINUTES", 15.0, minimum=0.0)
AXES_COOLOFF_TIME = timedelta(minutes=_cooloff_minutes) if _cooloff_minutes else None
AXES_LOCKOUT_PARAMETERS = env_lockout_parameters("AXES_LOCKOUT_PARAMETERS", "username+ip_address")
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/lockout.html"
# Log lockouts and failures with only the lockout parameters, and no start-up banner.
AXES_VERBOSE = False


# TASKBOARD_<KEY> environment variables override taskboard.conf.DEFAULTS; ranges are
# checked where a value is read (taskboard.conf), also for values set in code.
TASKBOARD = env_overrides("TASKBOARD_", TASKBOARD_DEFAULTS)

LOGGING = build_logging_config(
    json_output=env_choice("LOG_FORMAT", "console", {"console", "json"}) == "json",
    level=env_choice("LOG_LEVEL", "INFO", {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}, upper=True),
)
