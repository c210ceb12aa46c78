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
        "QUEUE_MASKED_KEYS": _words(env.get("QUEUE_MASKED_KEYS"), DEFAULT_MASKED_KEYS),
        "DASHBOARD_BULK_LIMIT": _number(env, "DASHBOARD_BULK_LIMIT", 10_000, minimum=1),
        "DASHBOARD_POLL_SECONDS": _number(env, "DASHBOARD_POLL_SECONDS", 5.0, kind=float,
                                          minimum=1),
        "DASHBOARD_PROXIES": _number(env, "DASHBOARD_PROXIES", 0),
        "SESSION_COOKIE_SECURE": env.get("DASHBOARD_HTTPS_ONLY", "") == "1",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # A CSRF token lives as long as the session: a dashboard tab left open for hours
        # must still be able to act.
        "WTF_CSRF_TIME_LIMIT": None,
    }


DEFAULT_MASKED_KEYS = ("password", "token", "secret", "api_key")


def _words(raw: str | None, default: tuple[str, ...]) -> tuple[str, ...]:
    """A comma-separated list of lower-case words; unset or blank gives the default."""
    if raw is None or not raw.strip():
        return default
    return tuple(word.strip().lower() for word in raw.split(",") if word.strip())


def _instance_secret(instance_path: str) -> str:
    """A secret kept in the instance folder, made on first start: sessions survive restarts
    and are shared by the workers of one host without any setting."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
