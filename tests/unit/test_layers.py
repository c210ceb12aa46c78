"""The queue core loads without the web: the CLI, a worker and user code import it alone.
Its parts, and dashboard's packages, import downwards only."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import dashboard.queue

#: What importing the core must not pull in (nor any of their submodules).
WEB_MODULES = ("flask", "flask_sqlalchemy", "dashboard.web", "dashboard.api")


def modules_loaded_by(code: str) -> set[str]:
    # A fresh interpreter: this test process imported Flask long ago.
    script = f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, check=True)
    return set(json.loads(done.stdout))


def web_modules(loaded: set[str]) -> set[str]:
    return {name for name in loaded
            if name in WEB_MODULES or name.startswith(tuple(m + "." for m in WEB_MODULES))}


def test_importing_the_queue_core_does_not_load_the_web():
    loaded = modules_loaded_by("import dashboard.queue")
    assert "dashboard.queue.digest.job_digest" in loaded
    assert web_modules(loaded) == set()


def test_importing_the_tables_base_does_not_load_the_web():
    loaded = modules_loaded_by("import dashboard.db")
    assert "dashboard.db" in loaded
    assert web_modules(loaded) == set()


def test_a_job_builds_its_requests_without_the_web():
    loaded = modules_loaded_by(
        "from dashboard.queue import JobBuilder\n"
        "job = JobBuilder().set_relation_id(7).create()\n"
        "job.request_builder().set_type_code('a').set_payload({'x': 1}).create()\n"
        "assert [r.type_code for r in job.requests] == ['a']")
    assert web_modules(loaded) == set()


#: The parts of the queue core, each a subpackage of dashboard/queue, from the ground up
#: (docs/architecture.md): a part imports only parts before it in this list.
QUEUE_PARTS = ("jobs", "database", "store", "operations", "digest")
#: Modules of dashboard/queue itself: the public API's face and the demo types, which
#: users name in QUEUE_TYPES (``dashboard.queue.demo``).
QUEUE_TOP = {"__init__", "demo"}


def queue_modules() -> dict[str, Path]:
    """Every module of the core by its name under dashboard.queue (``store.claims``)."""
    folder = Path(dashboard.queue.__file__).parent
    return {".".join(path.relative_to(folder).with_suffix("").parts): path
            for path in folder.rglob("*.py")}


def queue_imports(name: str, path: Path, modules: set[str]) -> set[str]:
    """The queue modules ``name`` imports (names under dashboard.queue, as in
    ``queue_modules``), inside functions and type-only imports too: a cycle that holds only
    for the type checker still ties the two modules together."""
    package = name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.ImportFrom):
            continue
        module = node.module or ""
        if node.level:
            stem = package[:len(package) - node.level + 1] + (module.split(".") if module else [])
        elif module == "dashboard.queue" or module.startswith("dashboard.queue."):
            stem = module.split(".")[2:]
        else:
            continue
        for alias in node.names:
            # ``from .store import claims`` names a module; ``from . import JobBuilder``, a
            # name of the package's face.
            for target in (".".join([*stem, alias.name]), ".".join(stem),
                           ".".join([*stem, "__init__"])):
                if target in modules:
                    found.add(target)
                    break
    found.discard(name)
    return found


def queue_graph() -> dict[str, set[str]]:
    modules = queue_modules()
    return {name: queue_imports(name, path, set(modules)) for name, path in modules.items()
            if name != "__init__"}


def test_the_queue_modules_import_one_another_without_a_cycle():
    graph = queue_graph()
    assert "jobs.models" in graph["jobs.builder"]
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as error:
        raise AssertionError(f"import cycle: {' -> '.join(error.args[1])}") from None


def part_of(module: str) -> str | None:
    return module.split(".")[0] if "." in module else None


def test_every_queue_module_is_in_a_part():
    loose = {name for name in queue_modules() if part_of(name) is None} - QUEUE_TOP
    assert loose == set()
    assert {part_of(name) for name in queue_modules()} - {None} == set(QUEUE_PARTS)


def test_the_queue_parts_import_downwards_only():
    """A part imports only the parts under it: no two parts import each other, even
    through a third, and none imports the package's face or the demo."""
    graph = queue_graph()
    parts: dict[str, set[str]] = {part: set() for part in QUEUE_PARTS}
    for module, imported in graph.items():
        part = part_of(module)
        if part is None:
            continue
        for target in imported:
            assert part_of(target) is not None, f"{module} imports {target}"
            if part_of(target) != part:
                parts[part].add(str(part_of(target)))
    try:
        tuple(TopologicalSorter(parts).static_order())
    except CycleError as error:
        raise AssertionError(f"parts in a cycle: {' -> '.join(error.args[1])}") from None
    for n, part in enumerate(QUEUE_PARTS):
        assert parts[part] <= set(QUEUE_PARTS[:n]), f"{part} imports {parts[part]}"
    # The ground floor imports no other part.
    assert parts["jobs"] == set()


def package_imports() -> dict[str, set[str]]:
    """Which of dashboard's packages (and top-level modules) each one imports, type-only
    imports included: a module map that holds only at run time would mislead a reader."""
    root = Path(dashboard.__file__).parent
    found: dict[str, set[str]] = {}
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        in_package = parts[-1] == "__init__"
        if in_package:
            parts = parts[:-1]
        source = parts[1] if len(parts) > 1 else "dashboard"
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom):
                continue
            if node.level:
                base = parts if in_package else parts[:-1]
                base = base[:len(base) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            targets = [module] if node.module else [f"{module}.{a.name}" for a in node.names]
            for target in targets:
                names = target.split(".")
                if names[0] == "dashboard" and len(names) > 1 and names[1] != source:
                    found.setdefault(source, set()).add(names[1])
    return found


def test_the_packages_import_downwards_only():
    """docs/architecture.md's map: the core over db.py; pages and the API side by side."""
    imports = package_imports()
    assert imports.get("queue", set()) <= {"db"}
    assert imports.get("db", set()) == set()
    assert "api" not in imports.get("web", set()) and "web" not in imports.get("api", set())
    delivery = {"web", "api", "cli"}
    # The package itself wires the deliveries (create_app), and so does its entry point,
    # ``python -m dashboard digest``.
    for package, imported in imports.items():
        if package not in delivery | {"dashboard", "__main__"}:
            assert not imported & delivery, f"{package} imports {imported & delivery}"
    assert not imports.get("cli", set()) & {"web"}


#: A module that grows past this is split by what it does (docs/architecture.md).
MAX_MODULE_LINES = 400


def test_no_module_is_over_the_line_limit():
    root = Path(dashboard.__file__).parent
    long = {str(path.relative_to(root)): lines for path in root.rglob("*.py")
            if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES}
    assert long == {}
