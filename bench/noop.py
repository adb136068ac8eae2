"""The plain django-q2 contenders' task: a module-level function that does nothing."""


def noop() -> None:
    return None
