"""Jobs are never lost: a server crash, a dead worker; concurrency; health under load; stored tokens."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.api import cases
from tests.api.conftest import VIEWER, Databases, Server, auth, free_port

#: The database is this module's subject: on PostgreSQL too when VPP_TEST_DATABASE_URL is set (conftest).
pytestmark = pytest.mark.every_database

SLOW = cases.slow()

#: Tests of several servers on one PostgreSQL database: they run where VPP_TEST_DATABASE_URL names a server.
needs_postgresql = pytest.mark.skipif(not os.environ.get("VPP_TEST_DATABASE_URL"),
                                      reason="needs PostgreSQL: set VPP_TEST_DATABASE_URL (.ci/run starts a server)")


def submit_slow(client: httpx.Client, n: int) -> list[str]:
    ids = []
    for _ in range(n):
        r = client.post("/v1/schedules", json={"case": SLOW, "async": True})
        assert r.status_code == 202, r.text
        ids.append(r.json()["job_id"])
    return ids


def statuses(client: httpx.Client, ids: list[str]) -> dict[str, dict[str, Any]]:
    return {i: client.get(f"/v1/jobs/{i}").json() for i in ids}


def all_ended(client: httpx.Client, ids: list[str]) -> dict[str, dict[str, Any]] | None:
    """The jobs when every one is done or failed, else None."""
    now = statuses(client, ids)
    return now if all(j["status"] in ("done", "failed") for j in now.values()) else None


def wait_until(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout} s: {what}")


def stored_statuses(database_url: str, ids: list[str]) -> dict[str, str]:
    engine = create_engine(database_url)
    with engine.connect() as c:
        rows = c.execute(text("SELECT id, status FROM jobs")).all()
    engine.dispose()
    return {r.id: r.status for r in rows if r.id in ids}


def test_jobs_survive_a_server_crash(new_server: Any) -> None:
    first = new_server().start()
    with first.client() as c:
        ids = submit_slow(c, 4)
        wait_until(lambda: any(j["status"] == "running" for j in statuses(c, ids).values()), 30, "a job running")
    first.kill()  # SIGKILL the server and its workers while jobs are running and queued
    before = stored_statuses(first.database_url, ids)
    assert set(before) == set(ids)
    assert "running" in before.values() and "queued" in before.values(), before

    # the next server allows one attempt: the jobs that were running fail with the reason,
    # the ones still queued are solved
    second = new_server(database_url=first.database_url, VPP_JOB_MAX_ATTEMPTS="1").start()
    with second.client() as c:
        after = wait_until(lambda: all_ended(c, ids), 60, "every job done or failed")
        for job_id, job in after.items():
            if before[job_id] == "running":
                assert job["status"] == "failed", job
                assert job["reason"] == ("the server stopped while the job was running; "
                                         "failed after 1 attempt(s) (VPP_JOB_MAX_ATTEMPTS=1)")
                assert job["error"] == {"error": "server"} and job["attempts"] == 1
            else:
                assert job["status"] == "done", (job["reason"], job["error"], before)
                schedule = c.get(job["links"]["schedule"]).json()
                assert schedule["status"] == "optimal" and schedule["job_id"] == job_id
        [again] = submit_slow(c, 1)
        wait_until(lambda: c.get(f"/v1/jobs/{again}").json()["status"] == "running", 30, "the job running")
    second.kill()

    # a server with retries left re-runs a job found running after a crash
    third = new_server(database_url=first.database_url, VPP_JOB_MAX_ATTEMPTS="3").start()
    with third.client() as c:
        job = wait_until(lambda: (j := c.get(f"/v1/jobs/{again}").json())["status"] in ("done", "failed") and j, 60,
                         "the job re-run")
        assert job["status"] == "done" and job["attempts"] == 2, job
        assert c.get(job["links"]["schedule"]).status_code == 200

        # a graceful stop (SIGTERM) puts the running job back in the queue without using an attempt
        [stopped] = submit_slow(c, 1)
        wait_until(lambda: c.get(f"/v1/jobs/{stopped}").json()["status"] == "running", 30, "the job running")
    third.stop()
    # uvicorn ends a graceful stop by re-raising the signal: -15 after "shutdown complete"
    assert third.proc.returncode in (0, -signal.SIGTERM), third.log_text()[-2000:]
    assert "Application shutdown complete." in third.log_text()
    engine = create_engine(first.database_url)
    with engine.connect() as conn:
        row = conn.execute(text("SELECT status, attempts, reason FROM jobs WHERE id = :id"), {"id": stopped}).one()
    engine.dispose()
    assert tuple(row) == ("queued", 0, "put back in the queue: the server was stopped while the job was running")


def worker_pids(server: Server) -> list[int]:
    """The pool's worker processes: children of the server started by multiprocessing's spawn."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == server.proc.pid and "spawn_main" in cmdline:
            pids.append(int(entry.name))
    return pids


def kill_workers(server: Server) -> None:
    pids = worker_pids(server)
    assert pids, "no worker process found"
    for pid in pids:
        os.kill(pid, signal.SIGKILL)


