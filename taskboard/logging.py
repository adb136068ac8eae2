"""structlog for every log line: taskboard's own, Django's and django-q2's.

Lines emitted while a run executes carry ``run_id``, ``task`` and ``attempt`` through
structlog's contextvars, also when the line comes from a stdlib logger.
"""

from __future__ import annotations

from typing import Any

import structlog

SHARED_PROCESSORS: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.processors.StackInfoRenderer(),
]


def build_logging_config(*, json_output: bool, level: str) -> dict[str, Any]:
    structlog.configure(
        processors=[
            # Drop lines below the stdlib logger's level before any processor runs: a
            # filtered debug line then costs a few microseconds, not a full render pipeline.
            structlog.stdlib.filter_by_level,
            *SHARED_PROCESSORS,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json_output
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    final = [structlog.processors.format_exc_info] if json_output else []
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structlog": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    *final,
                    renderer,
                ],
                "foreign_pre_chain": SHARED_PROCESSORS,
            }
        },
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": "structlog"},
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django": {"handlers": ["console"], "level": level, "propagate": False},
            # django-q2 installs its own handler unless its logger is configured here.
            "django-q": {"handlers": ["console"], "level": "WARNING", "propagate": False},
            "taskboard": {"handlers": ["console"], "level": level, "propagate": False},
            # django.tasks' own receivers log every start/finish at INFO; taskboard's runner
            # logs the same events with more context, so keep only its errors.
            "django.tasks": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        },
    }
