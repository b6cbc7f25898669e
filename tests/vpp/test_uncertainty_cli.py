"""``vpp dispatch --scenarios K``, run for real as a subprocess (exit codes: 0 done, 2 bad input)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest


def vpp(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, COLUMNS="200")
    return subprocess.run([sys.executable, "-m", "vpp.cli", *args], capture_output=True, text=True, env=env,
                          timeout=600, check=False)


def test_a_stochastic_teda_day_writes_its_scenarios_their_worth_and_the_fan(tmp_path: Path):
    # with the regulation market (the default): continuous day-ahead offers, decomposed by scenario addition
    r = vpp("dispatch", "--date", "2026-07-15", "--scenarios", "3", "--draws", "60", "--mip-gap", "1e-3",
            "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert "value of the stochastic solution (VSS)" in r.stdout
    assert "scenario decomposition" in r.stdout
    summary = json.loads((tmp_path / "summary.json").read_text())
    u = summary["uncertainty"]
    assert [s["id"] for s in u["scenarios"]] == ["s01", "s02", "s03"]
    p = [s["probability"] for s in u["scenarios"]]
    assert sum(p) == pytest.approx(1)
    # the expected cost is the probability-weighted cost of the scenarios; VSS and EVPI are what they say
    costs = [s["stochastic_plan_cny"] for s in u["scenarios"]]
    assert summary["expected_cost_cny"] == pytest.approx(sum(a * b for a, b in zip(p, costs, strict=True)), rel=1e-9)
    assert u["vss_cny"] == pytest.approx(u["expected_value_plan_objective_cny"] - u["stochastic_objective_cny"])
    assert u["evpi_cny"] == pytest.approx(u["stochastic_expected_cost_cny"] - u["wait_and_see_cost_cny"])
    assert summary["decomposition"]["gap"] <= 1e-3
    assert summary["decomposition"]["method"].startswith("scenario addition")
    # the values of the uncertainty lie in their ranges, and wait-and-see is never above the plan
    for name in ("vss", "evpi"):
        low, high = u[f"{name}_range_cny"]
        assert 0 <= low <= u[f"{name}_cny"] + 1e-6 and u[f"{name}_cny"] <= high + 1e-6
    assert u["wait_and_see_cost_cny"] <= u["stochastic_expected_cost_cny"]
    case = json.loads((tmp_path / "case.json").read_text())
    assert len(case["scenarios"]) == 3 and case["meta"]["scenarios"]["drawn"] == 60
    schedule = pd.read_parquet(tmp_path / "schedule.parquet")
    assert set(schedule["scenario"]) == {"s01", "s02", "s03"}
    assert (tmp_path / "scenarios.png").stat().st_size > 10_000


@pytest.mark.parametrize(("args", "message"), [
    (["--scenarios", "-1"], "Invalid value for --scenarios: expected a whole number of scenarios >= 0, got -1"),
    (["--risk-weight", "1"], "Invalid value for --risk-weight: a risk weight applies to scenarios"),
    (["--scenarios", "3", "--draws", "2"], "Invalid value for --scenarios: 3 scenarios cannot be kept out of 2"),
    (["--scenarios", "3", "--risk-beta", "1"], r"Invalid value for --risk-beta: expected a number in [0, 1), got 1"),
    (["--scenarios", "3", "--stochastic-method", "magic"],
     "Invalid value for --stochastic-method: expected one of auto, extensive, decomposition, got 'magic'"),
    (["--scenarios", "3", "--workers", "0"], "Invalid value for --workers: expected a positive number, got 0"),
])
def test_bad_scenario_options_are_usage_errors_naming_the_option(args: list[str], message: str, tmp_path: Path):
    r = vpp("dispatch", "--date", "2026-07-15", "--out", str(tmp_path), *args)
    assert r.returncode == 2
    assert message in " ".join(r.stderr.replace("│", " ").split())


def test_scenarios_need_a_case_with_forecasts(tmp_path: Path):
    case = {"name": "file", "start": "2026-07-15T00:00:00+08:00", "step_minutes": 60, "steps": 2,
            "grid": {"import_max_mw": 5, "buy_cny_per_mwh": 100}, "assets": [{"id": "l", "type": "load", "demand_mw": 1}]}
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case))
    r = vpp("dispatch", "--case", str(path), "--scenarios", "2", "--out", str(tmp_path / "out"))
    assert r.returncode == 2
    assert "making scenarios from the forecasts" in r.stderr
    assert "need a built-in case (e.g. teda-east) or a case file materialised from one" in r.stderr


def test_a_value_the_gaps_leave_wide_is_printed_with_its_range():
    from vpp.uncertainty_cli import worth
    from vpp.uncertainty_plot import _worth

    assert worth(2520.4, [2320.0, 2520.4], True) == "2,520 CNY"
    assert worth(26.0, [0.0, 26.0], False) == "26 CNY (between 0 and 26 within the solver gaps)"
    assert _worth("EVPI", 2600.0, [0.0, 2600.0], False) == "EVPI 2.6 k CNY (0.0–2.6 within the gaps)"
    assert _worth("VSS", None, None, False) == "VSS unbounded"
