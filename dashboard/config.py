"""Settings from the environment, with defaults; a bad value stops start-up with a clear message."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import sqlalchemy as sa


class ConfigError(ValueError):
    pass


def _number(env: dict[str, str], name: str, default: float, *, kind: type = int,
            minimum: float = 0) -> Any:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {raw!r}")
    return value


def database_url(url: str) -> str:
    """Ask MariaDB and MySQL for full UTF-8 unless the URL says otherwise."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() in ("mysql", "mariadb") and "charset" not in parsed.query:
        parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    return parsed.render_as_string(hide_password=False)


def from_environment(instance_path: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    env = dict(os.environ if env is None else env)
    default_db = "sqlite:///" + str(Path(instance_path) / "asyncqueue.db")
    return {
        "SQLALCHEMY_DATABASE_URI": database_url(env.get("DATABASE_URL") or default_db),
        "SECRET_KEY": env.get("SECRET_KEY") or _instance_secret(instance_path),
        "QUEUE_TYPES": [m.strip() for m in env.get("QUEUE_TYPES", "").split(",") if m.strip()],
        "QUEUE_MAX_ATTEMPTS": _number(env, "QUEUE_MAX_ATTEMPTS", 9, minimum=1),
        "QUEUE_RETRY_DELAY": _number(env, "QUEUE_RETRY_DELAY", 7200.0, kind=float),
        "QUEUE_MAX_JOBS_PER_RUN": _number(env, "QUEUE_MAX_JOBS_PER_RUN", 500, minimum=1),
        "QUEUE_LEASE_SECONDS": _number(env, "QUEUE_LEASE_SECONDS", 300.0, kind=float,
                                       minimum=1),
        **operations(env),
    }


LOG_FORMATS = ("plain", "json")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _choice(env: dict[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    raw = (env.get(name) or default).strip()
    for choice in choices:
        if raw.lower() == choice.lower():
            return choice
    raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")


def operations(env: dict[str, str]) -> dict[str, Any]:
    """Logs and metrics: how the app reports on itself when deployed."""
    return {
        "LOG_FORMAT": _choice(env, "LOG_FORMAT", LOG_FORMATS, "plain"),
        "LOG_LEVEL": _choice(env, "LOG_LEVEL", LOG_LEVELS, "INFO"),
        # No token, no /metrics: the endpoint is off unless asked for.
        "METRICS_TOKEN": env.get("METRICS_TOKEN", "").strip() or None,
        "METRICS_WINDOW": _number(env, "METRICS_WINDOW", 300.0, kind=float, minimum=1),
    }


def _instance_secret(instance_path: str) -> str:
    """A secret kept in the instance folder, made on first start: sessions survive restarts
    and are shared by the workers of one host without any setting."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
