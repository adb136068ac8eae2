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
        from taskboard.transport import cluster

        cluster.connect_signals()

        autodiscover_modules("tasks")
