"""Reliability and security of the scheduling service, at full counts: the figures the README quotes.

    python -m benchmarks.robustness [--examples 200] [--requests 200] [--clients 20] [--wrk-seconds 15]
                                    [--out benchmarks/results/service]

1. Runs the robustness suite (``pytest tests/robustness``) with ``VPP_FUZZ_EXAMPLES=--examples``: the
   schemathesis fuzzing of every operation with four callers and both generation modes, the hypothesis
   bodies, bytes, path ids and queries, the hostile requests, the limits, the security checks, every
   fault scenario and the reduced load test; the suite writes its own figures
   (``VPP_ROBUSTNESS_REPORT``): requests tried, answers by status, 5xx, connection failures, faults
   survived, jobs lost. The case parser's fuzzing runs in the same suite; its generated inputs are
   read from hypothesis's statistics. The suite's PostgreSQL tests, two servers on one database among
   them, run against ``VPP_TEST_DATABASE_URL``, or else against a throwaway cluster started here from
   the installed PostgreSQL (Debian's ``postgresql``), so that their figures are measured.
2. Runs the load benchmark (:mod:`benchmarks.service_load`, two identical rounds) for the latency
   percentiles, throughput and memory.
3. Measures again from outside: ``wrk`` (Debian's package; ``apt-get install wrk``) drives a fresh
   server with the same mix of requests from 20 connections, and its latency percentiles and
   throughput are recorded beside the suite's.

Writes ``robustness.json`` and ``robustness.md`` (and the load benchmark's ``load.json``/``load.md``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from benchmarks.service_load import (
    TOKEN,
    ServiceProcess,
    engine_objectives,
    free_port,
    run_load,
    small_case,
)
from benchmarks.service_load import to_markdown as load_markdown

ROOT = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def throwaway_postgresql() -> Iterator[str]:
    """A PostgreSQL server of its own on a free loopback port, from the installed binaries; its URL.

    ``initdb`` refuses root, so as root the cluster runs as the ``postgres`` user. The
    cluster and its folder are removed at the end. AssertionError when PostgreSQL is not
    installed (``apt-get install postgresql``).
    """
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    assert bins, "PostgreSQL is not installed: apt-get install postgresql (or set VPP_TEST_DATABASE_URL)"
    bin_dir = bins[-1].parent
    folder = Path(tempfile.mkdtemp(prefix="vpp-pg-"))
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_user:
        shutil.chown(folder, "postgres", "postgres")
    port = free_port()
    subprocess.run([*as_user, str(bin_dir / "initdb"), "-D", str(folder / "data"), "-U", "postgres",
                    "--auth=trust"], check=True, capture_output=True)
    subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(folder / "data"), "-l", str(folder / "log"), "-w",
                    "-o", f"-p {port} -k {folder} -c listen_addresses=127.0.0.1", "start"], check=True,
                   capture_output=True)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(folder / "data"), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def run_suite(examples: int, folder: Path) -> dict[str, Any]:
    with contextlib.ExitStack() as stack:
        database = os.environ.get("VPP_TEST_DATABASE_URL")
        if not database and sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
            database = stack.enter_context(throwaway_postgresql())
        return _run_suite(examples, folder, database)


def _run_suite(examples: int, folder: Path, database: str | None) -> dict[str, Any]:
    report = folder / "suite.json"
    env = dict(os.environ, VPP_FUZZ_EXAMPLES=str(examples), VPP_ROBUSTNESS_REPORT=str(report))
    if database:
        env["VPP_TEST_DATABASE_URL"] = database
    t0 = time.perf_counter()
    # one process (-n 0): the suite's figures are counted in the process that runs the tests
    done = subprocess.run([sys.executable, "-m", "pytest", "tests/robustness", "-q", "-n", "0", "-p", "no:cacheprovider",
                           "--hypothesis-show-statistics"], cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    (folder / "suite.log").write_text(done.stdout + done.stderr)
    figures = json.loads(report.read_text()) if report.exists() else {}
    tail = [line for line in done.stdout.splitlines() if re.search(r"\d+ (passed|failed)", line)]
    parser_inputs, current = 0, ""
    for line in done.stdout.splitlines():  # hypothesis's statistics: a block per test, "- N passing" per phase
        if line.startswith("tests/"):
            current = line
        elif "test_case_parser_fuzz.py::" in current and (m := re.search(r"- (\d+) passing", line)):
            parser_inputs += int(m.group(1))
    return {"exit_code": done.returncode, "seconds": round(seconds, 1), "summary": tail[-1] if tail else "",
            "figures": figures, "case_parser_inputs": parser_inputs, "postgresql": bool(database)}


WRK_SCRIPT = """
-- the load benchmark's mix: a quarter posts of small cases, reads of known schedules, lists, curves, jobs, health
local ids = {%(ids)s}
local jobs = {%(jobs)s}
local body = [[%(body)s]]
local mix = {"post","get","list","curve","job","health","post","get","list","curve","post","get","health","curve",
             "list","health","post","get","job","health"}
