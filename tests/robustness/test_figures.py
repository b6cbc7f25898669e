"""The suite's figures are counted in one process: asking for them with several is refused, not half-written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def test_a_report_asked_of_several_processes_is_refused(tmp_path: Path) -> None:
    report = tmp_path / "figures.json"
    done = subprocess.run([sys.executable, "-m", "pytest", "tests/robustness/test_figures.py", "-q", "-n", "2",
                           "-p", "no:cacheprovider"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "VPP_ROBUSTNESS_REPORT": str(report)})
    assert done.returncode == 4, done.stdout + done.stderr
    assert "ERROR: VPP_ROBUSTNESS_REPORT counts the figures in one process: run the suite with -n 0" in done.stderr
    assert not report.exists()


def test_the_several_server_scenarios_are_summed_and_tabled(monkeypatch: Any) -> None:
    from benchmarks.robustness import servers_markdown
    from tests.robustness import figures

    monkeypatch.setattr(figures, "FIGURES", {"requests": {}, "faults": {}, "load": {}})
    assert servers_markdown(figures.summary()) == ("not measured: no PostgreSQL server (set VPP_TEST_DATABASE_URL, "
                                                   "or install PostgreSQL: apt-get install postgresql)")
    figures.fault("worker_killed", survived=True, jobs=2, jobs_lost=0, outcome={"done": 2})
    figures.fault("two_servers", survived=True, jobs=48, acknowledged=47, done_once=48, jobs_lost=0, run_twice=0,
                  taken_over=2)
    figures.fault("hung", survived=True, jobs=1, acknowledged=1, done_once=1, jobs_lost=0, run_twice=0, taken_over=1)
    out = figures.summary()
    assert out["several_servers"] == {"scenarios": ["hung", "two_servers"], "jobs": 49, "acknowledged": 48,
                                      "done_once": 49, "jobs_lost": 0, "run_twice": 0, "taken_over": 3}
    assert (out["faults_survived"], out["faults_tried"], out["jobs_lost"]) == (3, 3, 0)
    table = servers_markdown(out).splitlines()
    assert table[2:] == ["| hung | 1 | 1 | 1 | 0 | 0 | 1 |", "| two servers | 48 | 47 | 48 | 0 | 0 | 2 |",
                         "| **all** | **49** | **48** | **49** | **0** | **0** | **3** |"]
