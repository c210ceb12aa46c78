"""The README's Python example runs as written, on a database made by ``db upgrade``."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]


def readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    return re.search(r"```python\n(.*?)```", text, re.S).group(1)


def test_the_readme_python_example_runs_as_written(tmp_path):
    url = f"sqlite:///{tmp_path / 'queue.db'}"
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    upgrade = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "dashboard", "db", "upgrade"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert upgrade.returncode == 0, upgrade.stderr[-2000:]
    (tmp_path / "example.py").write_text(readme_example())

    run = subprocess.run([sys.executable, "example.py"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)

    assert run.returncode == 0, run.stderr[-2000:]
    with sa.create_engine(url).connect() as connection:
        state, result = connection.execute(sa.text(
            "SELECT jobs.state, requests.result FROM jobs JOIN requests "
            "ON requests.job_id = jobs.id")).one()
    assert (state, result) == ("completed", '"hello Ada"')
