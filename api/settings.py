"""Configuration of the scheduling service, from ``VPP_*`` environment variables.

Every limit is here, with its unit and default; the README's "Scheduling
service" section lists them. A bad value stops ``vpp serve`` at start with the
variable's name.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """The service's settings (environment variable = ``VPP_`` + field name, upper case).

    Workers: each server runs ``VPP_WORKERS`` solver processes. Jobs come in two
    classes (:data:`api.kinds.JOB_CLASSES`): the control room's schedules, which
    may use every worker and are always given a free worker first, and studies
    (storage sizing; later Pareto fronts and settlement runs), which hold at most
    ``VPP_STUDY_WORKERS`` workers at once. So ``VPP_WORKERS - VPP_STUDY_WORKERS``
    workers (at least one) are always left to schedules, however many studies
    are queued: on a 2-core machine the defaults are 2 workers, 1 for studies.

    Servers: SQLite (the default) takes one server process; a second ``vpp serve``
    on the same file is refused at start with the reason. Several servers share
    one PostgreSQL database (``VPP_DATABASE_URL``) and its queue: a server claims
    queued jobs under row locks (``SELECT … FOR UPDATE SKIP LOCKED``), holds a
    lease of ``VPP_JOB_LEASE_S`` on each running job and renews it every
    ``VPP_JOB_HEARTBEAT_S``; another server takes back a job whose server has
    gone (its PostgreSQL session ended: at once) or whose lease ran out (a hung
    server: after the lease), and runs it again or fails it after
    ``VPP_JOB_MAX_ATTEMPTS``. A job ends once: an outcome of a server that lost
    the job is discarded. The servers' clocks must agree to well within the lease.
    """

    model_config = SettingsConfigDict(env_prefix="VPP_", extra="ignore")

    #: SQLAlchemy URL; default: a SQLite file ``vpp.db`` in ``data_dir``.
    database_url: str | None = None
    #: Folder of the default SQLite database [path].
    data_dir: Path = Path(".")
    #: Address and port ``vpp serve`` binds to.
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    #: Solver worker processes of this server (default: the number of cores, at least 2 so that one
    #: is kept for schedules while a study runs).
    workers: int = Field(default_factory=lambda: max(2, os.cpu_count() or 1), ge=1, le=64)
    #: Of these, the most that run studies (sizing; later Pareto fronts, settlement runs) at once;
    #: the others are kept for the control room's schedules, which are also given a free worker
    #: before any queued study. Default ``VPP_WORKERS - 1``; at most ``VPP_WORKERS - 1``; 0: this
    #: server runs no studies (``POST /v1/sizing`` answers 503 there).
    study_workers: int | None = Field(None, ge=0)
    #: Tokens for simple deployments: ``"token1:operator,token2:viewer"``.
    api_tokens: str = ""
    #: Allowed CORS origins, comma-separated; empty: no CORS headers at all.
    cors_origins: str = ""
    #: Largest request body [bytes] (413 above).
    max_body_bytes: int = Field(5_000_000, ge=1024)
    #: Deepest nesting of a JSON body [levels] (422 above); a canonical case needs 5.
    max_json_depth: int = Field(32, ge=4, le=500)
    #: Largest case: steps and assets (422 above).
    max_steps: int = Field(2016, ge=1)
    max_assets: int = Field(500, ge=1)
    #: Largest solver time limit a request may ask for [s] (422 above), and the default one [s].
    max_time_limit_s: float = Field(300.0, gt=0)
    default_time_limit_s: float = Field(60.0, gt=0)
    #: Cases with more steps × assets than this are solved in the background (202) even without ``async``.
    async_threshold_step_assets: int = Field(20_000, ge=0)
    #: How long a synchronous request waits for its solve beyond the time limit before answering 202 [s].
    sync_wait_margin_s: float = Field(30.0, ge=0)
    #: Attempts of a job before it is failed (a server stop or a dead worker costs one).
    job_max_attempts: int = Field(3, ge=1)
    #: A running job's heartbeat period [s]: its server renews the job's lease this often.
    job_heartbeat_s: float = Field(2.0, gt=0)
    #: The lease of a running job [s], at least 3 heartbeats: a job whose lease ran out (its server
    #: hung, or lost the database) is taken back by a server that is still running, on any database.
    #: A server whose process ended (killed, crashed) gives its jobs up at once on PostgreSQL (its
    #: session ends) and at the next start on SQLite.
    job_lease_s: float = Field(60.0, gt=0)
    #: Page size of lists: default and largest.
    page_size: int = Field(20, ge=1)
    max_page_size: int = Field(200, ge=1)
    #: How long a request waits for a locked SQLite database before giving up [s] (then 503).
    db_busy_timeout_s: float = Field(30.0, ge=0)
    #: How long a connection to a database server may take [s] (then 503).
    db_connect_timeout_s: int = Field(5, ge=1)
    #: Retry-After of a 503 when the database is busy or unreachable [s].
    retry_after_s: int = Field(2, ge=1)
    #: Where a sizing job's many solves run: ``serial`` (in its worker process; the pool runs jobs side by
    #: side), ``local`` (a local Dask cluster per job) or ``tcp://HOST:PORT`` (an existing Dask cluster).
    sizing_scheduler: str = Field("serial", pattern=r"^(serial|local|tcp://[^\s/]+:\d+)$")
    #: Sizing studies queued or running at once (each is hundreds of solves); more: 429 with Retry-After.
    max_sizing_jobs: int = Field(2, ge=0)
    #: Logging level of the service's logger.
    log_level: str = "INFO"

    @field_validator("study_workers")
    @classmethod
    def _study_workers_leave_one(cls, value: int | None, info: ValidationInfo) -> int | None:
        workers = info.data.get("workers")
        if value is not None and workers is not None and value > workers - 1:
            raise PydanticCustomError(
                "study_workers", "at most VPP_WORKERS - 1 = {most}: one worker at least stays for schedules",
                {"most": workers - 1})
        return value

    @field_validator("job_lease_s")
    @classmethod
    def _lease_spans_heartbeats(cls, value: float, info: ValidationInfo) -> float:
        beat = info.data.get("job_heartbeat_s")
        if beat is not None and value < 3 * beat:
            raise PydanticCustomError(
                "job_lease", f"at least 3 heartbeats (3 × VPP_JOB_HEARTBEAT_S = {3 * beat:g} s), or a running "
                "job would be taken back from a server that is alive")
        return value

    @model_validator(mode="after")
    def _default_study_workers(self) -> Settings:
        if self.study_workers is None:
            self.study_workers = self.workers - 1
        return self

    @property
    def resolved_database_url(self) -> str:
        """The database URL in use (the SQLite default under ``data_dir``)."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'vpp.db').resolve()}"

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]
