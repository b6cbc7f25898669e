"""Background jobs: a durable queue in the database and a pool of worker processes.

A job row goes ``queued → running → done | failed``. The runner (one thread
in the server process):

- claims queued jobs from the database with an atomic conditional update
  (``status='queued' → 'running'``, ``attempts + 1``, its owner id), as many
  as the pool has free workers, and submits :func:`api.kinds.run_job` to a
  :class:`~concurrent.futures.ProcessPoolExecutor` of ``VPP_WORKERS`` processes
  (HiGHS runs with one thread in each);
- writes each outcome in one transaction (the schedule row and the job's
  ``done`` together), so nothing is half-written;
- beats a heartbeat on its running jobs; a running job whose heartbeat is
  older than ``VPP_JOB_LEASE_S`` (its server hung or died) is taken back;
- when a worker process dies (the pool breaks), recreates the pool and puts
  the jobs it was running back in the queue, or fails them with the reason
  after ``VPP_JOB_MAX_ATTEMPTS`` attempts;
- at start-up, before anything else, takes back every job left ``running`` by
  a server that stopped (one server process per database), the same way.

:data:`KINDS` maps a job kind to the function run in the worker and to how
its result is stored; ``"schedule"`` is the first kind.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import datetime as dt
import logging
import multiprocessing
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from api.db import Job, Schedule, utcnow
from api.kinds import run_job, run_schedule, run_sizing, warm_up
from api.settings import Settings
from api.studies import run_pareto, run_settlement

log = logging.getLogger("vpp.api.jobs")


@dataclass(frozen=True)
class JobKind:
    """A kind of job: ``run(params) -> outcome`` in a worker; ``store(session, job, result) -> job result JSON``."""

    run: Callable[[dict[str, Any]], dict[str, Any]]
    store: Callable[[Session, Job, dict[str, Any]], dict[str, Any]] | None = None


def store_schedule(session: Session, job: Job, result: dict[str, Any]) -> dict[str, Any]:
    """Add the schedule row of a finished schedule job (in the caller's transaction)."""
    schedule_id = str(uuid.uuid4())
    session.add(Schedule(id=schedule_id, job_id=job.id, created_at=utcnow(), **result))
    return {"schedule_id": schedule_id}


KINDS: dict[str, JobKind] = {
    "schedule": JobKind(run=run_schedule, store=store_schedule),
    "sizing": JobKind(run=run_sizing),  # the result (sizing.json) is kept on the job
    "settlement": JobKind(run=run_settlement),  # the result (settlement.json and the statements) on the job
    "pareto": JobKind(run=run_pareto),  # the result (front.json) on the job
}


def new_job(kind: str, params: dict[str, Any], created_by: str | None = None) -> Job:
    if kind not in KINDS:
        raise ValueError(f"unknown job kind {kind!r}")
    return Job(id=str(uuid.uuid4()), kind=kind, status="queued", params=params, attempts=0,
               created_by=created_by, created_at=utcnow())


class JobRunner:
    """Claims jobs from the database and runs them in a process pool (see the module docstring)."""

    def __init__(self, settings: Settings, sessions: sessionmaker) -> None:
        self.settings = settings
        self.sessions = sessions
        self.size = settings.workers
        self.instance = f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.highs_version: str | None = None
        self.pool_restarts = 0
        self._pool: cf.ProcessPoolExecutor | None = None
        self._inflight: dict[str, cf.Future] = {}
        self._waiters: dict[str, list[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- life cycle -----------------------------------------------------------------

    def start(self) -> None:
        self.recover(startup=True)
        self._new_pool()
        self._thread = threading.Thread(target=self._loop, name="vpp-job-runner", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop claiming, put the jobs in flight back in the queue (not their fault) and end the workers."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        ids = list(self._inflight)
        if ids:
            with self.sessions() as s, s.begin():
                s.execute(update(Job).where(Job.id.in_(ids), Job.status == "running", Job.owner == self.instance)
                          .values(status="queued", attempts=Job.attempts - 1, owner=None, heartbeat_at=None,
                                  reason="put back in the queue: the server was stopped while the job was running"))
            self._inflight.clear()
        self._end_pool()

    def _new_pool(self) -> None:
        self._pool = cf.ProcessPoolExecutor(max_workers=self.size, mp_context=multiprocessing.get_context("spawn"))
        for _ in range(self.size):
            self._pool.submit(warm_up).add_done_callback(self._warmed)

    def _warmed(self, future: cf.Future) -> None:
        if not future.cancelled() and future.exception() is None:
            self.highs_version = future.result()

    def _end_pool(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for p in processes:  # a running solve would otherwise hold the process's exit
            if p.is_alive():
                p.terminate()

    def wake(self) -> None:
        self._wake.set()

    @property
    def busy(self) -> int:
        return len(self._inflight)

    # -- waiting for a job (synchronous requests) ----------------------------------------

    def register(self, job_id: str) -> asyncio.Event:
        """An event set when ``job_id`` ends (call from the event loop, before the job is stored)."""
        event = asyncio.Event()
        with self._lock:
            self._waiters.setdefault(job_id, []).append((asyncio.get_running_loop(), event))
        return event

    def unregister(self, job_id: str, event: asyncio.Event) -> None:
        with self._lock:
            waiters = [w for w in self._waiters.get(job_id, []) if w[1] is not event]
            if waiters:
                self._waiters[job_id] = waiters
            else:
                self._waiters.pop(job_id, None)

    def _notify(self, job_id: str) -> None:
        with self._lock:
            waiters = self._waiters.pop(job_id, [])
        for loop, event in waiters:
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # the loop has closed
                pass

    # -- the loop ------------------------------------------------------------------------

    def _loop(self) -> None:
        last_beat = 0.0
        while not self._stop.is_set():
            try:
                self._reap()
                self._claim()
                now = time.monotonic()
                if now - last_beat >= self.settings.job_heartbeat_s:
                    self._heartbeat()
                    self.recover(startup=False)
                    last_beat = now
            except Exception:  # a database hiccup must not stop the runner
                log.exception("job runner: error in its loop; retrying in 1 s")
                self._stop.wait(1.0)
            self._wake.wait(0.25)
            self._wake.clear()

    def _claim(self) -> None:
        free = self.size - len(self._inflight)
        if free <= 0 or self._pool is None:
            return
        with self.sessions() as s:
            candidates = s.scalars(select(Job.id).where(Job.status == "queued")
                                   .order_by(Job.created_at, Job.id).limit(free)).all()
        for job_id in candidates:
            now = utcnow()
            with self.sessions() as s, s.begin():
                claimed = s.execute(
                    update(Job).where(Job.id == job_id, Job.status == "queued")
                    .values(status="running", attempts=Job.attempts + 1, owner=self.instance,
                            started_at=now, heartbeat_at=now)
                ).rowcount == 1
                job = s.get(Job, job_id) if claimed else None
                kind, params = (job.kind, job.params) if job is not None else ("", {})
            if not claimed:
                continue
            try:
                future = self._pool.submit(run_job, kind, params)
            except (BrokenProcessPool, RuntimeError):
                self._inflight[job_id] = _broken_future()
                self._wake.set()
                return
            future.add_done_callback(lambda _: self._wake.set())
            self._inflight[job_id] = future
            log.info("job %s (%s) started", job_id, kind)

    def _reap(self) -> None:
        done = {job_id: f for job_id, f in self._inflight.items() if f.done()}
        if not done:
            return
        broken = any(_is_broken(f) for f in done.values())
        if broken:  # every job in the broken pool fails with it: collect them all, then a new pool
            cf.wait(list(self._inflight.values()), timeout=10)
            done = {job_id: f for job_id, f in self._inflight.items() if f.done()}
        for job_id, future in done.items():
            # a job leaves the in-flight table only once its end is stored: when the database is
            # locked or unreachable, storing raises, and the next turn of the loop tries again
            if future.cancelled() or _is_broken(future):
                self._take_back(job_id, "a worker process died while running the job", "worker")
            elif future.exception() is not None:
                exc = future.exception()
                self._finish(job_id, {"ok": False, "reason": f"the job could not run ({type(exc).__name__})",
                                      "error": {"error": "internal", "type": type(exc).__name__}})
            else:
                self._finish(job_id, future.result())
            self._inflight.pop(job_id, None)
        if broken:
            self.pool_restarts += 1
            log.warning("job runner: the worker pool broke; starting a new one")
            self._end_pool()
            self._new_pool()

    def _finish(self, job_id: str, outcome: dict[str, Any]) -> None:
        """Store the outcome: the kind's rows and the job's end, in one transaction.

        An outcome the database refuses (not an outage: those raise, and the loop
        tries again) fails the job with the reason instead, in a second transaction.
        """
        try:
            self._store_outcome(job_id, outcome)
        except (OperationalError, InterfaceError):
            raise
        except SQLAlchemyError as exc:
            log.exception("job %s: the database refused its outcome", job_id)
            self._store_outcome(job_id, {"ok": False, "error": {"error": "storage", "type": type(exc).__name__},
                                         "reason": f"the result could not be stored ({type(exc).__name__})"})
        self._notify(job_id)

    def _store_outcome(self, job_id: str, outcome: dict[str, Any]) -> None:
        with self.sessions() as s, s.begin():
            job = s.get(Job, job_id)
            if job is None or job.status != "running" or job.owner != self.instance:
                return  # taken back meanwhile (lease expired): the newer attempt owns it
            if outcome.get("ok"):
                kind = KINDS[job.kind]
                job.result = kind.store(s, job, outcome["result"]) if kind.store else outcome["result"]
                job.schedule_id = (job.result or {}).get("schedule_id")
                job.status, job.reason, job.error = "done", None, None
            else:
                job.status = "failed"
                job.reason = str(outcome.get("reason") or "failed")
                job.error = outcome.get("error") or {"error": "internal"}
            job.finished_at = utcnow()
            status = job.status
        log.info("job %s %s", job_id, status)

    def _heartbeat(self) -> None:
        ids = list(self._inflight)
        if ids:
            with self.sessions() as s, s.begin():
                s.execute(update(Job).where(Job.id.in_(ids), Job.owner == self.instance).values(heartbeat_at=utcnow()))

    def _take_back(self, job_id: str, why: str, error: str) -> None:
        with self.sessions() as s, s.begin():
            job = s.get(Job, job_id)
            if job is None or job.status != "running":
                return
            ended = _retry_or_fail(job, why, error, self.settings.job_max_attempts)
        if ended:
            self._notify(job_id)
        else:
            self._wake.set()

    def recover(self, startup: bool) -> None:
        """Take back running jobs of a stopped server: all of them at start-up, else those past their lease."""
        cutoff = utcnow().timestamp() - self.settings.job_lease_s
        ended = []
        with self.sessions() as s, s.begin():
            for job in s.scalars(select(Job).where(Job.status == "running")).all():
                if startup:
                    why = "the server stopped while the job was running"
                elif job.id not in self._inflight and _stamp(job.heartbeat_at) < cutoff:
                    why = f"the job's server sent no heartbeat for {self.settings.job_lease_s:g} s"
                else:
                    continue
                if _retry_or_fail(job, why, "server", self.settings.job_max_attempts):
                    ended.append(job.id)
                log.warning("job %s taken back: %s", job.id, why)
        for job_id in ended:
            self._notify(job_id)


def _stamp(value: Any) -> float:
    """Seconds since the epoch of a stored timestamp (SQLite gives naive UTC datetimes)."""
    if value is None:
        return 0.0
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.timestamp()


def _retry_or_fail(job: Job, why: str, error: str, max_attempts: int) -> bool:
    """Queue ``job`` again, or fail it after ``max_attempts``; True when it ended (failed)."""
    job.owner, job.heartbeat_at = None, None
    if job.attempts >= max_attempts:
        job.status = "failed"
        job.reason = f"{why}; failed after {job.attempts} attempt(s) (VPP_JOB_MAX_ATTEMPTS={max_attempts})"
        job.error = {"error": error}
        job.finished_at = utcnow()
        return True
    job.status = "queued"
    job.reason = f"{why}; queued again (attempt {job.attempts} of {max_attempts} used)"
    return False


def _is_broken(future: cf.Future) -> bool:
    return future.done() and not future.cancelled() and isinstance(future.exception(), BrokenProcessPool)


def _broken_future() -> cf.Future:
    future: cf.Future = cf.Future()
    future.set_exception(BrokenProcessPool("the worker pool is not usable"))
    return future
