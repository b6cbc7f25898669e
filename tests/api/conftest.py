"""The scheduling service, run for real: a ``vpp serve`` subprocess on a free port with a fresh database.

Every test that takes ``server`` runs against SQLite. A test module whose
subject is the database (stored schedules, the job queue and its leases,
crashes, concurrent requests, hostile bodies) is marked ``every_database``: when
``VPP_TEST_DATABASE_URL`` names a PostgreSQL server (``.ci/run`` starts one), its
tests run against PostgreSQL too, each server in a database of its own. The
others (the page, the job kinds, authentication, limits) exercise the same
storage code through SQLite alone.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from benchmarks.service_load import start_serve

OPERATOR, VIEWER, ADMIN, PLANNER = "op-test-token-1", "viewer-test-token-1", "admin-test-token-1", "planner-test-token-1"
TOKENS = f"{OPERATOR}:operator,{VIEWER}:viewer,{ADMIN}:admin,{PLANNER}:planner"
ROOT = Path(__file__).resolve().parents[2]


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def backends() -> list[str]:
    return ["sqlite", "postgresql"] if os.environ.get("VPP_TEST_DATABASE_URL") else ["sqlite"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Each test that takes ``backend`` runs on SQLite, and on PostgreSQL too where marked ``every_database``."""
    if "backend" in metafunc.fixturenames:
        every = metafunc.definition.get_closest_marker("every_database") is not None
        metafunc.parametrize("backend", backends() if every else ["sqlite"], indirect=True, scope="session")


class Databases:
    """Fresh databases: SQLite files under a temp folder, or new PostgreSQL databases (dropped at the end)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.created: list[str] = []

    def new(self, backend: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{self.folder / f'vpp-{uuid.uuid4().hex[:8]}.db'}"
        base = make_url(os.environ["VPP_TEST_DATABASE_URL"])
        name = f"vpp_test_{uuid.uuid4().hex[:12]}"
        engine = create_engine(base, isolation_level="AUTOCOMMIT")
        with engine.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        self.created.append(name)
        return base.set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        if not self.created:
            return
        engine = create_engine(make_url(os.environ["VPP_TEST_DATABASE_URL"]), isolation_level="AUTOCOMMIT")
        with engine.connect() as c:
            for name in self.created:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


class Server:
    """A ``vpp serve`` process; ``url`` is its base address."""

    def __init__(self, database_url: str, folder: Path, **env: Any) -> None:
        self.database_url = database_url
        self.folder = folder
        self.extra = {k: str(v) for k, v in env.items()}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.log = folder / f"server-{self.port}.log"

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({"VPP_DATABASE_URL": self.database_url, "VPP_API_TOKENS": TOKENS, "VPP_WORKERS": "2",
                    "VPP_ASYNC_THRESHOLD_STEP_ASSETS": "3000", "VPP_MAX_BODY_BYTES": "300000",
                    "VPP_MAX_TIME_LIMIT_S": "120", "VPP_JOB_HEARTBEAT_S": "0.5", "VPP_LOG_LEVEL": "INFO"})
        env.update(self.extra)
        return env

    def start(self, timeout: float = 90) -> Server:
        self.proc = start_serve(self.port, self.env, self.log, cwd=self.folder, timeout_s=timeout)
        return self

    def client(self, token: str | None = OPERATOR, timeout: float = 120) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=auth(token) if token else {}, timeout=timeout)

    def stop(self) -> None:
        """SIGTERM (graceful), SIGKILL after 20 s."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL the server and its worker processes at once (a crash)."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    dbs = Databases(tmp_path_factory.mktemp("api-db"))
    yield dbs
    dbs.drop_all()


@pytest.fixture(scope="session")
def backend(request: pytest.FixtureRequest) -> str:
    """The database of the test's servers: ``sqlite`` or ``postgresql`` (see :func:`pytest_generate_tests`)."""
    return request.param


@pytest.fixture(scope="session")
def server(backend: str, databases: Databases, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(databases.new(backend), tmp_path_factory.mktemp(f"server-{backend}")).start()
    yield srv
    srv.stop()


@pytest.fixture
def new_server(backend: str, databases: Databases, tmp_path: Path) -> Iterator[Any]:
    """Start servers of your own (``new_server(**env)``, optionally ``database_url=``); all killed at the end."""
    started: list[Server] = []

    def make(database_url: str | None = None, **env: Any) -> Server:
        srv = Server(database_url or databases.new(backend), tmp_path, **env)
        started.append(srv)
        return srv

    yield make
    for srv in started:
        srv.kill()


@pytest.fixture
def operator(server: Server) -> Iterator[httpx.Client]:
    with server.client(OPERATOR) as c:
        yield c


@pytest.fixture
def viewer(server: Server) -> Iterator[httpx.Client]:
    with server.client(VIEWER) as c:
        yield c


@pytest.fixture
def anonymous(server: Server) -> Iterator[httpx.Client]:
    with server.client(None) as c:
        yield c
