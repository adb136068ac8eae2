"""The New run page: pick a task from the registry, fill the form its signature generates
(``task_forms``), and enqueue it through ``operations.enqueue`` as the user.

``GET ?task=NAME`` shows the form (bookmarkable per task); ``POST`` enqueues and redirects to
the new run, or answers 400 with every refusal next to its field (the task's own validation
included: nothing is written). Needs the enqueue permission, for looking too: the page is
only a way to act.
"""

from __future__ import annotations

import inspect
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect
from django.tasks.exceptions import InvalidTask
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from taskboard import operations
from taskboard.backend import registry
from taskboard.exceptions import NotAllowed
from taskboard.readmodels import queues
from taskboard.web.dashboard.common import render_page, staff_view
from taskboard.web.dashboard.task_forms import EnqueueOptionsForm, TaskArgumentsForm
from taskboard.web.requests import HtmxHttpRequest

# Per-run priority needs ``operations.enqueue(priority=…)``; until the verb takes it, the
# form offers no priority rather than one it would ignore.
WITH_PRIORITY = "priority" in inspect.signature(operations.enqueue).parameters


def signature_text(task: Any) -> str:
    """``(a: int, b: str = 'x')`` without the context parameter, annotations as written."""
    try:
        signature = inspect.signature(task.func, eval_str=True)
    except Exception:  # noqa: BLE001 - annotations that do not resolve: show them as text
        signature = inspect.signature(task.func)
    parameters = list(signature.parameters.values())
    shown = parameters[1:] if task.takes_context else parameters
    return f"({', '.join(str(p) for p in shown)})"


@require_http_methods(["GET", "POST"])
@staff_view
def new_run(request: HtmxHttpRequest) -> HttpResponse:
    try:
        operations.require(request.user, operations.PERM_ENQUEUE)
    except NotAllowed as exc:
        raise PermissionDenied(str(exc)) from None
    name = request.GET.get("task", "")
    task = registry.get(name) if name else None
    context: dict[str, Any] = {"nav": "new-run", "task_names": registry.names(), "task_name": name, "task": task}
    if task is None:
        context["unknown"] = bool(name)
        return render_page(request, "taskboard/new_run.html", context, status=400 if name else 200)
    data = request.POST if request.method == "POST" else None
    arguments = TaskArgumentsForm(task, data)
    options = EnqueueOptionsForm(data, queues=queues.configured_queues(), with_priority=WITH_PRIORITY,
                                 initial={"queue": task.queue_name, "priority": task.priority})
    context.update(arguments=arguments, options=options, signature=signature_text(task))
    if data is None:
        return render_page(request, "taskboard/new_run.html", context)
    valid = arguments.is_valid() and options.is_valid()
    if valid and (call := arguments.arguments()) is not None:
        args, kwargs = call
        chosen = options.cleaned_data
        extra = {"priority": chosen["priority"]} if WITH_PRIORITY else {}
        try:
            run, created = operations.enqueue(
                name, args, kwargs, queue=chosen["queue"], run_after=chosen["run_after"],
                idempotency_key=chosen["idempotency_key"] or None, user=request.user, **extra)
        except InvalidTask as exc:
            options.add_error(None, f"Not enqueued: {exc}")
        else:
            if created:
                messages.success(request, f"Enqueued {task.name} as run {str(run.pk)[:8]}.")
            else:
                messages.info(request, "A run with this idempotency key exists already; nothing new was enqueued.")
            return HttpResponseRedirect(reverse("taskboard:run", args=[run.pk]))
    return render_page(request, "taskboard/new_run.html", context, status=400)
