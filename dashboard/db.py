"""What every table shares: the declarative base, its naming convention, UTC times.

Times are stored as naive UTC (the three databases disagree on time zones) and handed
back as aware UTC datetimes. Knows nothing of Flask: the queue core and the features'
models build on it alike, and ``extensions.db`` binds it to the app.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm.attributes import instance_state

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

_T = TypeVar("_T")
#: unsaved(): the function that makes a blank object of each model.
_NEW_INSTANCE: dict[type, Callable[[], Any]] = {}

#: MariaDB's TEXT holds 64 KiB; payloads and tracebacks may be longer.
LongText = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timestamp with microseconds, stored as naive UTC, returned as aware UTC."""

    impl = sa.DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine[datetime]:
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(sa.DateTime())

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; pass an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def unsaved(model: type[_T], values: dict[str, Any]) -> _T:
    """A new object of ``model`` holding ``values``, set without the ORM's change events:
    for objects a save writes with statements of its own, never through a flush (a fifth
    of the constructor's cost, which is most of building a job: docs/benchmarks.md)."""
    new_instance = _NEW_INSTANCE.get(model)
    if new_instance is None:
        mapper: sa.orm.Mapper[Any] = sa.inspect(model)
        if not mapper.configured:
            sa.orm.configure_mappers()  # as the constructor does, the first time
        new_instance = _NEW_INSTANCE[model] = mapper.class_manager.new_instance
    instance = cast(_T, new_instance())
    instance.__dict__.update(values)
    return instance


def as_detached(instance: object, identity: tuple[Any, ...]) -> None:
    """Make an object built by ``unsaved``, since given every column and relationship of
    its row (``identity``: its primary key), detached, as if loaded and then let go by its
    session: what ``make_transient_to_detached`` does, without its passes over the
    object's change history, expired and unloaded attributes, which an object built
    without the ORM's events and loaded whole has none of (about 6 ms of a 1,000-job
    save's Python: docs/benchmarks.md)."""
    state = instance_state(instance)
    if state.key is not None or state.session_id is not None:
        raise ValueError(f"{instance!r} is not a new object")
    state.key = state.mapper.identity_key_from_primary_key(identity)


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    #: Every model maps one Table (SQLAlchemy types it as any FROM clause), so the core's
    #: ``jobs = Job.__table__`` handles are Tables to insert into and update.
    __table__: ClassVar[sa.Table]


TABLE_ARGS = {"mysql_charset": "utf8mb4", "mysql_engine": "InnoDB"}


def changed_rows(result: sa.Result[Any]) -> int:
    """How many rows an UPDATE or DELETE changed (SQLAlchemy types every result as a
    Result; a DML statement's is a CursorResult, which counts them)."""
    return cast(sa.CursorResult[Any], result).rowcount


def utcnow() -> datetime:
    return datetime.now(UTC)