def test_a_dead_worker_does_not_lose_the_job(new_server: Any) -> None:
    srv = new_server(VPP_JOB_MAX_ATTEMPTS="2").start()
    with srv.client() as c:
        [job_id] = submit_slow(c, 1)
        wait_until(lambda: c.get(f"/v1/jobs/{job_id}").json()["status"] == "running", 30, "the job running")
        kill_workers(srv)
        job = wait_until(lambda: (j := c.get(f"/v1/jobs/{job_id}").json())["status"] in ("done", "failed") and j, 60,
                         "the job retried")
        assert job["status"] == "done" and job["attempts"] == 2, job
        assert c.get("/healthz").json()["status"] == "ok"

        # dying on every attempt: failed with the reason after VPP_JOB_MAX_ATTEMPTS
        [doomed] = submit_slow(c, 1)
        for attempt in (1, 2):
            wait_until(lambda a=attempt: (j := c.get(f"/v1/jobs/{doomed}").json())["status"] == "running"
                       and j["attempts"] == a, 30, f"attempt {attempt} running")
            time.sleep(0.3)
            kill_workers(srv)
        job = wait_until(lambda: (j := c.get(f"/v1/jobs/{doomed}").json())["status"] == "failed" and j, 30, "failed")
        assert job["reason"] == "a worker process died while running the job; failed after 2 attempt(s) (VPP_JOB_MAX_ATTEMPTS=2)"
        assert job["error"] == {"error": "worker"}

        # and the new pool still solves
        r = c.post("/v1/schedules", json={"case": cases.flat(42, name="after-crash")})
        assert r.status_code == 201 and r.json()["summary"]["objective_cny"] == pytest.approx(168)


def test_twenty_concurrent_requests_all_answer_correctly(server: Server) -> None:
    def call(i: int) -> tuple[int, str, Any]:
        with server.client(timeout=120) as c:
            if i < 12:
                r = c.post("/v1/schedules", json={"case": cases.flat(100 + i, name=f"concurrent-{i}")})
                return i, "post", (r.status_code, r.json())
            if i < 16:
                r = c.get("/v1/schedules", params={"limit": 5}, headers=auth(VIEWER))
                return i, "list", (r.status_code, r.json())
            r = c.get("/healthz")
            return i, "health", (r.status_code, r.json())

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(call, range(20)))
    for i, kind, (status, body) in results:
        if kind == "post":
            assert status == 201, body
            assert body["case"] == f"concurrent-{i}"
            assert body["summary"]["objective_cny"] == pytest.approx(4 * (100 + i))
        elif kind == "list":
            assert status == 200 and len(body["items"]) <= 5
        else:
            assert status == 200 and body["status"] == "ok"
    ids = [body["id"] for _, kind, (_, body) in results if kind == "post"]
    assert len(set(ids)) == 12


def test_health_and_reads_stay_responsive_while_solves_run(server: Server) -> None:
    with server.client() as c:
        ids = submit_slow(c, 2)
        seen_running = 0
        slowest = 0.0
        for _ in range(10):
            t0 = time.perf_counter()
            health = c.get("/healthz")
            listing = c.get("/v1/schedules", params={"limit": 3})
            slowest = max(slowest, time.perf_counter() - t0)
            assert health.status_code == 200 and listing.status_code == 200
            seen_running = max(seen_running, health.json()["jobs_running"])
            time.sleep(0.2)
        assert seen_running >= 1
        assert slowest < 1.0, f"a health check and a list took {slowest:.2f} s during solves"
        wait_until(lambda: all(j["status"] == "done" for j in statuses(c, ids).values()), 60, "the slow jobs done")


