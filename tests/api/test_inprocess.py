"""What is easier to reach in process: health with the database gone, and the layering of api/."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from api.app import create_app
from api.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_health_answers_503_when_the_database_is_unreachable(tmp_path: Path) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}"))
    # no lifespan: a runner stand-in and an engine that cannot connect (nothing listens on port 1)
    app.state.runner = SimpleNamespace(highs_version="HiGHS x", size=1, busy=0, caps={"study": 0},
                                       running=lambda job_class: 0)
    app.state.engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none",
                                     connect_args={"connect_timeout": 2})
    client = TestClient(app, raise_server_exceptions=False)  # not as a context manager: no lifespan
    r = client.get("/healthz")
    assert r.status_code == 503
    assert r.json() == {"status": "degraded", "database": "unreachable", "highs_version": "HiGHS x",
                        "workers": 1, "study_workers": 0, "jobs_running": 0, "studies_running": 0}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_the_worker_side_never_imports_fastapi() -> None:
    # api/kinds.py runs in the worker processes, api/jobs.py and api/db.py are imported there too:
    # they stay free of the web framework
    for name in ("kinds.py", "jobs.py", "db.py", "settings.py", "security.py"):
        tops = {n.split(".")[0] for n in _imports(ROOT / "api" / name)}
        assert not tops & {"fastapi", "starlette", "uvicorn"}, name


def test_the_kinds_register_themselves_and_the_runner_only_reads_them() -> None:
    # one direction: the runner imports the registry, the kinds never import the runner
    assert "api.jobs" not in _imports(ROOT / "api" / "kinds.py")
    assert "api.kinds" in _imports(ROOT / "api" / "jobs.py")
    from api.kinds import KINDS, JobKind, register

    assert {name: (k.name, k.job_class) for name, k in KINDS.items()} == {
        "schedule": ("schedule", "control"), "sizing": ("sizing", "study"),
        "settlement": ("settlement", "study"), "pareto": ("pareto", "study"), "outage": ("outage", "study"),
        "replay": ("replay", "study")}
    with pytest.raises(ValueError, match="job kind 'schedule' is registered twice"):
        register(JobKind("schedule", run=lambda params: {}))
    with pytest.raises(ValueError, match=r"job kind 'no-such-kind': unknown class 'batch', expected one of \('control', 'study'\)"):
        register(JobKind("no-such-kind", run=lambda params: {}, job_class="batch"))  # type: ignore[arg-type]
    assert "no-such-kind" not in KINDS


def test_vpp_dispatch_does_not_import_the_service() -> None:
    done = subprocess.run([sys.executable, "-c", "import sys, vpp.cli, vpp.dispatch; "
                           "print(any(m.split('.')[0] in ('fastapi', 'api') for m in sys.modules))"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_api_passes_ruff() -> None:
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert ruff, "ruff is part of the test extras: pip install -e '.[test]'"
    done = subprocess.run([ruff, "check", "api"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_cors_headers_only_for_the_configured_origins(tmp_path: Path) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}", cors_origins="https://ops.example"))
    client = TestClient(app)
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
    r = client.options("/v1/schedules", headers={"Origin": "https://ops.example", **preflight})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "https://ops.example"
    r = client.options("/v1/schedules", headers={"Origin": "https://elsewhere.example", **preflight})
    assert "access-control-allow-origin" not in r.headers


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path: Path) -> None:
    from sqlalchemy import text

    from api.db import SQLITE_BUSY_TIMEOUT_MS, make_engine, migrate

    engine = make_engine(f"sqlite:///{tmp_path / 'sub' / 'vpp.db'}")
    migrate(engine)
    with engine.connect() as c:
        assert c.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert c.execute(text("PRAGMA busy_timeout")).scalar() == SQLITE_BUSY_TIMEOUT_MS
        tables = {r[0] for r in c.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'"))}
        assert {"jobs", "schedules", "tokens", "alembic_version"} <= tables
    migrate(engine)  # upgrading an up-to-date database changes nothing
    engine.dispose()


def test_an_outcome_the_database_refuses_fails_the_job_with_the_reason(tmp_path: Path, monkeypatch: Any) -> None:
    from sqlalchemy.exc import IntegrityError

    from api import jobs, kinds
    from api.db import Job, make_engine, migrate, session_factory, utcnow

    def refused(session: Any, job: Any, result: dict[str, Any]) -> dict[str, Any]:
        raise IntegrityError("INSERT", {}, Exception("refused"))

    monkeypatch.setitem(kinds.KINDS, "refused", kinds.JobKind("refused", run=lambda params: {}, store=refused))
    engine = make_engine(f"sqlite:///{tmp_path / 'vpp.db'}")
    migrate(engine)
    sessions = session_factory(engine)
    runner = jobs.JobRunner(Settings(database_url=str(engine.url)), sessions)
    with sessions() as s, s.begin():
        s.add(Job(id="j1", kind="refused", status="running", params={}, attempts=1, owner=runner.instance,
                  created_at=utcnow()))
    runner._finish("j1", {"ok": True, "result": {}})
    with sessions() as s:
        job = s.get(Job, "j1")
        assert (job.status, job.reason, job.error) == (
            "failed", "the result could not be stored (IntegrityError)", {"error": "storage", "type": "IntegrityError"})
    engine.dispose()
