"""The ``vpp`` command, run for real as a subprocess on small case files.

Exit codes (vpp/cli.py): 0 done, 1 no schedule, 2 bad input.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from vpp.case import load_case, read_case, validate_case

TINY_STEPS = 4

# Hand-derived optimum of TINY (Δ = 1 h, buy = 100/200/300/400 CNY/MWh):
#   load 2 MW every hour                         2 × (100+200+300+400) = 2000
#   PV 1 MW in hour 1 (no curtailment cost) saves                  − 200
#   lossless 1 MW / 2 MWh battery, soc 0.5 → ≥ 0.5 at the end: the level
#   starts at 1 MWh with 1 MWh of room, so the best is one MWh bought at 100
#   (hour 0) and sold back into the load at 400 (hour 3):          − 300
TINY_OBJECTIVE = 1500.0
TINY: dict[str, Any] = {
    "name": "tiny",
    "start": "2026-07-15T00:00:00+08:00",
    "step_minutes": 60,
    "steps": TINY_STEPS,
    "network": {"root": "grid", "nodes": [{"id": "s1", "capacity_mw": 10}]},
    "grid": {"import_max_mw": 100, "buy_cny_per_mwh": [100, 200, 300, 400]},
    "assets": [
        {"id": "load", "type": "load", "node": "s1", "demand_mw": 2},
        {"id": "pv", "type": "pv", "node": "s1", "available_mw": [0, 1, 0, 0]},
        {
            "id": "bat",
            "type": "battery",
            "power_mw": 1,
            "energy_mwh": 2,
            "charge_efficiency": 1,
            "discharge_efficiency": 1,
            "soc_min": 0,
            "soc_max": 1,
        },
    ],
}

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def vpp(
    *args: str, cwd: Path | None = None, columns: str | None = "1000", timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m vpp.cli ARGS`` (wide terminal unless ``columns`` is None)."""
    env = dict(os.environ)
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    if columns is not None:
        env["COLUMNS"] = columns
    return subprocess.run(
        [sys.executable, "-m", "vpp.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


# ---------------------------------------------------------------------------
# The command itself
# ---------------------------------------------------------------------------


def test_module_is_runnable_with_help() -> None:
    res = vpp("--help")
    assert res.returncode == 0, res.stderr
    assert "dispatch" in res.stdout and "case" in res.stdout


def test_console_script_next_to_the_interpreter_works() -> None:
    script = Path(sys.executable).parent / "vpp"
    assert script.exists(), f"no vpp script at {script}"
    res = subprocess.run(
        [str(script), "case", "--help"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    assert "validate" in res.stdout and "materialize" in res.stdout


# ---------------------------------------------------------------------------
# vpp case validate
# ---------------------------------------------------------------------------


def test_validate_accepts_a_valid_file(tmp_path: Path) -> None:
    res = vpp("case", "validate", str(write_json(tmp_path / "tiny.json", TINY)))
    assert res.returncode == 0, res.stderr
    assert "valid" in res.stdout
    assert "tiny, 4 steps of 60 min from 2026-07-15T00:00:00+08:00, 1 node, 3 assets" in res.stdout
    assert res.stderr == ""


def test_validate_accepts_a_valid_yaml_file(tmp_path: Path) -> None:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY, sort_keys=False), encoding="utf-8")
    res = vpp("case", "validate", str(path))
    assert res.returncode == 0, res.stderr
    assert "valid" in res.stdout


def broken_tiny() -> dict[str, Any]:
    data = json.loads(json.dumps(TINY))
    data["grid"]["buy_cny_per_mwh"] = [100, 200]  # wrong length
    data["assets"][2]["energy_mwh"] = -2  # negative
    data["assets"][1]["id"] = "load"  # duplicate id
    data["assets"][0]["node"] = "s9"  # unknown node
    data["start"] = "2026-07-15T00:00:00"  # no time zone
    data["assets"].append({"id": "wind", "type": "wind"})  # unknown type
    return data


def test_validate_lists_every_problem_on_stderr_and_exits_2(tmp_path: Path) -> None:
    res = vpp("case", "validate", str(write_json(tmp_path / "broken.json", broken_tiny())))
    assert res.returncode == 2
    assert "valid" not in res.stdout
    _, problems = validate_case(broken_tiny())
    assert {p.path for p in problems} == {
        "start",
        "grid.buy_cny_per_mwh",
        "assets[2].energy_mwh",
        "assets[1].id",
        "assets[0].node",
        "assets[3].type",
    }
    assert f"error {len(problems)} problem(s) while reading broken.json:" in res.stderr
    for p in problems:
        assert f"  - {p.path}: {p.message}" in res.stderr, p


def test_validate_prints_one_line_per_problem_when_piped(tmp_path: Path) -> None:
    """Piped output (CI logs, ``2> file``) keeps one line per problem, without wrapping."""
    res = vpp(
        "case", "validate", str(write_json(tmp_path / "broken.json", broken_tiny())), columns=None
    )
    assert res.returncode == 2
    lines = res.stderr.splitlines()
    _, problems = validate_case(broken_tiny())
    for p in problems:
        assert f"  - {p.path}: {p.message}" in lines, (str(p), lines)


def test_validate_reports_invalid_json_with_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"name": "x",\n "steps": }', encoding="utf-8")
    res = vpp("case", "validate", str(path))
    assert res.returncode == 2
    assert "while parsing bad.json" in res.stderr
    assert "not valid JSON at line 2, column 11" in res.stderr


def test_validate_reports_a_missing_file(tmp_path: Path) -> None:
    res = vpp("case", "validate", str(tmp_path / "missing.yaml"))
    assert res.returncode == 2
    assert "while opening the case file" in res.stderr
    assert "cannot read case file" in res.stderr and "missing.yaml" in res.stderr


def test_validate_reports_a_non_mapping_document(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- 1\n- 2\n", encoding="utf-8")
    res = vpp("case", "validate", str(path))
    assert res.returncode == 2
    assert "expected a JSON/YAML object (mapping) for the case, got list" in res.stderr


# ---------------------------------------------------------------------------
# vpp dispatch
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_dispatch(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess[str], Path, Path, Path]:
    base = tmp_path_factory.mktemp("dispatch")
    case_path = write_json(base / "tiny.json", TINY)
    out_dir = base / "out"
    summary_path = base / "extra" / "summary.json"
    res = vpp(
        "dispatch",
        "--case",
        str(case_path),
        "--out",
        str(out_dir),
        "--summary-json",
        str(summary_path),
        "--mip-gap",
        "1e-6",
        "--time-limit",
        "30",
    )
    return res, case_path, out_dir, summary_path


def test_dispatch_writes_every_output_file(tiny_dispatch) -> None:
    res, _, out_dir, summary_path = tiny_dispatch
    assert res.returncode == 0, res.stderr
    for name in (
        "schedule.csv",
        "schedule.parquet",
        "curve.csv",
        "summary.json",
        "case.json",
        "dispatch.png",
    ):
        f = out_dir / name
        assert f.is_file(), name
        assert f.stat().st_size > 0, name
        assert name in res.stdout  # "wrote …" lists every file
    assert summary_path.is_file()
    png = (out_dir / "dispatch.png").read_bytes()
    assert png[:8] == PNG_MAGIC and len(png) > 1000


def test_dispatch_curve_has_one_row_per_step(tiny_dispatch) -> None:
    res, _, out_dir, _ = tiny_dispatch
    assert res.returncode == 0, res.stderr
    curve = pd.read_csv(out_dir / "curve.csv")
    assert len(curve) == TINY_STEPS
    assert list(curve["timestamp"]) == [f"2026-07-15T0{h}:00:00+08:00" for h in range(TINY_STEPS)]
    assert list(curve["grid.import_mw"]) == pytest.approx([3, 1, 2, 1], abs=1e-6)
    schedule = pd.read_parquet(out_dir / "schedule.parquet")
    assert set(schedule["step"]) == set(range(TINY_STEPS))
    assert len(pd.read_csv(out_dir / "schedule.csv")) == len(schedule)


def test_dispatch_summary_has_the_solver_facts_and_the_hand_derived_objective(
    tiny_dispatch,
) -> None:
    res, _, out_dir, summary_path = tiny_dispatch
    assert res.returncode == 0, res.stderr
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    assert json.loads((out_dir / "summary.json").read_text(encoding="utf-8")) == summary
    for key in ("status", "objective_cny", "mip_gap", "build_seconds", "solve_seconds"):
        assert key in summary, key
    assert summary["status"] == "optimal"
    assert summary["objective_cny"] == pytest.approx(TINY_OBJECTIVE, abs=1e-3)
    assert 0 <= summary["mip_gap"] <= 1e-6
    assert summary["build_seconds"] >= 0 and summary["solve_seconds"] >= 0
    assert summary["steps"] == TINY_STEPS and summary["start"] == "2026-07-15T00:00:00+08:00"


def test_dispatch_writes_the_case_it_solved(tiny_dispatch) -> None:
    res, case_path, out_dir, _ = tiny_dispatch
    assert res.returncode == 0, res.stderr
    assert read_case(out_dir / "case.json") == read_case(case_path)
    assert read_case(out_dir / "case.json") == load_case(TINY)


def test_dispatch_rejects_a_bad_mip_gap(tmp_path: Path) -> None:
    case_path = write_json(tmp_path / "tiny.json", TINY)
    res = vpp(
        "dispatch", "--case", str(case_path), "--out", str(tmp_path / "out"), "--mip-gap", "2"
    )
    assert res.returncode != 0
    assert "--mip-gap" in res.stderr
    assert "expected a number in [0, 1), got 2" in res.stderr
    assert not (tmp_path / "out").exists()


def test_dispatch_with_the_pyomo_engine_gives_the_same_hand_derived_objective(tmp_path: Path) -> None:
    case_path = write_json(tmp_path / "tiny.json", TINY)
    res = vpp("dispatch", "--case", str(case_path), "--out", str(tmp_path / "out"), "--mip-gap", "1e-6",
              "--no-chart", "--engine", "pyomo")
    assert res.returncode == 0, res.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["objective_cny"] == pytest.approx(TINY_OBJECTIVE, abs=1e-3)


def test_dispatch_rejects_an_unknown_engine(tmp_path: Path) -> None:
    case_path = write_json(tmp_path / "tiny.json", TINY)
    res = vpp("dispatch", "--case", str(case_path), "--out", str(tmp_path / "out"), "--engine", "gurobi")
    assert res.returncode != 0
    assert "--engine" in res.stderr
    assert "expected 'matrix' or 'pyomo', got 'gurobi'" in res.stderr
    assert not (tmp_path / "out").exists()


def test_dispatch_rejects_a_date_with_a_case_file(tmp_path: Path) -> None:
    case_path = write_json(tmp_path / "tiny.json", TINY)
    res = vpp(
        "dispatch", "--case", str(case_path), "--date", "2026-07-15", "--out", str(tmp_path / "out")
    )
    assert res.returncode == 2, res.stderr
    assert "date: a date applies to built-in cases only" in res.stderr
    assert not (tmp_path / "out").exists()


def test_dispatch_takes_the_months_peak_and_an_added_event_for_a_built_in_day(tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = vpp("dispatch", "--case", "teda-east", "--date", "2026-07-14", "--peak-to-date", "600",
              "--dr-event", "peak_shaving,20:00-22:00,8", "--no-chart", "--out", str(out), timeout=180)
    assert res.returncode == 0, res.stderr
    case = read_case(out / "case.json")
    assert case.grid.peak_to_date_mw == 600.0
    (event,) = case.demand_response
    assert (event.id, event.start_step, event.end_step, event.reduction_mw) == ("dr-added-1", 80, 88, 8.0)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["cost_cny"].get("demand", 0.0) == pytest.approx(0.0, abs=1e-6)  # 600 MW is never reached
    assert "peak so far this month: 600.0 MW (given)" in res.stdout
    assert "demand response: dr-added-1, peak shaving 20:00-22:00, 8 MW at 1500 CNY/MWh" in res.stdout
    assert "emission factor: 0.6361 tCO2/MWh" in res.stdout


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--dr-event", "peak_shaving,20:00,8", "expected a window as HH:MM-HH:MM, got '20:00'"),
        ("--dr-event", "peak-shaving,20:00-22:00,8", "kind: expected one of peak_shaving, valley_filling"),
        ("--peak-to-date", "-5", "expected the month's peak so far in MW, >= 0, got -5"),
    ],
)
def test_dispatch_rejects_a_bad_peak_or_event(tmp_path: Path, option: str, value: str, message: str) -> None:
    res = vpp("dispatch", "--case", "teda-east", "--date", "2026-07-14", option, value, "--out", str(tmp_path / "out"))
    assert res.returncode == 2, res.stderr
    assert option in res.stderr and message in res.stderr
    assert not (tmp_path / "out").exists()


def test_dispatch_rejects_an_event_outside_the_tianjin_range(tmp_path: Path) -> None:
    res = vpp("dispatch", "--case", "teda-east", "--date", "2026-07-14", "--dr-event", "valley_filling,12:00-13:00,1",
              "--out", str(tmp_path / "out"))
    assert res.returncode == 2, res.stderr
    assert ("dr_events[0]: the event's 1 MWh (1 MW over 12:00-13:00) is outside the Tianjin DR range for "
            "aggregators [6, 1200] MWh") in res.stderr


def test_dispatch_rejects_a_peak_so_far_with_a_case_file(tmp_path: Path) -> None:
    case_path = write_json(tmp_path / "tiny.json", TINY)
    res = vpp("dispatch", "--case", str(case_path), "--peak-to-date", "10", "--out", str(tmp_path / "out"))
    assert res.returncode == 2, res.stderr
    assert ("peak_to_date_mw: the month's peak so far and added demand-response events apply to built-in cases "
            "only; a case file carries its own grid.peak_to_date_mw and demand_response") in res.stderr
    assert not (tmp_path / "out").exists()


def test_dispatch_rejects_an_unknown_case_name(tmp_path: Path) -> None:
    res = vpp("dispatch", "--case", "no-such-case", "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    assert "'no-such-case' is neither a built-in case" in res.stderr
    assert "nor an existing file" in res.stderr


def test_dispatch_rejects_an_invalid_case_file_with_every_problem(tmp_path: Path) -> None:
    case_path = write_json(tmp_path / "broken.json", broken_tiny())
    res = vpp("dispatch", "--case", str(case_path), "--out", str(tmp_path / "out"))
    assert res.returncode == 2
    _, problems = validate_case(broken_tiny())
    for p in problems:
        assert f"  - {p.path}: {p.message}" in res.stderr, p


def test_dispatch_exits_1_when_there_is_no_schedule(tmp_path: Path) -> None:
    # A mandatory green contract must take at least 10 MW every hour, but green
    # energy arrives through the grid connection, limited to 5 MW: infeasible.
    data = json.loads(json.dumps(TINY))
    data["grid"]["import_max_mw"] = 5
    data["assets"].append(
        {
            "id": "gc",
            "type": "green_contract",
            "available_mw": 10,
            "price_cny_per_mwh": 1,
            "min_take": 1,
            "optional": False,
        }
    )
    res = vpp(
        "dispatch",
        "--case",
        str(write_json(tmp_path / "inf.json", data)),
        "--out",
        str(tmp_path / "out"),
        "--time-limit",
        "30",
    )
    assert res.returncode == 1, (res.stdout, res.stderr)
    assert "no schedule" in res.stderr and "infeasible" in res.stderr


# ---------------------------------------------------------------------------
# vpp case materialize (the built-in case teda-east)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_materialize_teda_east_writes_a_valid_case(tmp_path: Path, suffix: str) -> None:
    """Needs ``vpp.cases.TEMPLATES`` with ``teda-east``."""
    out = tmp_path / "sub" / f"case{suffix}"
    res = vpp("case", "materialize", "--case", "teda-east", "--date", "2026-07-15", "-o", str(out))
    assert res.returncode == 0, res.stderr
    assert out.is_file()
    assert "96 steps from 2026-07-15T00:00:00+08:00" in res.stdout
    check = vpp("case", "validate", str(out))
    assert check.returncode == 0, check.stderr
    assert "valid" in check.stdout
    case = read_case(out)
    assert case.steps == 96 and case.step_minutes == 15
    assert case.start.isoformat() == "2026-07-15T00:00:00+08:00"
    assert case.timestamps[-1].isoformat() == "2026-07-15T23:45:00+08:00"


def test_materialize_json_and_yaml_give_the_same_case(tmp_path: Path) -> None:
    for suffix in (".json", ".yaml"):
        res = vpp(
            "case",
            "materialize",
            "--case",
            "teda-east",
            "--date",
            "2026-07-15",
            "-o",
            str(tmp_path / f"c{suffix}"),
        )
        assert res.returncode == 0, res.stderr
    raw = json.loads((tmp_path / "c.json").read_text(encoding="utf-8"))
    assert raw["start"] == "2026-07-15T00:00:00+08:00" and raw["steps"] == 96
    assert read_case(tmp_path / "c.yaml") == read_case(tmp_path / "c.json")


def test_materialize_takes_the_months_peak_and_an_added_event(tmp_path: Path) -> None:
    out = tmp_path / "c.json"
    res = vpp("case", "materialize", "--case", "teda-east", "--date", "2026-07-14", "--peak-to-date", "455",
              "--dr-event", "valley_filling,11:00-14:00,6", "-o", str(out))
    assert res.returncode == 0, res.stderr
    case = read_case(out)
    assert case.grid.peak_to_date_mw == 455 and [e.id for e in case.demand_response] == ["dr-added-1"]
    bad = vpp("case", "materialize", "--case", "teda-east", "--dr-event", "valley_filling", "-o", str(tmp_path / "x.json"))
    assert bad.returncode == 2 and "--dr-event" in bad.stderr and not (tmp_path / "x.json").exists()


def test_materialize_rejects_an_unknown_case_name(tmp_path: Path) -> None:
    res = vpp("case", "materialize", "--case", "no-such-case", "-o", str(tmp_path / "c.json"))
    assert res.returncode == 2, res.stderr
    assert "unknown template 'no-such-case': expected one of ['teda-east']" in res.stderr
    assert "teda-east" in res.stderr
    assert not (tmp_path / "c.json").exists()


def test_materialize_rejects_a_malformed_date(tmp_path: Path) -> None:
    res = vpp(
        "case",
        "materialize",
        "--case",
        "teda-east",
        "--date",
        "15/07/2026",
        "-o",
        str(tmp_path / "c.json"),
    )
    assert res.returncode == 2
    assert "expected a date as YYYY-MM-DD, got '15/07/2026'" in res.stderr


# ---------------------------------------------------------------------------
# vpp case lp-file: the model for other solvers
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".lp", ".mps"])
def test_lp_file_is_the_model_another_solver_solves_to_the_hand_optimum(tmp_path: Path, suffix: str) -> None:
    import highspy

    case_path = write_json(tmp_path / "tiny.json", TINY)
    target = tmp_path / f"tiny{suffix}"
    res = vpp("case", "lp-file", "--case", str(case_path), "-o", str(target))
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith(f"wrote {target}: ")
    if suffix == ".lp":
        text = target.read_text(encoding="utf-8")
        assert "asset(bat)_soc_balance(3)" in text and "node_balance(s1_3)" in text
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.readModel(str(target))
    h.run()
    assert h.getInfo().objective_function_value == pytest.approx(TINY_OBJECTIVE, rel=1e-9)


def test_lp_file_refuses_an_unknown_format(tmp_path: Path) -> None:
    res = vpp("case", "lp-file", "--case", str(write_json(tmp_path / "tiny.json", TINY)), "-o", str(tmp_path / "m.txt"))
    assert res.returncode == 2
    assert "expected a file ending .lp or .mps, got 'm.txt'" in res.stderr
