"""A bounded load test of the scheduling service on loopback: every answer checked, latencies and memory recorded.

    python -m benchmarks.service_load [--requests 200] [--clients 20] [--rounds 2] [--out benchmarks/results/service]

Starts the real server (``vpp serve`` as a subprocess on a free loopback port,
a temporary SQLite database, two solver workers), warms it up, then runs
``--rounds`` identical rounds of ``--requests`` requests from ``--clients``
concurrent clients (httpx, asyncio), reads and writes mixed:

- ``post``: a small case solved synchronously (201); its objective must equal
  the engine's own value for that case, solved here in this process;
- ``get``: the schedule just made (same id, same objective);
- ``list``: a page of schedules (at most the page size, newest first);
- ``curve``: the 96-point CSV of a schedule (header and one row per step);
- ``job``: the job of a schedule (``done``, linking back to it);
- ``health``: ``/healthz`` (``ok``).

Every answer is checked for its status and content; a wrong answer counts as
an error. Latency per kind (p50, p95, p99), throughput and the server's
resident memory (sampled every 0.1 s with psutil, the server process and its
workers apart) are written to ``load.json`` and ``load.md``. Bounded in count
and time, loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

TOKEN = "load-test-operator-token-0123456789"
KINDS = ("post", "get", "list", "curve", "job", "health")
#: Share of each kind in a round (the rest of the weights are reads).
MIX = {"post": 0.25, "get": 0.2, "list": 0.15, "curve": 0.15, "job": 0.1, "health": 0.15}
STEPS = 96


def small_case(i: int) -> dict[str, Any]:
    """A 96-step day: a load following a sine, PV, a battery, prices by period; ``i`` varies the load."""
    import math

    demand = [round(3 + (i % 7) * 0.1 + math.sin(t / 15), 4) for t in range(STEPS)]
    pv = [round(max(0.0, math.sin((t - 24) / 48 * math.pi)) * 2, 4) for t in range(STEPS)]
    buy = [250.0 if t < 32 else 1000.0 if 68 <= t < 84 else 600.0 for t in range(STEPS)]
    return {"name": f"load-{i % 7}", "start": "2026-07-15T00:00:00+08:00", "step_minutes": 15, "steps": STEPS,
            "grid": {"import_max_mw": 20, "buy_cny_per_mwh": buy},
            "assets": [{"id": "load", "type": "load", "demand_mw": demand},
                       {"id": "pv", "type": "pv", "available_mw": pv},
                       {"id": "bat", "type": "battery", "power_mw": 1, "energy_mwh": 2, "degradation_cny_per_mwh": 10}]}


def engine_objectives() -> dict[int, float]:
    """The engine's own objective for each of the 7 small cases (solved here, as ``vpp dispatch`` would)."""
    from models.solve import SolveOptions
    from vpp.case import load_case
    from vpp.dispatch import solve_case

    return {k: float(solve_case(load_case(small_case(k)), SolveOptions(threads=1)).objective_cny) for k in range(7)}


