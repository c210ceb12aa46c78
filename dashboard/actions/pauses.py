"""Pausing and resuming a request type or a connector, with its audit entry.

The one code path behind the overview's buttons, the HTTP API and ``flask types ...`` /
``flask connectors ...``: each caller says who acts, commits, and shows the sentence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import audit
from ..queue import registry
from ..queue.store import pauses
from ..queue.store.pauses import PauseRefused

__all__ = ["Changed", "PauseRefused", "pause", "resume"]

KINDS = ("type", "connector")


@dataclass(frozen=True)
class Changed:
    #: Whether anything changed (pausing a paused type changes nothing).
    changed: bool
    #: The type codes paused or resumed.
    type_codes: tuple[str, ...]
    #: One sentence for the operator.
    message: str


def pause(session: Session, kind: str, name: str, *, actor: str, now: datetime) -> Changed:
    """Pause the type ``name``, or every type of the connector ``name``; recorded under
    ``actor`` in the session's transaction (the caller commits). PauseRefused names an
    unknown type or connector."""
    _check(kind)
    try:
        with session.begin_nested():
            if kind == "type":
                codes = [name] if pauses.pause_type(session, name, by=actor, now=now) else []
            else:
                codes = pauses.pause_connector(session, name, by=actor, now=now)
    except IntegrityError:
        codes = []  # paused by someone else at the same moment: paused all the same
    if not codes:
        return Changed(False, (), f"{_what(kind, name)} was paused already.")
    audit.record(session, actor, f"{kind}-pause", [], detail=_detail(kind, name, codes), at=now)
    return Changed(True, tuple(codes), f"{_what(kind, name)} is paused: no digest starts "
                   f"a job with a request of {_types(codes)} until it is resumed.")


def resume(session: Session, kind: str, name: str, *, actor: str, now: datetime) -> Changed:
    """Resume the type ``name``, or the types the connector ``name``'s pause paused."""
    _check(kind)
    if kind == "type":
        codes = [name] if pauses.resume_type(session, name) else []
    else:
        codes = pauses.resume_connector(session, name)
    if not codes:
        # A paused type that this installation no longer defines can still be resumed; a
        # name that is neither is a mistake, said as the pause says it.
        if kind == "type" and name not in registry:
            raise PauseRefused(f"no request type has the code {name!r}")
        if kind == "connector" and not pauses.connector_types(name):
            raise PauseRefused(f"no request type uses a connector named {name!r}")
        return Changed(False, (), f"{_what(kind, name)} was not paused.")
    audit.record(session, actor, f"{kind}-resume", [], detail=_detail(kind, name, codes),
                 at=now)
    return Changed(True, tuple(codes), f"{_what(kind, name)} is resumed: digests start "
                   f"jobs of {_types(codes)} again.")


def _check(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")


def _what(kind: str, name: str) -> str:
    return f"Request type {name!r}" if kind == "type" else f"Connector {name!r}"


def _types(codes: list[str]) -> str:
    return ", ".join(repr(code) for code in codes)


def _detail(kind: str, name: str, codes: list[str]) -> str:
    return name if kind == "type" else f"{name}: {', '.join(codes)}"