local n = 0
request = function()
  n = n + 1
  local kind = mix[(n %% #mix) + 1]
  local i = (n %% #ids) + 1
  local h = {["Authorization"] = "Bearer %(token)s", ["Content-Type"] = "application/json"}
  if kind == "post" then return wrk.format("POST", "/v1/schedules", h, body) end
  if kind == "get" then return wrk.format("GET", "/v1/schedules/" .. ids[i], h) end
  if kind == "list" then return wrk.format("GET", "/v1/schedules?limit=10", h) end
  if kind == "curve" then return wrk.format("GET", "/v1/schedules/" .. ids[i] .. "/curve.csv", h) end
  if kind == "job" then return wrk.format("GET", "/v1/jobs/" .. jobs[i], h) end
  return wrk.format("GET", "/healthz", h)
end
done = function(summary, latency, requests)
  io.write(string.format('WRK {"requests": %%d, "duration_s": %%.3f, "non_2xx": %%d, "socket_errors": %%d, ' ..
    '"p50_ms": %%.2f, "p95_ms": %%.2f, "p99_ms": %%.2f, "max_ms": %%.2f}\\n',
    summary.requests, summary.duration / 1e6, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
"""


def run_wrk(seconds: int, connections: int, folder: Path) -> dict[str, Any]:
    """The same mix, measured by wrk from a second process against a fresh server."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return {"error": "wrk is not installed (apt-get install wrk)"}
    with ServiceProcess(workers=2) as service:
        ids, jobs = [], []
        with httpx.Client(base_url=service.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=120) as c:
            for k in range(7):
                body = c.post("/v1/schedules", json={"case": small_case(k)}).raise_for_status().json()
                ids.append(body["id"])
                jobs.append(body["job_id"])
        script = folder / "mix.lua"
        script.write_text(WRK_SCRIPT % {"ids": ", ".join(f'"{i}"' for i in ids),
                                        "jobs": ", ".join(f'"{j}"' for j in jobs),
                                        "body": json.dumps({"case": small_case(3)}), "token": TOKEN})
        done = subprocess.run([wrk, "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "60s", "-s", str(script),
                               service.url], capture_output=True, text=True, timeout=seconds + 120)
        with httpx.Client(base_url=service.url, timeout=30) as c:
            healthy = c.get("/healthz").json()["status"]
    (folder / "wrk.txt").write_text(done.stdout + done.stderr)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("WRK ")), None)
    if line is None:
        return {"error": f"wrk printed no figures: {done.stdout[-500:]} {done.stderr[-500:]}"}
    out = json.loads(line[4:])
    out.update(connections=connections, threads=2, throughput_rps=round(out["requests"] / out["duration_s"], 2),
               server_healthy_after=healthy == "ok")
    return out


def servers_markdown(fig: dict[str, Any]) -> str:
    """The several-server scenarios of the suite's figures: every job ends exactly once."""
    several = fig.get("several_servers") or {}
    if not several.get("scenarios"):
        return ("not measured: no PostgreSQL server (set VPP_TEST_DATABASE_URL, or install PostgreSQL: "
                "apt-get install postgresql)")
    lines = ["| scenario | jobs submitted | acknowledged | done exactly once | lost | run twice | taken over |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for name in several["scenarios"]:
        f = fig["faults"][name]
        lines.append(f"| {name.replace('_', ' ')} | {f['jobs']} | {f['acknowledged']} | {f['done_once']} | "
                     f"{f['jobs_lost']} | {f['run_twice']} | {f['taken_over']} |")
    lines.append(f"| **all** | **{several['jobs']}** | **{several['acknowledged']}** | **{several['done_once']}** | "
                 f"**{several['jobs_lost']}** | **{several['run_twice']}** | **{several['taken_over']}** |")
    return "\n".join(lines)


def to_markdown(result: dict[str, Any]) -> str:
    suite = result["suite"]
    fig = suite["figures"]
    totals = fig.get("totals", {})
    lines = [f"# Reliability and security of the scheduling service ({result['machine']})", "",
             f"Robustness suite at {result['examples']} examples per property: {suite['summary']} in "
             f"{suite['seconds']} s (exit code {suite['exit_code']}).", "",
             "## Bad input", "",
             "| source | requests tried | 5xx | connection failures | answers by status |", "|---|---:|---:|---:|---|"]
    for name, e in fig.get("requests", {}).items():
        statuses = ", ".join(f"{s}: {n}" for s, n in sorted(e["by_status"].items()))
        lines.append(f"| {name} | {e['tried']} | {e['server_errors']} | {e['connection_failures']} | {statuses} |")
    lines.append(f"| **all** | **{totals.get('tried', 0)}** | **{totals.get('server_errors', 0)}** | "
                 f"**{totals.get('connection_failures', 0)}** | |")
    lines += ["", f"Case parser (hypothesis, in-process): {suite['case_parser_inputs']} generated inputs, "
              "each a case or a list of problems.", "", "## Faults", "",
              "| scenario | survived | jobs | jobs lost | outcome |", "|---|---|---:|---:|---|"]
    for name, f in fig.get("faults", {}).items():
        lines.append(f"| {name.replace('_', ' ')} | {'yes' if f.get('survived') else 'NO'} | {f.get('jobs')} | "
                     f"{f.get('jobs_lost')} | {json.dumps(f.get('outcome'))} |")
    lines.append(f"| **all** | **{fig.get('faults_survived', 0)} of {fig.get('faults_tried', 0)}** | | "
                 f"**{fig.get('jobs_lost', 0)}** | |")
    lines += ["", "## Several servers on one PostgreSQL database", "", servers_markdown(fig)]
    lines += ["", "## Load", "", load_markdown(result["load"]).split("\n", 2)[2].strip(), "",
              "## Measured again from outside (wrk, same mix, fresh server)", ""]
    wrk = result["wrk"]
    if "error" in wrk:
        lines.append(f"not measured: {wrk['error']}")
    else:
        lines += ["| tool | connections | requests | non-2xx | throughput [req/s] | p50 [ms] | p95 [ms] | p99 [ms] |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|"]
        last = result["load"]["rounds"][-1]
        lat = last["latency"]
        lines.append(f"| suite (httpx, last round) | {result['load']['clients']} | {last['requests']} | "
                     f"{last['errors']} wrong | {last['throughput_rps']} | {lat['p50_ms']} | {lat['p95_ms']} | "
                     f"{lat['p99_ms']} |")
        lines.append(f"| wrk {wrk['duration_s']:.0f} s | {wrk['connections']} | {wrk['requests']} | {wrk['non_2xx']} | "
                     f"{wrk['throughput_rps']} | {wrk['p50_ms']} | {wrk['p95_ms']} | {wrk['p99_ms']} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=200, help="VPP_FUZZ_EXAMPLES for the suite")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--wrk-seconds", type=int, default=15)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/service"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="vpp-robustness-"))
    result: dict[str, Any] = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
                                         f"{platform.python_version()}", "examples": args.examples}
    result["suite"] = run_suite(args.examples, folder)
    objectives = engine_objectives()
    with ServiceProcess(workers=2) as service:
        result["load"] = run_load(service.url, TOKEN, args.requests, args.clients, rounds=2, objectives=objectives,
                                  server_pid=service.proc.pid)
    result["load"]["machine"] = result["machine"]
    result["wrk"] = run_wrk(args.wrk_seconds, args.clients, folder)
    fig = result["suite"]["figures"]
    result["headline"] = {
        "requests_tried": fig.get("totals", {}).get("tried", 0) + sum(r["requests"] for r in result["load"]["rounds"]),
        "server_errors": fig.get("totals", {}).get("server_errors", 0)
        + sum(r["server_errors"] for r in result["load"]["rounds"]),
        "crashes": fig.get("totals", {}).get("connection_failures", 0),
        "jobs_lost": fig.get("jobs_lost", 0),
        "faults_survived": f"{fig.get('faults_survived', 0)} of {fig.get('faults_tried', 0)}",
        "several_servers": {k: v for k, v in (fig.get("several_servers") or {}).items() if k != "scenarios"},
        "case_parser_inputs": result["suite"]["case_parser_inputs"],
        "latency_ms": result["load"]["rounds"][-1]["latency"],
        "throughput_rps": result["load"]["rounds"][-1]["throughput_rps"],
        "memory_mb": result["load"]["memory"],
    }
    (args.out / "robustness.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    (args.out / "robustness.md").write_text(to_markdown(result))
    (args.out / "load.json").write_text(json.dumps(result["load"], indent=2) + "\n")
    (args.out / "load.md").write_text(load_markdown(result["load"]))
    print(to_markdown(result))
    return 0 if result["suite"]["exit_code"] == 0 and not result["headline"]["server_errors"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
