"""The house's dependency rules (see each package's docstring), checked on the source.

An import against the direction fails here, naming the module and the import, so the design
cannot erode one convenient import at a time.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "taskboard"

# package -> the taskboard packages (first component below ``taskboard``) it may import.
ALLOWED: dict[str, set[str]] = {
    "models": {"models", "conf"},
    "flow": {"flow", "models", "conf", "exceptions", "transport"},
    "backend": {"backend", "flow", "models", "exceptions", "transport", "conf"},
    "transport": {"transport", "models", "conf"},
    "execution": {"execution", "backend", "flow", "models", "exceptions", "transport", "conf"},
    "service": {"service", "execution", "flow", "models", "transport", "conf", "exceptions", "schedules", "notify"},
    "operations": {"operations", "backend", "flow", "models", "exceptions", "conf", "schedules"},
    "readmodels": {"readmodels", "flow", "models", "transport", "conf", "schedules"},
    # alert rules read the read models' figures (oldest wait, failure rate); deliveries are runs
    "notify": {"notify", "backend", "models", "readmodels", "conf", "env", "exceptions"},
    "schedules": {"schedules", "backend", "flow", "models", "transport", "conf", "exceptions"},
}


def imports_of(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "taskboard":
                names += [f"taskboard.{alias.name}" for alias in node.names]
            else:
                names.append(node.module)
    return names


def sources() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py") if "migrations" not in p.parts)


def package_of(path: Path) -> str:
    relative = path.relative_to(ROOT).parts
    return relative[0] if len(relative) > 1 else relative[0].removesuffix(".py")


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_only_transport_imports_django_q(path: Path) -> None:
    if package_of(path) == "transport":
        return
    assert not [name for name in imports_of(path) if name.split(".")[0] == "django_q"]


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_nothing_imports_web(path: Path) -> None:
    if package_of(path) in ("web", "urls"):
        return
    assert not [name for name in imports_of(path) if name.startswith("taskboard.web")]


@pytest.mark.parametrize("path", [p for p in sources() if package_of(p) in ALLOWED],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_follow_the_direction(path: Path) -> None:
    allowed = ALLOWED[package_of(path)]
    wrong = [name for name in imports_of(path)
             if name.startswith("taskboard.") and name.split(".")[1] not in allowed]
    assert not wrong, f"{package_of(path)} may import only {sorted(allowed)}"
