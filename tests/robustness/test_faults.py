"""Faults, for real: a worker killed mid-solve, the server SIGKILLed with jobs queued and running,
the SQLite file locked by another connection, the PostgreSQL server unreachable for a while, a solve
stopped by its time limit.

In every case: no job lost, no schedule half-written (checked on the database rows), a clear status
and reason, and the service back without anyone repairing it.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from api.jobs import SERVER_STOPPED
from benchmarks.robustness import throwaway_postgresql
from tests.api import cases
from tests.api.conftest import Databases, Server
from tests.api.test_durability import (
    SLOW,
    all_ended,
    needs_postgresql,
    stored_statuses,
    submit_slow,
    wait_until,
)
from tests.robustness import figures

#: The database is this module's subject: on PostgreSQL too when VPP_TEST_DATABASE_URL is set (conftest).
pytestmark = pytest.mark.every_database

# ---------------------------------------------------------------------------
# What "nothing lost, nothing half-written" means on the rows
# ---------------------------------------------------------------------------


def check_rows(database_url: str, job_ids: list[str]) -> dict[str, int]:
    """Every job is there and ended; each done job has exactly one complete schedule; no schedule
    lacks its job; each failed job says why. Returns counts by status."""
    engine = create_engine(database_url)
    with engine.connect() as c:
        jobs = {r.id: r for r in c.execute(text("SELECT id, status, reason, schedule_id FROM jobs")).all()}
        schedules = c.execute(text('SELECT id, job_id, status, objective_cny, summary, series, "case" FROM schedules')).all()
    engine.dispose()
    missing = [j for j in job_ids if j not in jobs]
    assert not missing, f"jobs lost: {missing}"
    by_job: dict[str, list[Any]] = {}
    for s in schedules:
        by_job.setdefault(s.job_id, []).append(s)
        assert s.job_id in jobs and jobs[s.job_id].status == "done", f"schedule {s.id} without a done job"
        series, case = _json(s.series), _json(s.case)
        steps = case["steps"]
        assert len(series["timestamps"]) == steps and series["series"], f"schedule {s.id}: series incomplete"
        assert all(len(item["values"]) == steps for item in series["series"]), f"schedule {s.id}: a short series"
        assert math.isfinite(s.objective_cny) and _json(s.summary)["objective_cny"] == pytest.approx(s.objective_cny)
    counts: dict[str, int] = {}
    for job_id in job_ids:
        job = jobs[job_id]
        counts[job.status] = counts.get(job.status, 0) + 1
        assert job.status in ("done", "failed"), f"job {job_id} still {job.status}"
        if job.status == "done":
            assert len(by_job.get(job_id, [])) == 1 and by_job[job_id][0].id == job.schedule_id, job_id
        else:
            assert job.reason and job.schedule_id is None and job_id not in by_job, job_id
    return counts


def _json(value: Any) -> Any:
    import json

    return json.loads(value) if isinstance(value, str) else value


def workers_of(server: Server) -> list[psutil.Process]:
    """The pool's worker processes (spawned children of the server)."""
    return [p for p in psutil.Process(server.proc.pid).children()
            if "spawn_main" in " ".join(p.cmdline())]


def job(client: httpx.Client, job_id: str) -> dict[str, Any]:
    return client.get(f"/v1/jobs/{job_id}").json()


def ended(client: httpx.Client, job_id: str) -> dict[str, Any] | None:
    j = job(client, job_id)
    return j if j["status"] in ("done", "failed") else None


# ---------------------------------------------------------------------------
# Worker killed, server killed
# ---------------------------------------------------------------------------


def test_a_worker_killed_mid_solve_loses_nothing(sqlite_server: Any) -> None:
    # SQLite only: the pool and its recovery do not touch the database differently on PostgreSQL
    srv = sqlite_server(VPP_WORKERS="2", VPP_JOB_MAX_ATTEMPTS="3").start()
    with srv.client() as c:
        ids = submit_slow(c, 2)
        wait_until(lambda: any(job(c, i)["status"] == "running" for i in ids), 60, "a job running")
        time.sleep(0.5)  # inside the solve, not its start
        [victim, *_] = workers_of(srv)
        victim.send_signal(signal.SIGKILL)
        after = wait_until(lambda: all_ended(c, ids), 120, "every job ended")
        assert all(j["status"] == "done" for j in after.values()), after
        assert max(j["attempts"] for j in after.values()) >= 2  # the killed worker's jobs ran again
        health = c.get("/healthz").json()
        assert health["status"] == "ok" and len(workers_of(srv)) == 2
    srv.kill()
    counts = check_rows(srv.database_url, ids)
    figures.fault("worker_killed_mid_solve", survived=True, jobs=len(ids), jobs_lost=0, outcome=counts,
                  attempts=[j["attempts"] for j in after.values()])


