"""Alerts and notifications: rules that watch the rows, alerts that fire and resolve, and
channels that are told — each delivery a taskboard run.

- ``config``: ``TASKBOARD_ALERTS`` (rule thresholds, Alertmanager timing) and the channel
  settings, validated; standard library and Django only (``settings.py`` imports it);
- ``rules``: the built-in rules (``dead_letter``, ``failure_rate``, ``queue_wait``,
  ``no_workers``, ``breaker_open``, ``stuck``), bounded queries; ``tally`` the failure rate's
  sliding window of finished runs;
- ``evaluate``: one evaluation under the lease (one host at a time), reconciling rules with
  ``Alert`` rows; ``policy`` when to notify (group wait/interval, repeat, silence);
- ``delivery``: the task ``taskboard.notify.deliver`` (exposed here lazily) and the enqueueing
  of one delivery run per channel; ``channels``: webhook (Standard Webhooks), e-mail, Apprise;
- ``overrides``: the admin's rule overrides (``AlertRule``) and the queues' wait SLOs;
- ``lifecycle``: run lifecycle events (``django.tasks``' and ``backend.signals``') for webhook
  subscriptions, buffered per process and sent once a second as one delivery run each;
  ``messages``: their JSON, written once per flush, and the messages carrying it.

Imports ``models``, ``readmodels`` (the one definition of oldest wait, failure rate, the alert
JSON), ``backend`` (the delivery task, the lifecycle signals), ``exceptions``, ``conf`` and
``env``; never ``web``. The clock
(``service``) calls ``evaluate.evaluate_if_due``; operator verbs (silence) live in
``operations``.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    # ``taskboard.notify.deliver`` (CONTRACT.md) without importing the task at package import:
    # defining a task needs configured settings, and settings.py imports ``notify.config``.
    if name == "deliver":
        from taskboard.notify.delivery import deliver

        return deliver
    raise AttributeError(f"module 'taskboard.notify' has no attribute {name!r}")
