from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class TaskboardConfig(AppConfig):
    name = "taskboard"
    verbose_name = "taskboard"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Import every installed app's tasks module so the enqueue-by-name allowlist
        # (taskboard.backend.registry) knows all of them in every process.
        import taskboard.demo  # noqa: F401
        import taskboard.notify.delivery  # noqa: F401 - taskboard.notify.deliver, the alert delivery task
        import taskboard.schedules.checks  # noqa: F401 - the TASKBOARD_SCHEDULES check (taskboard.E101)
        import taskboard.schedules.retention  # noqa: F401 - the built-in retention task
        from taskboard.backend import callbacks
        from taskboard.transport import cluster

        cluster.connect_signals()
        # Run lifecycle events for webhook subscriptions (taskboard.notify.lifecycle).
        from taskboard.conf import conf
        from taskboard.notify import lifecycle

        if conf.WEBHOOKS:
            lifecycle.connect()
        # A run's end enqueues its hooks and batch callbacks through the backend
        # (models.outcomes); this also registers the hooks' system check (taskboard.E001).
        callbacks.install()

        autodiscover_modules("tasks")
