"""An optional part of the install that a setting needs and that is missing: one line
naming the extra to install, at start-up."""

from __future__ import annotations

import sys

import pytest

from dashboard.app import config, extras


@pytest.fixture
def without(monkeypatch):
    """Make a module unimportable, as when its extra is not installed."""
    def remove(*modules: str) -> None:
        for module in modules:
            for name in [n for n in sys.modules if n == module or n.startswith(f"{module}.")]:
                monkeypatch.delitem(sys.modules, name)
            monkeypatch.setitem(sys.modules, module, None)  # import raises ModuleNotFoundError
    return remove


@pytest.mark.parametrize(("env", "module", "extra"), [
    ({"DATABASE_URL": "postgresql+psycopg://u@127.0.0.1/q"}, "psycopg", "postgresql"),
    ({"DATABASE_URL": "mysql+pymysql://u@127.0.0.1/q"}, "pymysql", "mariadb"),
    ({"METRICS_TOKEN": "t"}, "prometheus_client", "metrics"),
    ({"QUEUE_ALERT_TO": "ops@example.com", "MAIL_DEFAULT_SENDER": "q@example.com",
      "DASHBOARD_URL": "https://q.example.com"}, "flask_mail", "mail"),
])
def test_a_setting_whose_extra_is_missing_names_it(without, tmp_path, env, module, extra):
    without(module)
    with pytest.raises(config.ConfigError) as refused:
        config.settings(str(tmp_path), env)
    assert f"pip install 'asyncqueue-dashboard[{extra}]'" in refused.value.message
    assert next(iter(env)) in refused.value.message


def test_without_those_settings_nothing_optional_is_needed(without, tmp_path):
    without("psycopg", "pymysql", "prometheus_client", "flask_mail", "gunicorn")
    found = config.settings(str(tmp_path), {})
    assert found["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")



def test_an_installed_extra_is_the_module_itself():
    import flask_mail

    assert extras.need("flask_mail", "alert emails") is flask_mail
