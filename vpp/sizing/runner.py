"""Run many independent day chains serially or on Dask, with the same results either way.

The unit of work is a *chunk* of days (a month of the year, or one typical
day) for one *point* (a size per site). Making a chunk's days (materialising
the template for each date) is one task; solving it for a point is another,
which depends on the first, so each month is materialised once whatever the
number of sizes. Chunks of different points and of different months are
independent and run in parallel; the days within a chunk run in order
(each starts from the storage level the previous one ended with).

- ``scheduler=None`` or ``"serial"``: in this process, in order;
- ``"local"``: a local Dask cluster (``LocalCluster``: one single-threaded
  worker process per core, or ``workers``);
- ``"tcp://HOST:PORT"``: an existing Dask cluster (its workers must have this
  package installed).

Every task is submitted with ``retries`` (a worker lost or a task that raised
is run again); a task still failing after its retries turns into rows that
say so for each of its days, and a day whose solve fails is retried inside
the task and then reported (see :func:`vpp.sizing.year.solve_chunk`): no day
is ever dropped. HiGHS runs single-threaded and deterministically, and the
rows are put in (point, day) order, so the table is the same bit for bit
whichever way it ran.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import pandas as pd

from vpp.sizing.year import BASE, Day, Plan, RunSettings, Site, Variant, build_chunk, solve_chunk

Progress = Callable[[int, int], None]
"""Called with (days done, days in all) as work completes."""

FIRST_COLUMNS = ["point", "day", "date", "weight", "status", "attempts", "reason"]


class Runner:
    """Where the work runs (see the module docstring); use as a context manager."""

    def __init__(self, scheduler: str | None = "local", workers: int | None = None, retries: int = 2) -> None:
        if scheduler not in (None, "serial", "local") and not str(scheduler).startswith(("tcp://", "tls://", "inproc://", "ucx://")):
            raise ValueError(f"scheduler: expected 'serial', 'local' or a Dask address such as tcp://HOST:PORT, got {scheduler!r}")
        if workers is not None and workers < 1:
            raise ValueError(f"workers: expected a positive number, got {workers}")
        self.scheduler = None if scheduler == "serial" else scheduler
        self.workers = workers
        self.retries = retries
        self.client: Any = None
        self.cluster: Any = None
        self._chunks: dict[tuple[int, int], tuple[Plan, Any]] = {}

    @property
    def description(self) -> str:
        if self.scheduler is None:
            return "serial (this process)"
        if self.scheduler == "local":
            n = self.workers or os.cpu_count() or 1
            return f"local Dask cluster, {n} single-threaded worker processes"
        return f"Dask cluster at {self.scheduler}"

    def __enter__(self) -> Runner:
        if self.scheduler is not None:
            from dask.distributed import Client, LocalCluster

            if self.scheduler == "local":
                self.cluster = LocalCluster(
                    n_workers=self.workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                    dashboard_address=":0", silence_logs=40,
                )
                self.client = Client(self.cluster)
            else:
                self.client = Client(self.scheduler)
        return self

    def __exit__(self, *exc: object) -> None:
        self._chunks.clear()
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()
        self.client = self.cluster = None

    # -- days -----------------------------------------------------------------------

    def _chunk_future(self, plan: Plan, c: int) -> Any:
        key = (id(plan), c)
        if key not in self._chunks:  # the plan is kept with its future, so its id cannot be reused meanwhile
            self._chunks[key] = (plan, self.client.submit(build_chunk, plan.chunks[c], retries=self.retries, pure=False))
        return self._chunks[key][1]

    def make_days(self, plan: Plan, progress: Progress | None = None) -> list[Day]:
        """Every day of the plan, made (materialised), in order."""
        total = len(plan.days)
        if self.client is None:
            out, done = [], 0
            for chunk in plan.chunks:
                out.extend(build_chunk(chunk))
                done += len(chunk)
                if progress:
                    progress(done, total)
            return out
        from dask.distributed import as_completed

        futures = [self._chunk_future(plan, c) for c in range(len(plan.chunks))]
        done = 0
        for f in as_completed(futures):
            done += len(plan.chunks[futures.index(f)])
            if progress:
                progress(done, total)
        out = []
        for c, f in enumerate(futures):
            try:
                out.extend(f.result())
            except Exception as exc:  # noqa: BLE001 - a lost task is reported per day, never dropped
                out.extend(Day(i.index, i.date, i.weight, None, error=_task_failure(exc, self.retries)) for i in plan.chunks[c])
        return out

    # -- solving --------------------------------------------------------------------

    def run(
        self,
        plan: Plan,
        sites: list[Site],
        points: list[dict[str, tuple[float, float]]],
        settings: RunSettings,
        progress: Progress | None = None,
        variants: list[Variant] | None = None,
        starts: dict[int, dict[int, tuple[dict[str, float], float]]] | None = None,
    ) -> tuple[pd.DataFrame, dict[str, float]]:
        """Solve every chunk of ``plan`` for every point; the rows in (point, day) order and the timings [s].

        ``variants``: the change each point makes to every day (:class:`vpp.sizing.year.Variant`; default none);
        ``starts``: by point, the days to start from a given storage level and peak so far.
        """
        variants = variants or [BASE] * len(points)
        if len(variants) != len(points):
            raise ValueError(f"expected one variant per point ({len(points)}), got {len(variants)}")
        t0 = time.perf_counter()
        total = len(plan.days) * len(points)
        results: dict[tuple[int, int], list[dict[str, Any]]] = {}
        busy = 0.0
        if self.client is None:
            done = 0
            made: dict[int, list[Day]] = {}
            for p, sizes in enumerate(points):
                for c, chunk in enumerate(plan.chunks):
                    for attempt in range(self.retries + 1):  # as Dask's retries
                        try:
                            if c not in made:
                                made[c] = build_chunk(chunk)
                            rows, secs = solve_chunk(made[c], sites, sizes, p, settings, plan.chain, variants[p],
                                                     (starts or {}).get(p))
                            busy += secs
                            break
                        except Exception as exc:  # noqa: BLE001 - reported per day, as on Dask
                            rows = _failed_rows(plan, p, c, _task_failure(exc, self.retries), self.retries + 1)
                            made.pop(c, None)
                            if attempt == self.retries:
                                break
                    results[(p, c)] = rows
                    done += len(chunk)
                    if progress:
                        progress(done, total)
        else:
            from dask.distributed import as_completed

            futures = {}
            for p, sizes in enumerate(points):
                for c in range(len(plan.chunks)):
                    fut = self.client.submit(
                        solve_chunk, self._chunk_future(plan, c), sites, sizes, p, settings, plan.chain, variants[p],
                        (starts or {}).get(p), retries=self.retries, pure=False,
                    )
                    futures[fut] = (p, c)
            done = 0
            for fut in as_completed(list(futures)):
                p, c = futures[fut]
                try:
                    rows, secs = fut.result()
                    busy += secs
                except Exception as exc:  # noqa: BLE001 - reported per day below
                    rows = _failed_rows(plan, p, c, _task_failure(exc, self.retries), self.retries + 1)
                results[(p, c)] = rows
                done += len(plan.chunks[c])
                if progress:
                    progress(done, total)
        rows = [r for p in range(len(points)) for c in range(len(plan.chunks)) for r in results[(p, c)]]
        table = pd.DataFrame(rows)
        rest = sorted(c for c in table.columns if c not in FIRST_COLUMNS)
        table = table.reindex(columns=FIRST_COLUMNS + rest)
        return table, {"wall_seconds": time.perf_counter() - t0, "task_seconds": busy}


def _failed_rows(plan: Plan, p: int, c: int, reason: str, attempts: int) -> list[dict[str, Any]]:
    return [
        {"point": p, "day": i.index, "date": i.date, "weight": i.weight, "status": "failed", "attempts": attempts, "reason": reason}
        for i in plan.chunks[c]
    ]


def _task_failure(exc: BaseException, retries: int) -> str:
    return f"task failed after {retries + 1} attempts: {type(exc).__name__}: {exc}"