def test_token_create_prints_a_token_that_works_and_stores_only_its_hash(server: Server) -> None:
    env = dict(os.environ, VPP_DATABASE_URL=server.database_url)
    done = subprocess.run([sys.executable, "-m", "vpp.cli", "token", "create", "--role", "operator", "--name", "ci"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    assert token.startswith("vpp_") and len(token) > 40 and "\n" not in token
    assert "not shown again" in done.stderr
    with server.client(token) as c:
        r = c.post("/v1/schedules", json={"case": cases.flat(55, name="by-stored-token")})
        assert r.status_code == 201 and r.json()["summary"]["objective_cny"] == pytest.approx(220)
    engine = create_engine(server.database_url)
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(text("SELECT * FROM tokens")).all()]
    engine.dispose()
    digest = hashlib.sha256(token.encode()).hexdigest()
    [row] = [r for r in rows if digest in r]
    assert "operator" in row and "ci" in row
    assert not any(token in str(v) for r in rows for v in r)
    if server.database_url.startswith("sqlite"):
        path = Path(server.database_url.split("///", 1)[1])
        for f in (path, path.with_name(path.name + "-wal")):
            if f.exists():
                assert token.encode() not in f.read_bytes()
    assert token not in server.log_text()


def test_a_malformed_token_list_stops_the_server_with_the_reason_but_not_the_token(tmp_path: Path) -> None:
    env = dict(os.environ, VPP_API_TOKENS="fine-token:viewer,leaky-secret-token", VPP_DATA_DIR=str(tmp_path))
    done = subprocess.run([sys.executable, "-m", "vpp.cli", "serve", "--port", "1"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "error: VPP_API_TOKENS entry 2: expected TOKEN:ROLE" in done.stderr
    assert "leaky-secret-token" not in done.stderr + done.stdout
    env["VPP_API_TOKENS"] = "some-token:superuser"
    done = subprocess.run([sys.executable, "-m", "vpp.cli", "serve", "--port", "1"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "unknown role 'superuser' (expected one of viewer, operator, planner, admin)" in done.stderr
    assert "some-token" not in done.stderr


def test_token_create_refuses_an_unknown_role(server: Server) -> None:
    env = dict(os.environ, VPP_DATABASE_URL=server.database_url)
    done = subprocess.run([sys.executable, "-m", "vpp.cli", "token", "create", "--role", "boss"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert "unknown role 'boss': expected one of viewer, operator, planner, admin" in done.stderr


def test_a_second_server_on_one_sqlite_file_is_refused_with_the_reason(databases: Databases, tmp_path: Path) -> None:
    url = databases.new("sqlite")
    first = Server(url, tmp_path).start()
    try:
        second = Server(url, tmp_path)
        done = subprocess.run([sys.executable, "-m", "vpp.cli", "serve", "--port", str(free_port())], env=second.env,
                              cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert done.returncode == 2, done.stdout + done.stderr
        path = os.path.realpath(url.split("///", 1)[1])
        assert done.stderr.strip() == (
            f"error: the SQLite database {path} is already served by vpp serve (pid {first.proc.pid} on "
            f"{socket.gethostname()}): SQLite takes one server process; stop that one, give this one its own "
            "database (VPP_DATA_DIR or VPP_DATABASE_URL), or run several servers on one PostgreSQL database "
            "(VPP_DATABASE_URL=postgresql+psycopg://…)")
        with first.client() as c:  # the first server is untouched
            r = c.post("/v1/schedules", json={"case": cases.flat(12, name="still-served")})
            assert r.status_code == 201 and r.json()["summary"]["objective_cny"] == pytest.approx(48)
    finally:
        first.kill()
    # the hold goes with the process, however it ended: the next server starts at once
    again = Server(url, tmp_path).start()
    again.kill()


def job_started(server: Server, job_id: str) -> int:
    """How often ``server`` started ``job_id`` (its log)."""
    return server.log_text().count(f"job {job_id} (schedule) started")


@needs_postgresql
def test_two_servers_share_one_postgresql_queue(databases: Databases, tmp_path: Path) -> None:
    url = databases.new("postgresql")
    servers = [Server(url, tmp_path, VPP_WORKERS="1")]
    try:
        b = servers[0].start()
        # b's one worker busy for 110 s, longer than a server may take to start: a MIP that a gap of 1e-9
        # does not let end sooner
        with b.client() as c:
            r = c.post("/v1/schedules", json={"case": cases.big(), "async": True,
                                              "options": {"mip_gap": 1e-9, "time_limit_s": 110}})
            busy = r.json()["job_id"]
            wait_until(lambda: c.get(f"/v1/jobs/{busy}").json()["status"] == "running", 30, "b's job running")
        servers.append(Server(url, tmp_path, VPP_WORKERS="2"))
        a = servers[1].start()
        with a.client() as ca, b.client() as cb:
            held = ca.get(f"/v1/jobs/{busy}").json()
            assert (held["status"], held["attempts"]) == ("running", 1), held  # a's start left b's job alone
            # a synchronous request to b while b's worker is busy: a runs it, b answers with its schedule
            r = cb.post("/v1/schedules", json={"case": cases.flat(21, name="run-by-the-other")})
            assert r.status_code == 201, r.text
            assert r.json()["summary"]["objective_cny"] == pytest.approx(84)
            other = r.json()["job_id"]
            assert (job_started(a, other), job_started(b, other)) == (1, 0)
            still = ca.get(f"/v1/jobs/{busy}").json()  # and b's job is b's all along
        assert (still["status"], still["attempts"]) == ("running", 1), still
        assert (job_started(a, busy), job_started(b, busy)) == (0, 1)
    finally:
        for srv in servers:
            srv.kill()


@needs_postgresql
def test_servers_started_at_once_on_a_new_postgresql_database_all_come_up(databases: Databases, tmp_path: Path) -> None:
    url = databases.new("postgresql")  # empty: the first server to take the migration lock creates the schema
    servers = [Server(url, tmp_path, VPP_WORKERS="1") for _ in range(3)]
    try:
        with ThreadPoolExecutor(max_workers=3) as pool:
            started = list(pool.map(lambda srv: srv.start(timeout=120), servers))
        assert all(srv.proc.poll() is None for srv in started)
        for k, srv in enumerate(started):
            with srv.client() as c:
                r = c.post("/v1/schedules", json={"case": cases.flat(30 + k, name=f"at-once-{k}")})
                assert r.status_code == 201 and r.json()["summary"]["objective_cny"] == pytest.approx(4 * (30 + k))
    finally:
        for srv in servers:
            srv.kill()
    engine = create_engine(url)
    with engine.connect() as c:
        assert c.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == ["0002"]
    engine.dispose()
