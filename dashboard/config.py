"""Settings from the environment, with defaults; a bad value stops start-up with a clear message."""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from .masking import DEFAULT_WORDS


class ConfigError(ValueError):
    """A setting from the environment is missing or wrong; the message names it."""


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


#: Syntax only (no DNS): something@domain.tld, so ``.test`` and ``.example`` domains pass.
ADDRESS = re.compile(r"[^@\s<>(),;:\"\[\]]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _flag(env: dict[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in TRUE:
        return True
    if raw in FALSE or raw == "":
        return False
    raise ConfigError(f"{name} must be true or false, got {env[name]!r}")


def addresses(raw: str | list[str], name: str = "QUEUE_ALERT_TO") -> list[str]:
    """A comma-separated list of email addresses, trimmed; ConfigError names a bad one."""
    items = raw.split(",") if isinstance(raw, str) else raw
    found = [item.strip() for item in items if item.strip()]
    for address in found:
        if not ADDRESS.fullmatch(address):
            raise ConfigError(f"{name}: {address!r} is not an email address")
    return found


def _address(env: dict[str, str], name: str) -> str | None:
    raw = (env.get(name) or "").strip()
    if not raw:
        return None
    # "Queue <queue@example.test>" is allowed for the sender.
    bare = raw[raw.index("<") + 1:-1] if raw.endswith(">") and "<" in raw else raw
    addresses(bare, name)
    return raw


def mail_settings(env: dict[str, str]) -> dict[str, Any]:
    """The failure alerts' settings: recipients, sender, SMTP server, timeout, throttle."""
    settings = {
        "QUEUE_ALERT_TO": addresses(env.get("QUEUE_ALERT_TO", "")),
        "QUEUE_ALERT_INTERVAL": _number(env, "QUEUE_ALERT_INTERVAL", 900.0, kind=float),
        "DASHBOARD_URL": (env.get("DASHBOARD_URL") or "").strip().rstrip("/") or None,
        "MAIL_DEFAULT_SENDER": _address(env, "MAIL_DEFAULT_SENDER"),
        "MAIL_SERVER": (env.get("MAIL_SERVER") or "").strip() or "localhost",
        "MAIL_PORT": _number(env, "MAIL_PORT", 25, minimum=1),
        "MAIL_USE_TLS": _flag(env, "MAIL_USE_TLS"),
        "MAIL_USE_SSL": _flag(env, "MAIL_USE_SSL"),
        "MAIL_USERNAME": env.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": env.get("MAIL_PASSWORD") or None,
        "MAIL_TIMEOUT": _number(env, "MAIL_TIMEOUT", 10.0, kind=float, minimum=0.1),
    }
    check_mail_settings(settings)
    return settings


def check_mail_settings(settings: dict[str, Any]) -> None:
    """Settings that contradict each other, or alerts that could not be sent as configured."""
    if settings["MAIL_USE_TLS"] and settings["MAIL_USE_SSL"]:
        raise ConfigError("MAIL_USE_TLS and MAIL_USE_SSL can't both be on: STARTTLS (often "
                          "port 587) or SMTPS (often port 465), not both")
    url = settings["DASHBOARD_URL"]
    if url is not None and not re.match(r"https?://[^/\s]+", url):
        raise ConfigError(f"DASHBOARD_URL must start with http:// or https://, got {url!r}")
    if settings["QUEUE_ALERT_TO"]:
        if not settings["MAIL_DEFAULT_SENDER"]:
            raise ConfigError("QUEUE_ALERT_TO is set but MAIL_DEFAULT_SENDER is not: alert "
                              "emails need a sender address")
        if url is None:
            raise ConfigError("QUEUE_ALERT_TO is set but DASHBOARD_URL is not: alert emails "
                              "link to the dashboard, e.g. DASHBOARD_URL=https://queue.example.com")


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
        "QUEUE_CONCURRENCY": _number(env, "QUEUE_CONCURRENCY", 8, minimum=1),
        **mail_settings(env),
        **operations(env),
        "QUEUE_MASKED_KEYS": _words(env.get("QUEUE_MASKED_KEYS"), DEFAULT_WORDS),
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
        # The HTTP API answers 413 to a larger body (bytes).
        "API_MAX_BODY": _number(env, "API_MAX_BODY", 1024 * 1024, minimum=1024),
    }




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
