"""The configuration reference lists every environment variable the code reads, and only
those: a variable read by the code and missing from ``app/variables.py`` fails here."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from dashboard.app.variables import VARIABLES, by_name

ROOT = Path(__file__).resolve().parents[2]
NAME = re.compile(r"[A-Z][A-Z0-9_]{2,}")
#: Calls whose first or second argument, a constant, names an environment variable.
READERS = {"_number", "_flag", "_choice", "_address", "_whole_number", "getenv"}
#: Receivers of ``.get(NAME)`` that are the process's environment (``env`` is config.py's
#: copy of it; a WSGI ``environ`` is not).
ENVIRONMENTS = {"env", "os.environ"}


def _reads_in_python(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name == "get" and isinstance(func, ast.Attribute):
            if ast.unparse(func.value) not in ENVIRONMENTS:
                continue
        elif name not in READERS:
            continue
        for arg in node.args[:2]:
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str) \
                    and NAME.fullmatch(arg.value):
                found.add(arg.value)
    return found


def _reads_in_shell(path: Path) -> set[str]:
    return set(re.findall(r"\$\{([A-Z][A-Z0-9_]{2,}):-", path.read_text()))


def variables_read() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "dashboard").rglob("*.py"):
        found |= _reads_in_python(path)
    for path in ROOT.rglob("gunicorn.conf.py"):
        if ".venv" not in path.parts:
            found |= _reads_in_python(path)
    for path in (ROOT / "deploy").glob("*.sh"):
        found |= _reads_in_shell(path)
    return found


def test_every_variable_the_code_reads_is_in_the_reference():
    missing = variables_read() - set(by_name())
    assert not missing, f"add these to dashboard/app/variables.py: {sorted(missing)}"


def test_the_reference_lists_no_variable_the_code_does_not_read():
    unread = set(by_name()) - variables_read()
    assert not unread, f"no code reads these: {sorted(unread)}"


def test_each_variable_is_listed_once_with_a_meaning_and_its_readers():
    names = [variable.name for variable in VARIABLES]
    assert len(names) == len(set(names))
    for variable in VARIABLES:
        assert variable.meaning and variable.default and variable.read_by, variable.name


def test_the_scan_finds_reads_of_each_kind():
    # The scan itself: a read by each helper of config.py, gunicorn's and the entry point's.
    found = variables_read()
    assert {"QUEUE_CONCURRENCY", "MAIL_USE_TLS", "LOG_LEVEL", "MAIL_DEFAULT_SENDER",
            "DATABASE_URL", "WEB_CONCURRENCY", "DB_UPGRADE_TRIES",
            "REQUEST_READ_TIMEOUT"} <= found
