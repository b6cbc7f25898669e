"""Configuration of the scheduling service, from ``VPP_*`` environment variables.

Every limit is here, with its unit and default; the README's "Scheduling
service" section lists them.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """The service's settings (environment variable = ``VPP_`` + field name, upper case)."""

    model_config = SettingsConfigDict(env_prefix="VPP_", extra="ignore")

    #: SQLAlchemy URL; default: a SQLite file ``vpp.db`` in ``data_dir``.
    database_url: str | None = None
    #: Folder of the default SQLite database [path].
    data_dir: Path = Path(".")
    #: Address and port ``vpp serve`` binds to.
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    #: Solver worker processes (default: the number of cores).
    workers: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1, le=64)
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
    #: A running job's heartbeat period [s]; a job whose heartbeat is older than ``job_lease_s`` is taken back.
    job_heartbeat_s: float = Field(2.0, gt=0)
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

    @property
    def resolved_database_url(self) -> str:
        """The database URL in use (the SQLite default under ``data_dir``)."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'vpp.db').resolve()}"

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]