def test_the_server_killed_with_jobs_queued_and_running_loses_nothing(new_server: Any) -> None:
    first = new_server(VPP_WORKERS="1").start()
    with first.client() as c:
        ids = submit_slow(c, 1)
        ids += [c.post("/v1/schedules", json={"case": cases.flat(10 + i, name=f"queued-{i}"), "async": True})
                .json()["job_id"] for i in range(3)]
        wait_until(lambda: any(job(c, i)["status"] == "running" for i in ids), 60, "a job running")
    first.kill()  # SIGKILL the server and its worker: the slow job running, the small ones queued behind it
    before = stored_statuses(first.database_url, ids)
    assert "running" in before.values() and "queued" in before.values(), before
    second = new_server(database_url=first.database_url, VPP_WORKERS="2").start()
    with second.client() as c:
        after = wait_until(lambda: all_ended(c, ids), 180, "every job ended after the restart")
        assert all(j["status"] == "done" for j in after.values()), after
        rerun = [j for j in after.values() if j["attempts"] == 2]
        assert rerun, "the job that was running is run again"
        for i in range(3):
            summary = c.get(after[ids[1 + i]]["links"]["schedule"]).json()["summary"]
            assert summary["objective_cny"] == pytest.approx(4 * (10 + i))
    counts = check_rows(first.database_url, ids)
    figures.fault("server_sigkill_with_jobs_queued_and_running", survived=True, jobs=len(ids), jobs_lost=0,
                  outcome=counts, rerun=len(rerun))


# ---------------------------------------------------------------------------
# The SQLite file locked by another connection
# ---------------------------------------------------------------------------


class Lock:
    """``BEGIN EXCLUSIVE`` on a SQLite file from another connection, held until :meth:`release`."""

    def __init__(self, database_url: str) -> None:
        self.connection = sqlite3.connect(database_url.split("///", 1)[1], timeout=30, isolation_level=None,
                                          check_same_thread=False)
        self.connection.execute("BEGIN EXCLUSIVE")

    def release(self) -> None:
        self.connection.execute("COMMIT")
        self.connection.close()


def test_a_locked_sqlite_file_answers_503_with_retry_after_then_recovers(sqlite_server: Any) -> None:
    srv = sqlite_server(VPP_DB_BUSY_TIMEOUT_S="1", VPP_RETRY_AFTER_S="3").start()
    with srv.client() as c:
        [slow_id] = submit_slow(c, 1)
        wait_until(lambda: job(c, slow_id)["status"] == "running", 60, "the slow job running")
        lock = Lock(srv.database_url)  # held past the slow job's end: its result must wait, not vanish
        try:
            refused = c.post("/v1/schedules", json={"case": cases.flat(30, name="while-locked")})
            assert refused.status_code == 503, refused.text
            assert refused.headers["retry-after"] == "3"
            body = refused.json()
            assert body["error"] == "database_unavailable"
            assert body["message"] == "the database is busy or unreachable: retry in 3 s"
            assert "Traceback" not in refused.text and ".py" not in refused.text
            # reads go on (WAL): the job is still seen running, its heartbeat waiting on the lock
            assert c.get("/v1/schedules").status_code == 200
            assert job(c, slow_id)["status"] == "running"
            time.sleep(5)  # the slow solve ends meanwhile; storing it fails while the lock is held
            assert job(c, slow_id)["status"] == "running"
        finally:
            lock.release()
        done = wait_until(lambda: ended(c, slow_id), 60, "the slow job stored after the lock")
        assert done["status"] == "done" and done["attempts"] == 1, done
        again = c.post("/v1/schedules", json={"case": cases.flat(30, name="after-lock")})
        assert again.status_code == 201 and again.json()["summary"]["objective_cny"] == pytest.approx(120)

        # a lock shorter than the busy timeout: the request waits, then succeeds
        lock = Lock(srv.database_url)
        threading.Timer(0.3, lock.release).start()
        waited = c.post("/v1/schedules", json={"case": cases.flat(31, name="short-lock")})
        assert waited.status_code == 201, waited.text
    ids = [slow_id, again.json()["job_id"], waited.json()["job_id"]]
    counts = check_rows(srv.database_url, ids)
    assert "database busy or unreachable (OperationalError); answered 503" in srv.log_text()
    figures.fault("sqlite_file_locked", survived=True, jobs=len(ids), jobs_lost=0, outcome=counts,
                  refused_with=503, retry_after_s=3)


