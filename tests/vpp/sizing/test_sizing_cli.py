"""``vpp size`` end to end on the hand case, and the TEDA year's days from the synthetic history."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import HAND_BATTERY, HAND_ECONOMICS, hand_case_data, hand_series
from typer.testing import CliRunner

from vpp.cli import app
from vpp.sizing.year import make_day, year_plan


def _hand_size_args(tmp_path) -> list[str]:
    """``vpp size`` on the hand case with a 5 MW / 10 MWh battery at the root ("grid") over a hand year."""
    case = tmp_path / "hand.json"
    data = hand_case_data()
    data["assets"].append({"id": "bess", "type": "battery", "power_mw": 5, "energy_mwh": 10, **HAND_BATTERY})
    case.write_text(json.dumps(data))
    series = tmp_path / "year.parquet"
    hand_series(365).to_parquet(series)
    args = ["size", "--case", str(case), "--series", str(series), "--year", "2025", "--typical-days", "12",
            "--no-full-year-check", "--scheduler", "serial"]
    for k, v in HAND_ECONOMICS.items():
        args += ["--economics", f"{k}={v}"]
    return args


def test_vpp_size_writes_tables_json_and_plots(tmp_path) -> None:
    out = tmp_path / "out"
    args = [*_hand_size_args(tmp_path), "--sweep", "power=10,20,energy=10,20,30",
            "--out", str(out), "--summary-json", str(tmp_path / "s.json")]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    for name in ("sweep.csv", "sweep.parquet", "days.csv", "days.parquet", "monthly.csv", "sizing.json", "value_vs_size.png", "monthly_cost.png", "typical_day.png",
                 "npv_vs_size.png", "tornado.png"):
        assert (out / name).stat().st_size > 0, name
    summary = json.loads((out / "sizing.json").read_text())
    assert summary == json.loads((tmp_path / "s.json").read_text())
    assert summary["recommended"]["energy_mwh"] == pytest.approx(20.0, abs=1e-6)
    assert summary["recommended"]["sites"][0]["site"] == "grid"
    sweep = pd.read_parquet(out / "sweep.parquet")
    # the grid's 2 × 3 points, no storage, and the case's own 5 MW / 10 MWh (the plan) for the NPV-against-size curve
    assert len(sweep) == 1 + 2 * 3 + 1 and list(sweep["point"]) == list(range(8))
    assert list(sweep["on_grid"]) == [True] * 7 + [False]
    plan = summary["plan"]
    assert (plan["power_mw"], plan["energy_mwh"]) == (5.0, 10.0)
    assert plan["npv_cny"] == pytest.approx(float(sweep["npv_cny"].iloc[7]), rel=1e-12)
    assert [(c["power_mw"], c["energy_mwh"]) for c in summary["npv_against_size"] if not c["on_grid"]] == [(5.0, 10.0)]
    assert pd.read_csv(out / "sweep.csv")["npv_cny"].to_numpy() == pytest.approx(sweep["npv_cny"].to_numpy(), rel=1e-9)
    monthly = pd.read_csv(out / "monthly.csv")
    # a peak day and a typical day a month stand for the 365 days: January's cost is 31 hand days without storage
    jan = monthly[(monthly["point"] == 0) & (monthly["month"] == "2025-01")]["total_cny"].iloc[0]
    assert jan == pytest.approx(31 * 33_000)
    assert "recommended" in done.output and "20.00 MWh" in done.output
    # the answer's key economics and the storage the case has now, side by side
    for row in ("NPV", "IRR", "payback simple / discounted", "LCOS", "storage in the case now", "the case's own storage",
                "break-even capital cost", "CO2 with storage", "NPV by "):
        assert row in done.output, row
    assert "5.00 MW / 10.00 MWh (the case's batteries)" in done.output
    assert summary["case_storage"]["source"] == "the case's batteries"


def test_a_site_limit_given_on_the_command_line_caps_the_answer_and_is_named(tmp_path) -> None:
    """Unlimited, the hand case's co-optimum is 20 MWh at the root (above); held to 15 MWh it takes all 15."""
    out = tmp_path / "out"
    done = CliRunner().invoke(app, [*_hand_size_args(tmp_path), "--sweep", "power=10,energy=10,20",
                                    "--site-limit", "grid=10,15", "--out", str(out)], env={"COLUMNS": "200"})
    assert done.exit_code == 0, done.output
    summary = json.loads((out / "sizing.json").read_text())
    assert summary["recommended"]["energy_mwh"] == pytest.approx(15.0, abs=1e-6)
    binding = summary["recommended"]["sites_binding"]
    assert [b["site"] for b in binding] == ["grid"]
    assert binding[0]["energy_limit_binds"] == "site_limits.grid.energy_max_mwh: [override] given in the request"
    # the sweep's 10 MW / 20 MWh is simulated but beyond the limit: never the sweep's best, named apart
    sweep = summary["sweep"]
    assert (sweep["best"]["power_mw"], sweep["best"]["energy_mwh"]) == (10.0, 10.0)
    assert (sweep["best_beyond_site_limits"]["power_mw"], sweep["best_beyond_site_limits"]["energy_mwh"]) == (10.0, 20.0)
    assert sweep["points_beyond_site_limits"] == 1
    assert [(c["energy_mwh"], c["within_site_limits"]) for c in summary["npv_against_size"] if c["on_grid"]] == [
        (10.0, True), (20.0, False)]
    table = pd.read_csv(out / "sweep.csv")
    assert table.loc[table["energy_mwh"] == 20, "beyond_limits"].tolist() == ["grid: 20 MWh above its 15 MWh limit"]
    assert "best beyond the site limits" in done.output


