"""Frequency regulation in the product: the TEDA market data, the bid, its revenue, and what it gives up.

The hand cases use Δ = 1 h, prices in CNY/MWh, powers in MW; each optimum is derived in the comments.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
import pytest
from test_cli import vpp, write_json

from models import SolveOptions
from vpp import dispatch
from vpp.case import Case, load_case
from vpp.cases import materialize, teda_east
from vpp.dispatch import solve_day
from vpp.errors import CaseError
from vpp.plot import dispatch_figure
from vpp.regulation import bid_table, write_bid
from vpp.results import write_outputs

LABEL = re.compile(r"^\[(pub|assumed)[\],]")


@pytest.fixture(scope="module")
def july() -> Case:
    return materialize("teda-east", "2026-07-15")


# ---------------------------------------------------------------------------
# The TEDA market data (vpp/cases/teda_east.yaml, section `regulation`)
# ---------------------------------------------------------------------------


def test_teda_regulation_block_holds_the_north_china_market(july: Case) -> None:
    reg = july.regulation
    assert reg is not None
    assert reg.capacity_price_cny_per_mw_h == 0  # 京津唐 pays on mileage only
    assert reg.mileage_price_cny_per_mw == 6  # the middle of the published 0–12 CNY/MW offer range
    assert reg.mileage_mw_per_mw_h == 3
    assert reg.deployment_fraction == 0.1
    assert reg.duration_h == 0.25
    assert reg.block_steps == 4  # one-hour blocks of 15-minute steps
    assert reg.min_offer_mw == 5
    batteries = [a for a in july.assets if a.type == "battery"]
    assert len(batteries) == 4
    assert all(b.regulation and b.regulation_performance == 2.0 for b in batteries)
    # hourly steps: a block is one step
    assert materialize("teda-east", "2026-07-15", step_minutes=60).regulation.block_steps == 1


def test_each_regulation_number_is_labelled_published_or_assumed(july: Case) -> None:
    sources = july.meta["sources"]
    keys = sorted(k for k in sources if k.startswith("regulation."))
    assert keys == [
        "regulation.block_hours", "regulation.capacity_price_cny_per_mw_h", "regulation.deployment_fraction",
        "regulation.duration_h", "regulation.mileage_mw_per_mw_h", "regulation.mileage_offer_range_cny_per_mw",
        "regulation.mileage_price_cny_per_mw", "regulation.min_offer_mw", "regulation.performance_index",
    ]
    for key in keys:
        assert LABEL.match(sources[key]["source"]), (key, sources[key])
    published = {k for k in keys if sources[k]["source"].startswith("[pub]")}
    assert published == {"regulation.capacity_price_cny_per_mw_h", "regulation.mileage_offer_range_cny_per_mw"}
    assert sources["regulation.mileage_offer_range_cny_per_mw"]["value"] == [0, 12]
    assert "京津唐" in sources["regulation.mileage_offer_range_cny_per_mw"]["source"]
    assert sources["regulation.min_offer_mw"]["value"] == 5
    assert july.meta["derived"]["regulation.block_steps"]["value"] == 4
    for b in (a for a in july.assets if a.type == "battery"):
        assert b.meta["sources"]["regulation_performance"].startswith("[assumed]")
        assert b.meta["sources"]["regulation"].startswith("[assumed]")


def _materialize_with(monkeypatch: pytest.MonkeyPatch, change: Any) -> Case:
    raw = teda_east.load_template_data()
    data = copy.deepcopy(raw)
    change(data["regulation"])
    monkeypatch.setattr(teda_east, "load_template_data", lambda: copy.deepcopy(data))
    return teda_east.materialize("2026-07-15")


def test_a_mileage_price_outside_the_published_range_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(CaseError) as err:
        _materialize_with(monkeypatch, lambda r: r["mileage_price_cny_per_mw"].update(value=13))
    [p] = err.value.problems
    assert p.path == "regulation.mileage_price_cny_per_mw"
    assert p.message == "expected a price within the 京津唐 offer range [0, 12] CNY/MW, got 13"


def test_a_regulation_site_without_a_battery_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(CaseError) as err:
        _materialize_with(monkeypatch, lambda r: r.update(sites=["s110-1", "s110-9"]))
    [p] = err.value.problems
    assert p.path == "regulation.sites"
    assert p.message.startswith("no battery at ['s110-9']: expected some of ['s110-1', 's110-2'")


def test_only_the_listed_sites_regulate(monkeypatch: pytest.MonkeyPatch) -> None:
    c = _materialize_with(monkeypatch, lambda r: r.update(sites=["s35-haijing"]))
    assert {a.id for a in c.assets if a.type == "battery" and a.regulation} == {"bess-s35-haijing"}


# ---------------------------------------------------------------------------
# The bid, its revenue, and the day without regulation (hand cases, Δ = 1 h)
# ---------------------------------------------------------------------------

START = "2026-07-15T00:00:00+08:00"
OPTS = SolveOptions(mip_gap=1e-9)


def hand(steps: int, assets: list[dict[str, Any]], buy: Any, regulation: dict[str, Any]) -> Case:
    return load_case({"name": "hand", "start": START, "step_minutes": 60, "steps": steps,
                      "grid": {"import_max_mw": 10.0, "buy_cny_per_mwh": buy}, "assets": assets,
                      "regulation": regulation})


def battery(bid: str, power_mw: float, energy_mwh: float, **kw: Any) -> dict[str, Any]:
    return {"id": bid, "type": "battery", "power_mw": power_mw, "energy_mwh": energy_mwh, "charge_efficiency": 1,
            "discharge_efficiency": 1, "regulation": True, **kw}


def bid_case() -> Case:
    # Two lossless batteries at 0.5 of 4 MWh (soc 0.1–0.9, τ = 0.25 h: energy allows 6.4 MW, far above power):
    # a offers up to 1 MW (K = 1), b up to 2 MW (K = 0.5). Blocks of 2 steps: [0, 2), [2, 4), [4, 5) (shorter).
    # Load [5, 5, 9, 9, 5] with import_max 10 and no export: net + Rg ≤ 10. In block 1 the load is 9, so with
    # discharge d (a: r ≤ 1 − d_a, b: r ≤ 2 − d_b) Rg ≤ min(1 + d, 3 − d) ≤ 2 < min_offer 2.5: not offered.
    # Blocks 0 and 2: Rg ≤ 3 (power), offered at 3 MW since every price there is positive.
    # Revenue Δ·Σ_b r_b·(π_c + π_m·μ·K_b), μ = 1:
    #   block 0: capacity 3·(10 + 20) = 90, mileage (1·1 + 2·0.5)·(2 + 4) = 12;
    #   block 2: capacity 3·8 = 24, mileage 0.  Total: capacity 114, mileage 12.
    # Energy at a flat 100: (5 + 5 + 9 + 9 + 5)·100 = 3300 (lossless batteries end where they start): 3174.
    return hand(5, [{"id": "load", "type": "load", "demand_mw": [5, 5, 9, 9, 5]},
                    battery("a", 1, 4, regulation_performance=1.0), battery("b", 2, 4, regulation_performance=0.5)],
                100.0, {"capacity_price_cny_per_mw_h": [10, 20, 5, 5, 8], "mileage_price_cny_per_mw": [2, 4, 1, 1, 0],
                        "mileage_mw_per_mw_h": 1, "block_steps": 2, "min_offer_mw": 2.5})


def test_the_bid_per_block_and_its_revenue_by_hand() -> None:
    result = solve_day(bid_case(), OPTS)
    assert result.objective_cny == pytest.approx(3174, abs=1e-6)
    r = result.summary["regulation"]
    table = bid_table(r)
    assert list(table.columns) == ["block", "start", "end", "a_mw", "b_mw", "total_mw", "offered",
                                   "capacity_price_cny_per_mw_h", "mileage_price_cny_per_mw",
                                   "capacity_revenue_cny", "mileage_revenue_cny"]
    assert table["start"].tolist() == [f"2026-07-15T0{h}:00:00+08:00" for h in (0, 2, 4)]
    assert table["end"].tolist() == [f"2026-07-15T0{h}:00:00+08:00" for h in (2, 4, 5)]
    expected = [[1, 2, 3, 1, 15, 3, 90, 12], [0, 0, 0, 0, 5, 1, 0, 0], [1, 2, 3, 1, 8, 0, 24, 0]]
    got = table[["a_mw", "b_mw", "total_mw", "offered", "capacity_price_cny_per_mw_h", "mileage_price_cny_per_mw",
                 "capacity_revenue_cny", "mileage_revenue_cny"]].to_numpy().tolist()
    assert got == [pytest.approx(row, abs=1e-6) for row in expected]
    assert r["revenue_cny"] == pytest.approx({"capacity": 114, "mileage": 12, "total": 126}, abs=1e-6)
    # the same revenue as the objective's terms (negative: revenue)
    cost = result.summary["cost_cny"]
    assert (cost["regulation_capacity"], cost["regulation_mileage"]) == pytest.approx((-114, -12), abs=1e-6)
    assert r["blocks_offered"] == 2 and r["block_minutes"] == 120
    assert r["max_offer_mw"] == pytest.approx(3) and r["offer_mw_h"] == pytest.approx(9)
    a, b = r["batteries"]
    assert (a["id"], a["max_offer_mw"], a["offer_mw_h"], a["capacity_revenue_cny"], a["mileage_revenue_cny"]) == (
        "a", pytest.approx(1), pytest.approx(3), pytest.approx(38), pytest.approx(6))
    assert (b["id"], b["max_offer_mw"], b["offer_mw_h"], b["capacity_revenue_cny"], b["mileage_revenue_cny"]) == (
        "b", pytest.approx(2), pytest.approx(6), pytest.approx(76), pytest.approx(6))
    assert r["expected_loss_mwh"] == 0  # lossless batteries lose nothing following the signal


def arbitrage_case() -> Case:
    # One lossless 1 MW / 2 MWh battery at 1 MWh (soc 0.2–1.8 MWh, ends ≥ 1), load 2, buy [100, 300], τ = 0.25 h,
    # capacity price 50 CNY/MW·h, one block per step. Without regulation it shifts x = 0.8 MWh (up to 1.8):
    # 2·100 + 2·300 − 200·0.8 = 640. With it, charging x at t0 and discharging x at t1 leaves in both steps
    # r ≤ 1 − x (power) and r ≤ (1.8 − 1 − x)/0.25 = 3.2 − 4x (energy, at the end of t0 and the start of t1).
    # cost = 800 − 200x − 2·50·r: below x = 11/15 (where the two meet) it falls with x (slope −200 + 100),
    # above it rises (−200 + 400): x = 11/15, r = 4/15. cost = 800 − 2200/15 − 400/15 = 1880/3 ≈ 626.67.
    # Net value 640 − 1880/3 = 40/3; revenue 2·50·4/15 = 80/3; the margin given up 80/3 − 40/3 = 40/3
    # (the arbitrage of 160 shrinks to 200·11/15 = 440/3).
    return hand(2, [{"id": "load", "type": "load", "demand_mw": 2}, battery("bat", 1, 2)], [100, 300],
                {"capacity_price_cny_per_mw_h": 50})


def test_with_and_without_regulation_both_optima_by_hand() -> None:
    result = solve_day(arbitrage_case(), OPTS)
    assert result.objective_cny == pytest.approx(1880 / 3, abs=1e-6)
    r = result.summary["regulation"]
    assert [blk["total_mw"] for blk in r["blocks"]] == pytest.approx([4 / 15, 4 / 15], abs=1e-6)
    c = r["comparison"]
    assert c["with_regulation"]["objective_cny"] == pytest.approx(1880 / 3, abs=1e-6)
    assert c["without_regulation"]["objective_cny"] == pytest.approx(640, abs=1e-6)
    assert c["without_regulation"]["status"] == "optimal"
    assert c["net_value_cny"] == pytest.approx(40 / 3, abs=1e-6)
    assert c["revenue_cny"] == pytest.approx(80 / 3, abs=1e-6)
    assert c["energy_margin_given_up_cny"] == pytest.approx(40 / 3, abs=1e-6)
    # the battery moves 11/15 MWh with regulation, 0.8 without
    assert c["with_regulation"]["battery_discharge_mwh"] == pytest.approx(11 / 15, abs=1e-6)
    assert c["without_regulation"]["battery_discharge_mwh"] == pytest.approx(0.8, abs=1e-6)
    # regulation off: the market is left out, the day is the one without it
    off = solve_day(arbitrage_case(), OPTS, regulation=False)
    assert off.objective_cny == pytest.approx(640, abs=1e-6)
    assert off.case.regulation is None and "regulation" not in off.summary


def test_a_day_without_a_regulating_battery_has_no_regulation_section() -> None:
    data = arbitrage_case().model_dump(mode="json")
    data["assets"][1]["regulation"] = False
    result = solve_day(load_case(data), OPTS)
    assert "regulation" not in result.summary and result.objective_cny == pytest.approx(640, abs=1e-6)


def test_no_schedule_without_regulation_leaves_the_comparison_out_and_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    # the second solve (the market left out) gets a time limit HiGHS cannot meet: the day keeps its schedule
    real = dispatch.solve_case

    def second_solve_times_out(case: Case, options: Any = None, *args: Any, **kw: Any) -> Any:
        return real(case, SolveOptions(time_limit_s=1e-9) if case.regulation is None else options, *args, **kw)

    monkeypatch.setattr(dispatch, "solve_case", second_solve_times_out)
    result = solve_day(arbitrage_case(), OPTS)
    assert result.objective_cny == pytest.approx(1880 / 3, abs=1e-6)
    c = result.summary["regulation"]["comparison"]
    assert c["without_regulation"] == {"status": "time_limit_no_solution"}
    assert c["note"].startswith("no schedule without regulation to compare with: HiGHS stopped (Time limit reached)")
    assert "net_value_cny" not in c and result.summary["regulation"]["revenue_cny"]["total"] == pytest.approx(80 / 3)


# ---------------------------------------------------------------------------
# vpp dispatch --regulation on|off
# ---------------------------------------------------------------------------


def test_dispatch_writes_the_bid_and_the_comparison(tmp_path: Path) -> None:
    path = write_json(tmp_path / "arbitrage.json", arbitrage_case().model_dump(mode="json"))
    res = vpp("dispatch", "--case", str(path), "--out", str(tmp_path / "on"), "--no-chart", "--mip-gap", "0")
    assert res.returncode == 0, res.stderr
    summary = json.loads((tmp_path / "on" / "summary.json").read_text(encoding="utf-8"))
    assert summary["objective_cny"] == pytest.approx(1880 / 3, abs=1e-6)
    assert summary["regulation"]["comparison"]["net_value_cny"] == pytest.approx(40 / 3, abs=1e-6)
    bid = pd.read_csv(tmp_path / "on" / "regulation_bid.csv")
    assert bid["total_mw"].tolist() == pytest.approx([4 / 15, 4 / 15], abs=1e-6)
    assert bid["capacity_revenue_cny"].sum() == pytest.approx(80 / 3, abs=1e-6)
    assert "regulation_bid.csv" in res.stdout
    lines = [" ".join(line.replace("│", " ").split()) for line in res.stdout.splitlines()]
    assert "regulation offered 2 of 2 blocks of 60 min, up to 0.27 MW (0.5 MW·h)" in lines
    assert "revenue 27 CNY (capacity 27, mileage 0)" in lines
    assert "cost without regulation 640 CNY" in lines
    assert "net value 13 CNY (energy margin given up 13)" in lines


def test_dispatch_with_regulation_off_solves_the_day_without_the_market(tmp_path: Path) -> None:
    path = write_json(tmp_path / "arbitrage.json", arbitrage_case().model_dump(mode="json"))
    res = vpp("dispatch", "--case", str(path), "--out", str(tmp_path / "off"), "--no-chart", "--mip-gap", "0",
              "--regulation", "off")
    assert res.returncode == 0, res.stderr
    summary = json.loads((tmp_path / "off" / "summary.json").read_text(encoding="utf-8"))
    assert summary["objective_cny"] == pytest.approx(640, abs=1e-6)
    assert "regulation" not in summary and "regulation offered" not in res.stdout
    assert not (tmp_path / "off" / "regulation_bid.csv").exists()
    assert "regulation" not in json.loads((tmp_path / "off" / "case.json").read_text(encoding="utf-8"))


def test_dispatch_refuses_a_regulation_switch_other_than_on_or_off(tmp_path: Path) -> None:
    res = vpp("dispatch", "--case", "teda-east", "--out", str(tmp_path), "--regulation", "maybe")
    assert res.returncode == 2
    assert "Invalid value for --regulation: expected 'on' or 'off', got 'maybe'" in res.stderr


def test_the_chart_draws_the_band_around_the_batteries_power() -> None:
    # arbitrage_case: the battery charges 11/15 MW at t0 and discharges it at t1 with a band of 4/15 around it:
    # [−1, −7/15] then [7/15, 1], touching the ±1 MW power limits (the power headroom binds).
    result = solve_day(arbitrage_case(), OPTS)
    fig = dispatch_figure(result)
    try:
        assert len(fig.axes) == 4
        panel = fig.axes[1]
        assert panel.get_ylabel() == "regulating batteries\n[MW, + discharge]"
        ys = panel.collections[0].get_paths()[0].vertices[:, 1]
        assert sorted({round(float(y), 9) for y in ys}) == pytest.approx([-1, -7 / 15, 7 / 15, 1], abs=1e-6)
        net = panel.get_lines()[0].get_ydata()
        assert list(net) == pytest.approx([-11 / 15, 11 / 15, 11 / 15], abs=1e-6)
        assert [line.get_ydata()[0] for line in panel.get_lines()[1:3]] == [1, -1]  # the power limits
    finally:
        plt.close(fig)
    # without regulation, the chart keeps its three panels
    fig = dispatch_figure(solve_day(arbitrage_case(), OPTS, regulation=False))
    try:
        assert len(fig.axes) == 3
    finally:
        plt.close(fig)


def test_the_teda_day_passes_the_residual_checks_and_its_bid_adds_up_from_the_files(tmp_path: Path) -> None:
    from tests.residuals import check_residuals

    result = solve_day(materialize("teda-east", "2026-07-15"), SolveOptions(mip_gap=1e-6))
    write_outputs(result, tmp_path, chart=False)
    write_bid(result.summary, tmp_path)
    check_residuals(tmp_path)  # every headroom inequality, recomputed from the written files
    data = json.loads((tmp_path / "case.json").read_text(encoding="utf-8"))
    schedule = pd.read_parquet(tmp_path / "schedule.parquet")
    bid = pd.read_csv(tmp_path / "regulation_bid.csv")
    reg, dt, n = data["regulation"], data["step_minutes"] / 60, data["steps"]
    assert len(bid) == n // reg["block_steps"] == 24
    performance = {a["id"]: a["regulation_performance"] for a in data["assets"] if a["type"] == "battery"}
    band = {b: schedule[(schedule["asset"] == b) & (schedule["quantity"] == "regulation_mw")].sort_values("step")["value"]
            .to_numpy() for b in performance}
    revenue = 0.0
    for k, row in bid.iterrows():
        steps = slice(k * reg["block_steps"], (k + 1) * reg["block_steps"])
        for b, r in band.items():
            assert r[steps] == pytest.approx([row[f"{b}_mw"]] * reg["block_steps"], abs=1e-6)  # one offer per block
            revenue += dt * r[steps].sum() * (reg["capacity_price_cny_per_mw_h"]
                                              + reg["mileage_price_cny_per_mw"] * reg["mileage_mw_per_mw_h"] * performance[b])
        assert row["total_mw"] == pytest.approx(sum(row[f"{b}_mw"] for b in band), abs=1e-6)
        assert row["total_mw"] < 1e-6 or row["total_mw"] >= reg["min_offer_mw"] - 1e-6  # the minimum offer
    assert revenue == pytest.approx(bid["capacity_revenue_cny"].sum() + bid["mileage_revenue_cny"].sum(), rel=1e-9)
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert -summary["cost_cny"]["regulation_mileage"] == pytest.approx(revenue, rel=1e-9)
    c = summary["regulation"]["comparison"]
    assert c["net_value_cny"] == pytest.approx(c["without_regulation"]["objective_cny"] - summary["objective_cny"])
    assert c["net_value_cny"] > 0 and c["energy_margin_given_up_cny"] > 0  # the band earns more than it costs here


def test_materialize_writes_the_case_with_or_without_its_market(tmp_path: Path) -> None:
    on = vpp("case", "materialize", "--date", "2026-07-15", "-o", str(tmp_path / "on.json"))
    off = vpp("case", "materialize", "--date", "2026-07-15", "-o", str(tmp_path / "off.json"), "--regulation", "off")
    assert on.returncode == 0 and off.returncode == 0, on.stderr + off.stderr
    with_market = json.loads((tmp_path / "on.json").read_text(encoding="utf-8"))
    without = json.loads((tmp_path / "off.json").read_text(encoding="utf-8"))
    assert with_market["regulation"]["block_steps"] == 4 and "regulation" not in without
    bad = vpp("case", "materialize", "-o", str(tmp_path / "x.json"), "--regulation", "yes")
    assert bad.returncode == 2 and "Invalid value for --regulation: expected 'on' or 'off', got 'yes'" in bad.stderr
