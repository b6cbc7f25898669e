"""The suite's figures are counted in one process: asking for them with several is refused, not half-written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_report_asked_of_several_processes_is_refused(tmp_path: Path) -> None:
    report = tmp_path / "figures.json"
    done = subprocess.run([sys.executable, "-m", "pytest", "tests/robustness/test_figures.py", "-q", "-n", "2",
                           "-p", "no:cacheprovider"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "VPP_ROBUSTNESS_REPORT": str(report)})
    assert done.returncode == 4, done.stdout + done.stderr
    assert "ERROR: VPP_ROBUSTNESS_REPORT counts the figures in one process: run the suite with -n 0" in done.stderr
    assert not report.exists()