# ---------------------------------------------------------------------------
# PostgreSQL unreachable for a while (a TCP proxy in front of it is cut, then restored)
# ---------------------------------------------------------------------------


class Proxy:
    """A TCP proxy on loopback; :meth:`cut` drops every connection and refuses new ones until :meth:`restore`."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = _free_port()
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        self.listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self) -> None:
        if self.listener is not None:
            try:
                self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread: the port stops listening
            except OSError:
                pass
            self.listener.close()
            self.listener = None
        with self.lock:
            for s in self.sockets:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass
            self.sockets = []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server: ``VPP_TEST_DATABASE_URL`` (``.ci/run`` starts one), else a throwaway cluster
    started here from the installed PostgreSQL binaries (as the ``postgres`` user when run as root)."""
    if os.environ.get("VPP_TEST_DATABASE_URL"):
        yield os.environ["VPP_TEST_DATABASE_URL"]
        return
    with throwaway_postgresql() as url:
        yield url


def test_postgresql_unreachable_for_a_while_answers_503_then_recovers(postgres_url: str, tmp_path: Path) -> None:
    base = make_url(postgres_url)
    name = f"vpp_outage_{os.getpid()}_{int(time.time())}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    proxy = Proxy((base.host or "127.0.0.1", base.port or 5432))
    url = base.set(database=name, port=proxy.port).render_as_string(hide_password=False)
    srv = Server(url, tmp_path, VPP_DB_CONNECT_TIMEOUT_S="2", VPP_RETRY_AFTER_S="2").start()
    try:
        with srv.client() as c:
            [slow_id] = submit_slow(c, 1)
            wait_until(lambda: job(c, slow_id)["status"] == "running", 60, "the slow job running")
            proxy.cut()
            health = c.get("/healthz")
            assert health.status_code == 503 and health.json()["database"] == "unreachable"
            for r in (c.post("/v1/schedules", json={"case": cases.flat(20, name="while-down")}),
                      c.get(f"/v1/jobs/{slow_id}"), c.get("/v1/schedules")):
                assert r.status_code == 503, (r.request.url, r.status_code, r.text)
                assert r.headers["retry-after"] == "2"
                assert r.json()["message"] == "the database is busy or unreachable: retry in 2 s"
                assert "Traceback" not in r.text and "psycopg" not in r.text and "127.0.0.1" not in r.text
            time.sleep(5)  # the slow solve ends while the database is away
            proxy.restore()
            done = wait_until(lambda: (r := c.get(f"/v1/jobs/{slow_id}")).status_code == 200
                              and r.json()["status"] in ("done", "failed") and r.json(), 60, "the slow job stored")
            assert done["status"] == "done" and done["attempts"] == 1, done
            assert c.get("/healthz").json()["status"] == "ok"
            after = c.post("/v1/schedules", json={"case": cases.flat(20, name="after-outage")})
            assert after.status_code == 201 and after.json()["summary"]["objective_cny"] == pytest.approx(80)
        ids = [slow_id, after.json()["job_id"]]
        counts = check_rows(url, ids)
    finally:
        srv.kill()
        proxy.cut()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    figures.fault("postgresql_unreachable", survived=True, jobs=len(ids), jobs_lost=0, outcome=counts,
                  refused_with=503, retry_after_s=2)


# ---------------------------------------------------------------------------
# Two servers on one PostgreSQL database: one SIGKILLed under load, one hung
# ---------------------------------------------------------------------------


def job_rows(database_url: str) -> dict[str, Any]:
    """Every job row: id → (status, attempts, owner)."""
    engine = create_engine(database_url)
    with engine.connect() as c:
        rows = c.execute(text("SELECT id, status, attempts, owner FROM jobs")).all()
    engine.dispose()
    return {r.id: r for r in rows}


def running_on(database_url: str, server: Server) -> list[Any]:
    """The jobs ``server`` is running (its owner id holds its process id)."""
    return [r for r in job_rows(database_url).values()
            if r.status == "running" and r.owner and f":{server.proc.pid}:" in r.owner]