def test_teda_days_take_the_synthetic_history_for_load_and_pv() -> None:
    plan = year_plan("teda-east", 2025)
    assert len(plan.days) == 365 and [len(c) for c in plan.chunks][:2] == [31, 28]
    assert plan.provenance["load_pv_from"].startswith("SYNTHETIC TEDA east 2025 history")
    assert "on 365 of 365 days" in plan.provenance["load_pv_from"]
    item = plan.chunks[6][14]  # 15 July
    assert item.date == "2025-07-15"
    day = make_day(item)
    case = day.case
    load = sum(np.asarray(case.series(a.demand_mw)) for a in case.assets if a.type == "load")
    pv = sum(np.asarray(case.series(a.available_mw)) for a in case.assets if a.type == "pv")
    assert load == pytest.approx(item.load_mw, rel=1e-12)
    assert pv == pytest.approx(item.pv_mw, rel=1e-12, abs=1e-12)
    assert case.meta is None  # provenance travels in the plan, not in every day sent to a worker
    assert [a.id for a in case.assets if a.type == "battery"] == ["bess-s110-1", "bess-s110-2", "bess-s35-tiancheng", "bess-s35-haijing"]


def test_a_year_without_history_is_said_beside_the_answer() -> None:
    """TEDA east ships history for 2025 only: a 2026 study says its days take the template's profiles."""
    from pathlib import Path

    from vpp.cli_common import out
    from vpp.sizing_cli import _print

    assert "note" not in year_plan("teda-east", 2025).provenance
    note = year_plan("teda-east", 2026).provenance["note"]
    assert note == ("no load and PV history of 2026 for 'teda-east': every day takes the template's documented profiles "
                    "(clear-sky PV × the climatological clear-sky index, the district load profile)")
    stored = Path(__file__).resolve().parents[3] / "benchmarks/results/sizing/teda-2025-k8/sizing.json"
    summary = json.loads(stored.read_text(encoding="utf-8"))
    summary["assumptions"]["days"]["note"] = note
    summary["case_storage"]["source"] = "the teda-east template's data"
    width = out.width
    out.width = 250
    try:
        with out.capture() as shown:
            _print(summary)
    finally:
        out.width = width
    text = " ".join(shown.get().replace("│", " ").split())
    assert "storage in the case now 26.75 MW / 53.50 MWh (the teda-east template's data)" in text
    assert f"assumed {note}" in text