def percentiles(values: list[float]) -> dict[str, float]:
    """p50, p95, p99, mean and max [ms] of latencies given in seconds (nearest-rank percentiles)."""
    if not values:
        return {}
    ordered = sorted(values)

    def rank(p: float) -> float:
        return ordered[max(0, min(len(ordered) - 1, int(-(-p * len(ordered) // 100)) - 1))] * 1000

    return {"n": len(ordered), "p50_ms": round(rank(50), 2), "p95_ms": round(rank(95), 2), "p99_ms": round(rank(99), 2),
            "mean_ms": round(statistics.fmean(ordered) * 1000, 2), "max_ms": round(ordered[-1] * 1000, 2)}


@dataclass
class Round:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    statuses: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    wall_s: float = 0.0

    def summary(self) -> dict[str, Any]:
        everything = [v for values in self.latencies.values() for v in values]
        return {"requests": len(everything), "errors": len(self.errors), "error_examples": self.errors[:10],
                "statuses": dict(sorted(self.statuses.items())),
                "server_errors": sum(n for s, n in self.statuses.items() if s.startswith("5")),
                "wall_s": round(self.wall_s, 3), "throughput_rps": round(len(everything) / self.wall_s, 2),
                "latency": percentiles(everything),
                "latency_by_kind": {k: percentiles(v) for k, v in self.latencies.items() if v}}


class Checker:
    """Checks each answer of the mix; keeps the schedules made so far for the reads."""

    def __init__(self, objectives: dict[int, float]) -> None:
        self.objectives = objectives
        self.made: list[dict[str, Any]] = []  # {"id", "job_id", "objective", "k"}

    def pick(self, rng: random.Random) -> dict[str, Any]:
        return rng.choice(self.made)

    async def run(self, client: httpx.AsyncClient, kind: str, i: int, rng: random.Random, out: Round) -> None:
        t0 = time.perf_counter()
        problem = None
        try:
            if kind == "post":
                k = i % 7
                r = await client.post("/v1/schedules", json={"case": small_case(k)})
                if r.status_code != 201:
                    problem = f"post: {r.status_code} {r.text[:200]}"
                else:
                    body = r.json()
                    expected = self.objectives[k]
                    got = body["summary"]["objective_cny"]
                    if abs(got - expected) > 1e-6 * max(1.0, abs(expected)) or body["case"] != f"load-{k}":
                        problem = f"post: objective {got} != engine's {expected}"
                    self.made.append({"id": body["id"], "job_id": body["job_id"], "objective": got, "k": k})
            elif kind == "get":
                s = self.pick(rng)
                r = await client.get(f"/v1/schedules/{s['id']}")
                body = r.json() if r.status_code == 200 else {}
                if r.status_code != 200 or body["id"] != s["id"] or abs(body["objective_cny"] - s["objective"]) > 1e-6 \
                        or len(body["schedule"]["timestamps"]) != STEPS:
                    problem = f"get: {r.status_code} {r.text[:200]}"
            elif kind == "list":
                known = len(self.made)  # stored before this request was sent
                r = await client.get("/v1/schedules", params={"limit": 10})
                body = r.json() if r.status_code == 200 else {}
                stamps = [item["created_at"] for item in body.get("items", [])]
                if r.status_code != 200 or not 1 <= len(stamps) <= 10 or stamps != sorted(stamps, reverse=True) \
                        or body["total"] < known:
                    problem = f"list: {r.status_code} {r.text[:200]}"
            elif kind == "curve":
                s = self.pick(rng)
                r = await client.get(f"/v1/schedules/{s['id']}/curve.csv")
                lines = r.text.strip().splitlines() if r.status_code == 200 else []
                if r.status_code != 200 or len(lines) != STEPS + 1 or not lines[0].startswith("timestamp,"):
                    problem = f"curve: {r.status_code} {len(lines)} lines"
            elif kind == "job":
                s = self.pick(rng)
                r = await client.get(f"/v1/jobs/{s['job_id']}")
                body = r.json() if r.status_code == 200 else {}
                if r.status_code != 200 or body["status"] != "done" or body["schedule_id"] != s["id"]:
                    problem = f"job: {r.status_code} {r.text[:200]}"
            else:
                r = await client.get("/healthz")
                if r.status_code != 200 or r.json()["status"] != "ok":
                    problem = f"health: {r.status_code} {r.text[:200]}"
            out.statuses[str(r.status_code)] = out.statuses.get(str(r.status_code), 0) + 1
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            problem = f"{kind}: {type(exc).__name__}: {exc}"
            out.statuses["connection_error"] = out.statuses.get("connection_error", 0) + 1
        out.latencies[kind].append(time.perf_counter() - t0)
        if problem:
            out.errors.append(problem)


def plan(requests: int, seed: int) -> list[str]:
    """The kinds of a round, in a shuffled but reproducible order (posts first enough to have something to read)."""
    rng = random.Random(seed)
    kinds = [k for k, share in MIX.items() for _ in range(round(share * requests))]
    kinds = (kinds + ["health"] * requests)[:requests]
    rng.shuffle(kinds)
    return kinds


async def run_round(url: str, token: str, checker: Checker, requests: int, clients: int, seed: int) -> Round:
    out = Round()
    queue: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
    for i, kind in enumerate(plan(requests, seed)):
        queue.put_nowait((i, kind))
    rng = random.Random(seed + 1)

    async def client_loop() -> None:
        async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120) as c:
            while True:
                try:
                    i, kind = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                await checker.run(c, kind, i, rng, out)

    t0 = time.perf_counter()
    await asyncio.gather(*(client_loop() for _ in range(clients)))
    out.wall_s = time.perf_counter() - t0
    return out


def run_load(url: str, token: str, requests: int, clients: int, rounds: int = 1, seed: int = 7,
             objectives: dict[int, float] | None = None, server_pid: int | None = None) -> dict[str, Any]:
    """Warm up (7 posts, one per case), then ``rounds`` rounds; the figures of each round and the server's memory."""
    checker = Checker(objectives or engine_objectives())
    sampler = MemorySampler(server_pid) if server_pid else None
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120) as c:
        for k in range(7):
            r = c.post("/v1/schedules", json={"case": small_case(k)})
            r.raise_for_status()
            body = r.json()
            checker.made.append({"id": body["id"], "job_id": body["job_id"],
                                 "objective": body["summary"]["objective_cny"], "k": k})
    marks = {}
    if sampler:
        sampler.start()
        marks["after_warm_up"] = sampler.now()
    results = []
    for n in range(rounds):
        results.append(asyncio.run(run_round(url, token, checker, requests, clients, seed + 10 * n)).summary())
        if sampler:
            marks[f"after_round_{n + 1}"] = sampler.now()
    memory = None
    if sampler:
        sampler.stop()
        memory = {"marks_mb": marks, "peak_mb": sampler.peak(), "samples": len(sampler.samples)}
    return {"requests_per_round": requests, "clients": clients, "rounds": results, "memory": memory}


class MemorySampler:
    """Resident memory of the server process and of its worker processes [MB], sampled every 0.1 s."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.samples: list[dict[str, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def now(self) -> dict[str, float]:
        server = self.process.memory_info().rss / 2**20
        workers = 0.0
        for child in self.process.children(recursive=True):
            try:
                workers += child.memory_info().rss / 2**20
            except psutil.Error:
                pass
        return {"server_mb": round(server, 1), "workers_mb": round(workers, 1)}

    def _loop(self) -> None:
        while not self._stop.wait(0.1):
            try:
                self.samples.append(self.now())
            except psutil.Error:
                return

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def peak(self) -> dict[str, float]:
        return {k: max((s[k] for s in self.samples), default=0.0) for k in ("server_mb", "workers_mb")}


# ---------------------------------------------------------------------------
# The server, started for the benchmark
# ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_serve(port: int, env: dict[str, str], log_path: Path, *, cwd: Path | None = None,
                timeout_s: float = 90) -> subprocess.Popen:
    """Start ``vpp serve`` on ``port`` (its output appended to ``log_path``) and wait until it is healthy.

    Healthy: ``/healthz`` answers 200 with the HiGHS version its workers report. The
    process leads its own session, so that killing the group ends its workers too.
    Raises RuntimeError with the end of the log if it exits or is not healthy within ``timeout_s``.
    """
    with open(log_path, "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "vpp.cli", "serve", "--port", str(port)], cwd=cwd, env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            r = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
            if r.status_code == 200 and r.json()["highs_version"]:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    raise RuntimeError(f"the server did not become healthy in {timeout_s:g} s:\n{log_path.read_text()[-3000:]}")


class ServiceProcess:
    """``vpp serve`` on a free loopback port with a temporary SQLite database and ``TOKEN`` as operator."""

    def __init__(self, workers: int = 2, **env: str) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="vpp-load-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = dict(os.environ, VPP_DATABASE_URL=f"sqlite:///{self.folder / 'vpp.db'}",
                        VPP_API_TOKENS=f"{TOKEN}:operator", VPP_WORKERS=str(workers), VPP_LOG_LEVEL="WARNING", **env)
        self.log = self.folder / "server.log"
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> ServiceProcess:
        self.proc = start_serve(self.port, self.env, self.log, timeout_s=120)
        return self

    def __exit__(self, *_: Any) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def to_markdown(result: dict[str, Any]) -> str:
    lines = [f"# Service load: {result['requests_per_round']} requests × {len(result['rounds'])} rounds, "
             f"{result['clients']} concurrent clients", "",
             f"{result.get('machine', '')}; server: `vpp serve`, SQLite, {result.get('workers', 2)} solver workers, "
             "loopback. Every answer checked (status and content; each schedule's objective against the engine's "
             "own value).", "",
             "| round | requests | wrong answers | 5xx | throughput [req/s] | p50 [ms] | p95 [ms] | p99 [ms] | max [ms] |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for n, r in enumerate(result["rounds"], 1):
        lat = r["latency"]
        lines.append(f"| {n} | {r['requests']} | {r['errors']} | {r['server_errors']} | {r['throughput_rps']} | "
                     f"{lat['p50_ms']} | {lat['p95_ms']} | {lat['p99_ms']} | {lat['max_ms']} |")
    lines += ["", "Latency by kind (last round):", "",
              "| kind | n | p50 [ms] | p95 [ms] | p99 [ms] |", "|---|---:|---:|---:|---:|"]
    for kind, lat in result["rounds"][-1]["latency_by_kind"].items():
        lines.append(f"| {kind} | {lat['n']} | {lat['p50_ms']} | {lat['p95_ms']} | {lat['p99_ms']} |")
    memory = result.get("memory")
    if memory:
        lines += ["", "Resident memory [MB] (server process / its solver workers):", ""]
        for mark, m in memory["marks_mb"].items():
            lines.append(f"- {mark.replace('_', ' ')}: {m['server_mb']} / {m['workers_mb']}")
        lines.append(f"- peak over {memory['samples']} samples: {memory['peak_mb']['server_mb']} / "
                     f"{memory['peak_mb']['workers_mb']}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/service"))
    args = parser.parse_args(argv)
    objectives = engine_objectives()
    with ServiceProcess(workers=args.workers) as service:
        result = run_load(service.url, TOKEN, args.requests, args.clients, args.rounds, objectives=objectives,
                          server_pid=service.proc.pid)
    result["workers"] = args.workers
    result["machine"] = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "load.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / "load.md").write_text(to_markdown(result))
    print(to_markdown(result))
    bad = sum(r["errors"] + r["server_errors"] for r in result["rounds"])
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
