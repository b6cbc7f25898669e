"""Background jobs: a durable queue in the database and a pool of worker processes.

A job row goes ``queued → running → done | failed``. The runner (one thread
in the server process):

- claims queued jobs by class (:data:`api.kinds.JOB_CLASSES`): as many as the
  pool has free workers, schedules before studies, and studies only while
  fewer than ``VPP_STUDY_WORKERS`` run here, so the other workers stay free for
  the control room. A claim takes its rows with ``SELECT … FOR UPDATE SKIP
  LOCKED`` (PostgreSQL; SQLite has one server) and marks them ``running`` with
  ``attempts + 1``, its owner id and a lease of ``VPP_JOB_LEASE_S``, in one
  transaction, so two servers never claim the same job; it then submits
  :func:`api.kinds.run_job` to a :class:`~concurrent.futures.ProcessPoolExecutor`
  of ``VPP_WORKERS`` processes (HiGHS runs with one thread in each);
- writes each outcome in one transaction (the kind's rows, e.g. the schedule,
  and the job's end together) under the job's row lock, and only while it still
  owns the job, so nothing is half-written and a job ends once;
- renews the lease of its running jobs every ``VPP_JOB_HEARTBEAT_S``, and
  takes back running jobs of other servers that have gone (on PostgreSQL their
  lock in :mod:`api.servers` is free: at once) or whose lease ran out (a hung
  server): queued again, or failed with the reason after
  ``VPP_JOB_MAX_ATTEMPTS`` attempts;
- when a worker process dies (the pool breaks), recreates the pool and puts
  the jobs it was running back in the queue the same way;
- at start-up on SQLite, which one server holds (:func:`api.servers.hold_sqlite`),
  takes back every job left ``running`` by the server that stopped.

The kinds of job (what runs, how its result is stored, their class) are
registered in :mod:`api.kinds`; this module only reads :data:`api.kinds.KINDS`.
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
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from api.db import Job, utcnow
from api.kinds import JOB_CLASSES, KINDS, JobClass, kinds_of, run_job, warm_up
from api.servers import Liveness, hold_sqlite, server_gone
from api.settings import Settings

log = logging.getLogger("vpp.api.jobs")

#: Why a job was taken back from a server that stopped (its process ended).
SERVER_STOPPED = "the server stopped while the job was running"


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
        #: The most workers each class may hold at once (None: all of them).
        self.caps: dict[JobClass, int | None] = {"control": None, "study": settings.study_workers}
        self.instance = f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.url = settings.resolved_database_url
        self.postgresql = self.url.startswith("postgresql")
        self.highs_version: str | None = None
        self.pool_restarts = 0
        self._liveness: Liveness | None = None
        self._pool: cf.ProcessPoolExecutor | None = None
        self._inflight: dict[str, cf.Future] = {}
        self._classes: dict[str, JobClass] = {}
        self._waiters: dict[str, list[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- life cycle -----------------------------------------------------------------

    def start(self) -> None:
        """Hold the database (SQLite) or this server's lock (PostgreSQL), take back orphans, start the pool."""
        if self.postgresql:
            self._liveness = Liveness(self.url, self.instance, self.settings.db_connect_timeout_s)
            if not self._liveness.ensure():
                raise RuntimeError("could not take this server's lock on the PostgreSQL database")
        else:
            hold_sqlite(self.url)
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
                                  lease_until=None,
                                  reason="put back in the queue: the server was stopped while the job was running"))
            self._inflight.clear()
            self._classes.clear()
        self._end_pool()
        if self._liveness is not None:
            self._liveness.close()

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

    def running(self, job_class: JobClass) -> int:
        """Jobs of ``job_class`` running on this server's workers."""
        return sum(1 for c in list(self._classes.values()) if c == job_class)

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
        """Claim queued jobs for the free workers: each class in turn, within its cap."""
        free = self.size - len(self._inflight)
        if free <= 0 or self._pool is None or (self._liveness is not None and not self._liveness.held):
            return
        for job_class in JOB_CLASSES:
            cap = self.caps[job_class]
            room = free if cap is None else min(free, cap - self.running(job_class))
            if room <= 0:
                continue
            claimed = self._claim_rows(job_class, room)
            for job_id, kind, params in claimed:
                self._classes[job_id] = job_class
                try:
                    future = self._pool.submit(run_job, kind, params)
                except (BrokenProcessPool, RuntimeError):
                    future = _broken_future()
                    self._wake.set()
                else:
                    future.add_done_callback(lambda _: self._wake.set())
                    log.info("job %s (%s) started", job_id, kind)
                self._inflight[job_id] = future
            free -= len(claimed)
            if free <= 0:
                return

    def _claim_rows(self, job_class: JobClass, room: int) -> list[tuple[str, str, dict[str, Any]]]:
        """Mark up to ``room`` of the oldest queued jobs of ``job_class`` running here; their (id, kind, params).

        The rows are locked as they are read and rows another server is claiming
        are skipped (PostgreSQL), so a job is claimed by one server.
        """
        now = utcnow()
        with self.sessions() as s, s.begin():
            jobs = s.scalars(select(Job).where(Job.status == "queued", Job.kind.in_(kinds_of(job_class)))
                             .order_by(Job.created_at, Job.id).limit(room).with_for_update(skip_locked=True)).all()
            for job in jobs:
                job.status, job.attempts, job.owner = "running", job.attempts + 1, self.instance
                job.started_at = job.heartbeat_at = now
                job.lease_until = now + dt.timedelta(seconds=self.settings.job_lease_s)
            return [(job.id, job.kind, job.params) for job in jobs]

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
            self._classes.pop(job_id, None)
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
            job = s.get(Job, job_id, with_for_update=True)  # a server taking the job back waits, or we do
            if job is None or job.status != "running" or job.owner != self.instance:
                log.warning("job %s: outcome discarded, the job was taken back meanwhile (its newer attempt "
                            "ends it)", job_id)
                return
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
        """Renew the lease of this server's running jobs (and this server's lock on PostgreSQL)."""
        if self._liveness is not None:
            self._liveness.ensure()
        ids = list(self._inflight)
        if not ids:
            return
        now = utcnow()
        with self.sessions() as s, s.begin():
            renewed = s.execute(update(Job).where(Job.id.in_(ids), Job.owner == self.instance, Job.status == "running")
                                .values(heartbeat_at=now,
                                        lease_until=now + dt.timedelta(seconds=self.settings.job_lease_s))).rowcount
        if renewed < len(ids):
            log.debug("%d of %d jobs in flight are no longer held here (ended, or taken back)", len(ids) - renewed,
                      len(ids))

    def _take_back(self, job_id: str, why: str, error: str) -> None:
        with self.sessions() as s, s.begin():
            job = s.get(Job, job_id, with_for_update=True)
            if job is None or job.status != "running" or job.owner != self.instance:
                return
            ended = _retry_or_fail(job, why, error, self.settings.job_max_attempts)
        if ended:
            self._notify(job_id)
        else:
            self._wake.set()

    def recover(self, startup: bool) -> None:
        """Take back the running jobs of servers that stopped (SQLite at start-up: all of them; PostgreSQL: those
        whose server's lock is free) and of servers whose lease on them ran out."""
        now = utcnow()
        with self.sessions() as s:
            others = s.scalars(select(Job.id).where(Job.status == "running",
                                                    (Job.owner != self.instance) | Job.owner.is_(None))).all()
        if not others:
            return
        ended = []
        with self.sessions() as s, s.begin():
            jobs = s.scalars(select(Job).where(Job.id.in_(others), Job.status == "running")
                             .with_for_update(skip_locked=True)).all()  # another server taking one back: skipped
            gone: dict[str, bool] = {}
            for job in jobs:
                why = self._orphaned(s, job, startup, now, gone)
                if why is None:
                    continue
                log.warning("job %s taken back from %s: %s", job.id, job.owner or "no server", why)
                if _retry_or_fail(job, why, "server", self.settings.job_max_attempts):
                    ended.append(job.id)
        for job_id in ended:
            self._notify(job_id)
        if jobs:
            self._wake.set()

    def _orphaned(self, s: Session, job: Job, startup: bool, now: dt.datetime, gone: dict[str, bool]) -> str | None:
        """Why ``job`` (running, held by another server) is to be taken back, or None while its server holds it."""
        if job.owner is None or job.heartbeat_at is None:
            return SERVER_STOPPED
        if not self.postgresql:
            if startup:  # SQLite: this server holds the file, so whoever ran the job has stopped
                return SERVER_STOPPED
        else:
            if job.owner not in gone:
                gone[job.owner] = server_gone(s, job.owner)
            if gone[job.owner]:
                return SERVER_STOPPED
        # a job left by a server of revision 0001 has no lease_until: its heartbeat and this server's lease
        lease_until = job.lease_until or job.heartbeat_at + dt.timedelta(seconds=self.settings.job_lease_s)
        if lease_until < now:
            silent = (now - job.heartbeat_at).total_seconds()
            return f"the job's server renewed no lease for {silent:.0f} s (its lease ran out)"
        return None


def _retry_or_fail(job: Job, why: str, error: str, max_attempts: int) -> bool:
    """Queue ``job`` again, or fail it after ``max_attempts``; True when it ended (failed)."""
    job.owner, job.heartbeat_at, job.lease_until = None, None, None
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
