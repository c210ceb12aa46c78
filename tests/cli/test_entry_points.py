"""``asyncqueue ...`` and ``python -m dashboard ...``: the commands of ``flask --app
dashboard ...`` (tests/deploy/test_wheel.py runs them installed, as processes)."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner
from flask.cli import FlaskGroup, ScriptInfo

import dashboard
from dashboard.__main__ import command_line, main


@pytest.fixture
def settings(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'queue.db'}")
    monkeypatch.setenv("SECRET_KEY", "entry-points-of-the-tests-" + "k" * 32)


def _commands(group: FlaskGroup, info: ScriptInfo) -> list[str]:
    return group.list_commands(click.Context(group, obj=info))


def test_asyncqueue_has_the_commands_of_flask_app_dashboard(settings):
    ours = _commands(command_line(), ScriptInfo(create_app=dashboard.create_app))
    flasks = _commands(FlaskGroup(), ScriptInfo(app_import_path="dashboard"))
    assert ours == flasks
    assert {"db", "digest", "enqueue", "jobs", "tokens", "users"} <= set(ours)


def test_the_version_is_the_packages(settings):
    result = CliRunner().invoke(command_line(), ["--version"])
    assert result.exit_code == 0
    assert result.output == f"asyncqueue, version {dashboard.__version__}\n"


def test_a_command_runs_and_its_exit_code_is_the_process(settings, capsys):
    with pytest.raises(SystemExit) as ended:
        main(["db", "upgrade"])
    assert ended.value.code == 0
    with pytest.raises(SystemExit) as ended:
        main(["digest", "--max-jobs", "1"])
    assert ended.value.code == 0
    assert "digest: 0 jobs run" in capsys.readouterr().out
    with pytest.raises(SystemExit) as ended:
        main(["no-such-command"])
    assert ended.value.code == 2
