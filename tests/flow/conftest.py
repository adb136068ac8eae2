"""Real ``taskboard_worker`` processes for the flow tests (the execution tests' fixture)."""

from tests.execution.conftest import start_worker

__all__ = ["start_worker"]
