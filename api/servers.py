"""Which server may run jobs: one per SQLite file; on PostgreSQL, a lock that lives as long as its server.

SQLite is the single-server default: :func:`hold_sqlite` takes an exclusive
``flock`` on a file beside the database for the life of the process, and a
second ``vpp serve`` on the same file is refused at start with the reason
(:class:`DatabaseInUseError`). The lock goes with the process however it ends
(SIGKILL included), so the next server starts at once and takes back the jobs
left running.

PostgreSQL takes several servers. Each holds a session-level advisory lock
keyed by its instance id on a connection of its own (:class:`Liveness`) for as
long as it runs; when the process ends, its session ends and PostgreSQL frees
the lock. Another server asks :func:`server_gone` before taking back a running
job: the lock is free, so the job's server has gone (its jobs are taken back at
once, without waiting for their lease). A server whose session is alive but
which stopped renewing its leases (hung) loses its jobs when the lease runs
out instead (:mod:`api.jobs`).
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import socket
from pathlib import Path
from typing import IO

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

log = logging.getLogger("vpp.api.servers")

#: First key of the service's advisory locks (the second is the server's); "VPP0" in ASCII.
LOCK_NAMESPACE = 0x56505030


class DatabaseInUseError(RuntimeError):
    """A second server on a SQLite file: the message says which process holds it and what to do."""


def server_key(instance: str) -> int:
    """The advisory lock key of a server instance (a signed 32-bit number)."""
    return int.from_bytes(hashlib.sha256(instance.encode()).digest()[:4], "big", signed=True)


# ---------------------------------------------------------------------------
# SQLite: one server per file
# ---------------------------------------------------------------------------

#: The lock files this process holds, by database path (held until the process ends).
_HELD: dict[str, IO[str]] = {}


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL (symbolic links resolved); None for other databases and memory."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(os.path.realpath(parsed.database))


def hold_sqlite(url: str) -> None:
    """Hold the SQLite database of ``url`` for this process (nothing for other databases).

    Raises :class:`DatabaseInUseError` when another process holds it. Calling it
    again in the same process is a no-op.
    """
    path = sqlite_path(url)
    if path is None or str(path) in _HELD:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = path.with_name(path.name + ".server-lock")
    handle = open(lock_path, "a+", encoding="utf-8")  # noqa: SIM115 - held open for the process's life
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise DatabaseInUseError(
            f"the SQLite database {path} is already served by {holder}: SQLite takes one server process; "
            "stop that one, give this one its own database (VPP_DATA_DIR or VPP_DATABASE_URL), or run "
            "several servers on one PostgreSQL database (VPP_DATABASE_URL=postgresql+psycopg://…)") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"vpp serve (pid {os.getpid()} on {socket.gethostname()})\n")
    handle.flush()
    _HELD[str(path)] = handle


# ---------------------------------------------------------------------------
# PostgreSQL: a lock per live server
# ---------------------------------------------------------------------------


class Liveness:
    """This server's advisory lock on a PostgreSQL connection of its own, held while the server runs.

    :meth:`ensure` takes the lock, or checks that the connection still holds it
    and takes it again on a new connection when the old one was lost (the
    database restarted or was unreachable); ``held`` says whether it is held now.
    """

    def __init__(self, url: str, instance: str, connect_timeout_s: int = 5) -> None:
        self.key = server_key(instance)
        self.engine = create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": connect_timeout_s})
        self._connection: Connection | None = None
        self.held = False

    def ensure(self) -> bool:
        if self._connection is not None:
            try:
                self._connection.execute(text("SELECT 1"))
            except Exception:
                log.warning("the connection holding this server's lock was lost; taking the lock again")
                self._drop()
        try:
            if self._connection is None:
                self._connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            if not self.held:
                self.held = bool(self._connection.execute(text("SELECT pg_try_advisory_lock(:ns, :key)"),
                                                          {"ns": LOCK_NAMESPACE, "key": self.key}).scalar())
                if not self.held:  # another session holds the key (a server's check, or a 1 in 4e9 clash)
                    log.warning("this server's lock (key %d) is held by another session: no job is claimed "
                                "until it is free", self.key)
        except Exception:
            log.warning("the database is unreachable: this server claims no job until it holds its lock again")
            self._drop()
        return self.held

    def _drop(self) -> None:
        self.held = False
        if self._connection is not None:
            try:
                self._connection.close()
            except Exception:
                pass
            self._connection = None

    def close(self) -> None:
        self._drop()
        self.engine.dispose()


def server_gone(session: Session, instance: str) -> bool:
    """True when no live session holds the lock of server ``instance`` (PostgreSQL, in ``session``'s transaction).

    The probe takes the lock for the rest of the transaction, so that the
    server cannot be seen alive and gone at once by two takers.
    """
    return bool(session.execute(text("SELECT pg_try_advisory_xact_lock(:ns, :key)"),
                                {"ns": LOCK_NAMESPACE, "key": server_key(instance)}).scalar())