def starts(server: Server, job_id: str) -> int:
    """How often ``server`` started ``job_id``, from its log."""
    return server.log_text().count(f"job {job_id} (schedule) started")


class Load(threading.Thread):
    """Jobs submitted without pause, round robin to the servers that still answer, each followed by a read."""

    def __init__(self, servers: list[Server], stop: threading.Event, first: int = 0) -> None:
        super().__init__(daemon=True)
        self.servers = servers
        self.stop = stop
        self.first = first
        self.expected: dict[str, float] = {}  # job id → its objective by hand: 4 h × 1 MW × price
        self.dead: set[int] = set()
        self.connection_failures = 0

    def run(self) -> None:
        i = self.first
        while not self.stop.is_set():
            alive = [s for s in self.servers if s.port not in self.dead]
            server = alive[i % len(alive)]
            price = 10 + i % 40
            i += 1
            try:
                with server.client(timeout=30) as c:
                    r = c.post("/v1/schedules", json={"case": cases.flat(price, name=f"load-{i}"), "async": True})
                    assert r.status_code == 202, r.text
                    self.expected[r.json()["job_id"]] = 4 * price
                    c.get(f"/v1/jobs/{r.json()['job_id']}").raise_for_status()
            except httpx.TransportError:  # the server was killed: the callers turn to the other one
                self.dead.add(server.port)
                self.connection_failures += 1
            self.stop.wait(0.05)


@needs_postgresql
def test_two_servers_one_sigkilled_under_load_every_job_ends_once(databases: Databases, tmp_path: Path) -> None:
    url = databases.new("postgresql")
    a = Server(url, tmp_path, VPP_WORKERS="2").start()
    b = Server(url, tmp_path, VPP_WORKERS="2").start()
    stop = threading.Event()
    loads = [Load([a, b], stop, first=k) for k in range(4)]  # four callers at once
    try:
        acknowledged = []
        for server in (a, b, a, b, a, b):  # a queue deeper than the four workers
            with server.client() as c:
                acknowledged += submit_slow(c, 1)
        for load in loads:
            load.start()
        held = wait_until(lambda: running_on(url, a), 60, "a job running on the first server")
        time.sleep(0.5)  # inside the solve
        a.kill()  # SIGKILL the server and its workers, mid-job, while both take requests
        time.sleep(3)  # the load goes on through the kill, on the server left
        stop.set()
        for load in loads:
            load.join(timeout=60)
            acknowledged += list(load.expected)
        ids = list(job_rows(url))  # every job in the database, acknowledged or not (a reply lost in the kill)
        with b.client() as c:
            wait_until(lambda: all_ended(c, ids), 300, "every job ended on the server left")
    finally:
        stop.set()
        a.kill()
        b.kill()
    counts = check_rows(url, ids)  # every job ended; each done one has exactly one complete schedule
    rows = job_rows(url)
    lost = sorted(set(acknowledged) - set(rows))
    assert not lost and counts == {"done": len(ids)}, (lost, counts)
    a_instance = held[0].owner
    taken = [i for i in ids if f"job {i} taken back from {a_instance}: {SERVER_STOPPED}" in b.log_text()]
    assert {r.id for r in held} <= set(taken)
    for job_id in ids:
        expected_attempts = 2 if job_id in taken else 1
        assert rows[job_id].attempts == expected_attempts, (job_id, rows[job_id])
    # run twice: started by both servers though not taken from the killed one, or more than once by one
    run_twice = [i for i in ids if starts(a, i) + starts(b, i) > (2 if i in taken else 1)]
    assert not run_twice and all(starts(a, i) == starts(b, i) == 1 for i in taken)
    engine = create_engine(url)
    with engine.connect() as c:
        objectives = dict(c.execute(text("SELECT job_id, objective_cny FROM schedules")).all())
    engine.dispose()
    expected = {i: v for load in loads for i, v in load.expected.items()}
    assert all(objectives[i] == pytest.approx(v) for i, v in expected.items())
    assert sum(load.connection_failures for load in loads) >= 1 and expected
    figures.fault("two_servers_one_sigkilled_under_load", survived=True, jobs=len(ids), acknowledged=len(acknowledged),
                  done_once=counts["done"], jobs_lost=len(lost), run_twice=len(run_twice), taken_over=len(taken),
                  outcome=counts)


