"""Storage: tables of schedules, jobs and tokens (SQLAlchemy 2), the engine and migrations.

SQLite (the default, a file) runs in WAL mode with a busy timeout so that the
server's reads and the job runner's writes do not block each other;
PostgreSQL is used through ``VPP_DATABASE_URL``. The schema is created and
upgraded by Alembic (:func:`migrate`) when the server or ``vpp token create``
starts.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

#: How long a SQLite connection waits for a lock before failing [ms].
SQLITE_BUSY_TIMEOUT_MS = 30_000


def utcnow() -> dt.datetime:
    """Now, in UTC (stored naive-free: every timestamp column has a time zone)."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always read back time-zone aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, dt.datetime: UTCDateTime()}


class Job(Base):
    """One unit of background work: a ``kind`` (see :data:`api.kinds.KINDS`) with JSON params.

    status: queued → running → done | failed (running → queued again when its
    server or worker died and attempts are left). A running job is held by
    ``owner`` (a server) until ``lease_until``.
    """

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), index=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    #: Why the job failed (or why it was retried), for people.
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: Machine-readable failure: {"error": "case"|"solver"|"worker"|..., "status": ..., "problems": [...]}
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_by: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    #: Until when ``owner`` holds the running job: renewed with each heartbeat; once past, another
    #: server may take the job back (revision 0002).
    lease_until: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    schedule_id: Mapped[str | None] = mapped_column(String(36), nullable=True)

    #: The queue as the runners read it: queued jobs of some kinds, oldest first.
    __table_args__ = (Index("ix_jobs_queue", "status", "kind", "created_at"),)


class Schedule(Base):
    """A solved day: summary, per-step series and the materialised case that was solved."""

    __tablename__ = "schedules"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    job_id: Mapped[str | None] = mapped_column(ForeignKey("jobs.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: The case's name and its first day (local date of ``start``, YYYY-MM-DD).
    case_name: Mapped[str] = mapped_column(Text)
    date: Mapped[str] = mapped_column(String(10))
    template: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(32))
    objective_cny: Mapped[float] = mapped_column(Float)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: {"timestamps": [...], "series": [{"asset", "type", "node", "quantity", "unit", "values"}]}
    series: Mapped[dict[str, Any]] = mapped_column(JSON)
    case: Mapped[dict[str, Any]] = mapped_column(JSON)
    options: Mapped[dict[str, Any]] = mapped_column(JSON)

    __table_args__ = (Index("ix_schedules_date_case_created", "date", "case_name", "created_at"),
                      Index("ix_schedules_created", "created_at"))


class Token(Base):
    """An access token, stored as the SHA-256 of the token (never the token itself)."""

    __tablename__ = "tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


def make_engine(url: str, busy_timeout_s: float = SQLITE_BUSY_TIMEOUT_MS / 1000, connect_timeout_s: int = 5) -> Engine:
    """An engine for ``url``; SQLite gets WAL mode, a busy timeout and its folder created.

    ``busy_timeout_s``: how long SQLite waits for another connection's lock;
    ``connect_timeout_s``: how long connecting to a database server may take.
    """
    if url.startswith("sqlite"):
        database = url.split("///", 1)[-1]
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        busy_ms = int(busy_timeout_s * 1000)
        engine = create_engine(url, connect_args={"timeout": busy_timeout_s, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    connect_args = {"connect_timeout": connect_timeout_s} if url.startswith("postgresql") else {}
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, pool_timeout=connect_timeout_s,
                         connect_args=connect_args)


def session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)


#: The advisory lock under which a server migrates a PostgreSQL database ("VPP1" in ASCII; the servers'
#: own locks are under "VPP0", :data:`api.servers.LOCK_NAMESPACE`).
MIGRATION_LOCK = (0x56505031, 0)


def migrate(engine: Engine) -> None:
    """Create or upgrade the schema to the newest Alembic revision.

    On PostgreSQL, servers starting at once migrate one after the other (an advisory
    lock held for the migration's transaction): the first upgrades, the others then
    find the schema at the newest revision.
    """
    from alembic import command
    from alembic.config import Config

    here = Path(__file__).resolve().parent
    config = Config(str(here / "alembic.ini"))
    config.set_main_option("script_location", str(here / "migrations"))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:ns, :key)"),
                               {"ns": MIGRATION_LOCK[0], "key": MIGRATION_LOCK[1]})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
