"""How the layers import one another: the queue core stands on its own."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import dashboard.queue


def queue_imports(path: Path) -> set[str]:
    """The queue modules ``path`` imports, inside functions too, leaving out type-only imports."""
    tree = ast.parse(path.read_text())
    type_only = {id(node) for guard in ast.walk(tree)
                 if isinstance(guard, ast.If) and "TYPE_CHECKING" in ast.unparse(guard.test)
                 for node in ast.walk(guard)}
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1 and id(node) not in type_only:
            found.update([node.module] if node.module else [a.name for a in node.names])
    return found


def test_the_queue_modules_import_one_another_without_a_cycle():
    folder = Path(dashboard.queue.__file__).parent
    graph = {path.stem: queue_imports(path) for path in folder.glob("*.py")
             if path.stem != "__init__"}
    assert "models" in graph["builder"]
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as error:
        raise AssertionError(f"import cycle: {' -> '.join(error.args[1])}") from None