@needs_postgresql
def test_a_hung_server_loses_its_job_when_its_lease_runs_out(databases: Databases, tmp_path: Path) -> None:
    url = databases.new("postgresql")
    env = {"VPP_WORKERS": "1", "VPP_JOB_LEASE_S": "3"}
    servers = [Server(url, tmp_path, **env).start(), Server(url, tmp_path, **env).start()]
    try:
        with servers[0].client() as c:  # 20 s of solving: a gap of 1e-9 does not let it end sooner
            r = c.post("/v1/schedules", json={"case": cases.big(), "async": True,
                                              "options": {"mip_gap": 1e-9, "time_limit_s": 20}})
            job_id = r.json()["job_id"]
        # whichever server claimed it hangs: its process and worker stopped, its database session alive
        holder = wait_until(lambda: next((s for s in servers if running_on(url, s)), None), 30, "the job running")
        taker = servers[1 - servers.index(holder)]
        os.killpg(holder.proc.pid, signal.SIGSTOP)
        with taker.client() as c:
            done = wait_until(lambda: ended(c, job_id), 120, "the job run again by the other server")
        assert (done["status"], done["attempts"]) == ("done", 2), done
        taken = [line for line in taker.log_text().splitlines() if f"job {job_id} taken back from" in line]
        assert len(taken) == 1 and ":" + str(holder.proc.pid) + ":" in taken[0], taken
        assert "the job's server renewed no lease for" in taken[0] and "(its lease ran out)" in taken[0], taken
        os.killpg(holder.proc.pid, signal.SIGCONT)  # it wakes up, finishes its solve, and finds the job not its own
        wait_until(lambda: f"job {job_id}: outcome discarded" in holder.log_text(), 60,
                   "the hung server's outcome dropped")
    finally:
        for srv in servers:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(srv.proc.pid, signal.SIGCONT)
            srv.kill()
    counts = check_rows(url, [job_id])  # one schedule: the other server's
    assert counts == {"done": 1} and starts(holder, job_id) == starts(taker, job_id) == 1
    figures.fault("server_hung_lease_ran_out", survived=True, jobs=1, acknowledged=1, done_once=1, jobs_lost=0,
                  run_twice=0, taken_over=1, outcome=counts, outcomes_discarded=1)


# ---------------------------------------------------------------------------
# A solve that hits its time limit
# ---------------------------------------------------------------------------


def test_a_solve_stopped_by_its_time_limit_keeps_its_best_schedule_and_gap(server: Server) -> None:
    with server.client() as c:
        # two days with binaries, optimal after about 3 s on one thread: at 1 s HiGHS has a schedule, not the
        # proof (a large case: the server answers 202 and solves it in the background). On a busy machine the
        # first schedule can take longer than 1 s: longer limits until a stop with a schedule happens.
        for limit in (1, 2, 4, 8):
            r = c.post("/v1/schedules", json={"case": SLOW, "options": {"mip_gap": 1e-9, "time_limit_s": limit}})
            assert r.status_code == 202, r.text
            finished = wait_until(lambda r=r: ended(c, r.json()["job_id"]), 60, "the time-limited job")
            if finished["status"] == "done":
                break
            assert "without any feasible schedule" in finished["reason"], finished
        assert finished["status"] == "done", finished
        body = c.get(finished["links"]["schedule"]).json()
        assert body["status"] == "feasible" and body["summary"]["status"] == "feasible"
        gap, bound = body["summary"]["mip_gap"], body["summary"]["best_bound_cny"]
        assert 0 < gap < math.inf and bound <= body["summary"]["objective_cny"]  # a real, finite gap
        assert body["options"]["time_limit_s"] == limit
        # and without any schedule by the limit: 409 with the reason, the job failed with it
        none = c.post("/v1/schedules", json={"case": cases.big(), "options": {"mip_gap": 1e-9, "time_limit_s": 1e-6}})
        assert none.status_code == 409 and none.json()["status"] == "time_limit_no_solution"
        failed = job(c, none.json()["job_id"])
        assert failed["status"] == "failed" and "without any feasible schedule" in failed["reason"]
    check_rows(server.database_url, [body["job_id"], none.json()["job_id"]])
    figures.fault("solve_hits_time_limit", survived=True, jobs=2, jobs_lost=0,
                  outcome={"feasible_with_gap": gap, "no_incumbent": "409 time_limit_no_solution"})
