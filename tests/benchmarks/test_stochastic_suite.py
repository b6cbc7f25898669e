"""The stochastic suite of ``vpp bench``: its cases, the decomposition arm and the speed-up lines of the report."""

from __future__ import annotations

import pandas as pd
import pytest

from benchmarks.arms import Settings, decomposition
from benchmarks.report import _speedups, targets
from benchmarks.runner import SCENARIO_COUNTS, run_suite, suite
from vpp.case import load_case


def test_the_suite_is_the_teda_day_with_1_to_50_scenarios_at_a_gap_of_1e_3():
    cases, repeats = suite("stochastic")
    assert [len(bc.case.scenarios) for bc in cases] == [*SCENARIO_COUNTS, 50] and SCENARIO_COUNTS == (1, 5, 10, 20, 50)
    assert {bc.axis for bc in cases} == {"scenarios"}
    assert all(bc.settings == Settings(mip_gap=1e-3, time_limit_s=60.0) for bc in cases[:-1])
    # the largest day once more with a limit long enough for the extensive form to finish
    assert cases[-1].name == "teda-east-2026-07-15-50-scenarios/long-limit" and cases[-1].case is cases[-2].case
    assert cases[-1].settings == Settings(mip_gap=1e-3, time_limit_s=900.0)
    assert [bc.repeats for bc in cases] == [None, None, None, 1, 1, 1] and repeats == 3
    assert all(bc.case.meta["scenarios"]["drawn"] == 1000 for bc in cases)


def test_the_decomposition_arm_solves_a_stochastic_case_and_skips_one_it_cannot_split():
    case = load_case({
        "name": "shift", "start": "2026-07-15T00:00:00+08:00", "step_minutes": 60, "steps": 3,
        "grid": {"import_max_mw": 10, "buy_cny_per_mwh": [0, 4, 20]},
        "assets": [{"id": "run", "type": "shiftable_load", "profile_mw": [1]}],
        "scenarios": [{"id": "early", "probability": 0.5, "series": {}},
                      {"id": "late", "probability": 0.5, "series": {"grid.buy_cny_per_mwh": [20, 4, 0]}}],
    })
    r = decomposition.run(case, Settings(mip_gap=1e-9, time_limit_s=30))
    assert r.status == "optimal" and r.objective_cny == pytest.approx(4) and r.mip_gap == pytest.approx(0, abs=1e-9)
    assert "scenario solves" in r.note and r.phases["solve"] > 0
    one = load_case({**case.model_dump(mode="json"), "scenarios": [{"id": "only", "probability": 1, "series": {}}]})
    assert decomposition.supports(one) == "one scenario: nothing to decompose"


def test_decomposition_arms_belong_to_the_stochastic_suite():
    with pytest.raises(ValueError, match="the decomposition arms run in the stochastic suite only"):
        run_suite("quick", ["decomposition"])


def test_the_report_states_the_20_scenario_target_and_the_speed_ups():
    rows = [
        {"case": "teda-east-2026-07-15-20-scenarios", "arm": "product", "status": "feasible", "mip_gap": 0.014,
         "total_s": 61.0, "overhead_s": 1.0, "solve_s": 60.0},
        {"case": "teda-east-2026-07-15-20-scenarios", "arm": "decomposition", "status": "optimal", "mip_gap": 0.0,
         "total_s": 30.5, "overhead_s": 0.0, "solve_s": 30.5},
    ]
    table = pd.DataFrame(rows)
    lines = {name: (measured, met) for name, measured, met in targets(table)}
    assert lines["20-scenario TEDA day within 60 s at a gap of 1e-3 (product)"] == ("feasible, gap 0.014000, 61.0 s",
                                                                                     False)
    assert lines["20-scenario TEDA day within 60 s at a gap of 1e-3 (decomposition)"][1] is True
    assert _speedups(table) == ["20-scenarios decomposition: ×2.00 (61.0 s gap 0.0140 → 30.5 s gap 0.0000)"]
    # with the CPU time of each run (every process that worked on it), its ratio too
    table["cpu_s"] = [59.0, 14.75]
    assert _speedups(table)[0].endswith("; CPU ×4.00 (59.0 → 14.8 s)")


def test_bench_json_holds_every_row_the_targets_and_the_machine(tmp_path):
    import json

    from benchmarks.report import write

    table = pd.DataFrame([{"suite": "stochastic", "case": "teda-east-2026-07-15-20-scenarios", "arm": "decomposition",
                           "axis": "scenarios", "status": "optimal", "objective_cny": 6118549.55, "mip_gap": 4.7e-4,
                           "total_s": 18.4, "overhead_s": 0.0, "solve_s": 17.0, "build_s": 0.0, "handover_s": 0.0,
                           "extract_s": 1.4, "total_min_s": 18.4, "total_max_s": 18.4, "steps": 96, "assets": 28,
                           "scenarios": 20, "cpu_s": 9.4, "load_before": 8.9, "load_after": 8.6, "agrees": True,
                           "note": "scenario addition"}])
    paths = write(table, {}, tmp_path, "Benchmark suite 'stochastic'")
    data = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert data["rows"][0]["cpu_s"] == 9.4 and data["rows"][0]["load_before"] == 8.9
    assert data["machine"]["cores"] >= 1 and len(data["machine"]["load_average_at_end"]) == 3
    assert any(t["target"].startswith("20-scenario TEDA day") and t["met"] for t in data["targets"])
    md = paths["md"].read_text(encoding="utf-8")
    assert "## CPU time and machine load" in md and "| 18.4 | 9.4 | 0.51 | 8.9 | 8.6 |" in md
