"""`python -m benchmarks.dispatch_day`: one day timed phase by phase, either engine, the known optimum."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import dispatch_day


@pytest.mark.parametrize("engine", ["matrix", "pyomo"])
def test_teda_day_timed_with_the_known_optimum(tmp_path: Path, engine: str) -> None:
    record = dispatch_day.main(["--repeats", "1", "--engine", engine, "--out", str(tmp_path)])
    assert record["status"] == "optimal" and record["engine"] == engine
    assert record["objective_cny"] == pytest.approx(6_061_682.43, abs=0.01)  # TEDA east 2026-07-15 (version 2 day, with regulation)
    assert set(record["phases"]) == {*dispatch_day.PHASES, "build_plus_solve", "case_to_written_schedule"}
    assert all(v["median_s"] > 0 for v in record["phases"].values())
    saved = json.loads((tmp_path / "teda-east-day.json").read_text(encoding="utf-8"))
    assert saved["objective_cny"] == record["objective_cny"]
    assert (tmp_path / "teda-east-day.md").read_text(encoding="utf-8").startswith(
        f"# teda-east 2026-07-15: one day-ahead dispatch ({engine} engine)")
    assert (tmp_path / "teda-east-dispatch.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
