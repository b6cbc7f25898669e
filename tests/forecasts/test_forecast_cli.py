"""`vpp forecast …` and `vpp dispatch --weather/--load-history`, run for real as subprocesses."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pandas as pd
import pytest

from forecasts.rules import LOAD_RULES
from tests.vpp.test_cli import vpp

SHIPPED = str(resources.files("forecasts.data").joinpath("teda_east_2025_15min.csv.gz"))
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def history() -> pd.DataFrame:
    return pd.read_csv(SHIPPED, skiprows=1)


def weather_of(history: pd.DataFrame, day: str, shift_days: int = 0) -> pd.DataFrame:
    """The synthetic year's weather of ``day`` (hourly means), moved by ``shift_days``: a 'perfect forecast'."""
    h = history.copy()
    h["timestamp"] = pd.to_datetime(h["timestamp"])
    rows = h[h["timestamp"].dt.strftime("%Y-%m-%d") == day].set_index("timestamp")
    hourly = rows[["ghi_w_per_m2", "temp_air_c", "wind_speed_m_per_s"]].resample("1h").mean()
    hourly.index = hourly.index + pd.Timedelta(days=shift_days)
    out = hourly.reset_index()
    out["timestamp"] = [t.isoformat() for t in out["timestamp"]]
    return out


def test_backtest_json_and_plot(tmp_path: Path, history):
    part = history.iloc[: 96 * 36][["timestamp", "load_mw"]]
    path = tmp_path / "load.csv"
    part.to_csv(path, index=False)
    png = tmp_path / "week.png"
    steps = tmp_path / "steps.csv"
    done = vpp("forecast", "backtest", "--series", str(path), "--kind", "load", "--min-train-days", "28",
               "--retrain-every", "14", "--json", "--plot", str(png), "--resolution", "30min",
               "--forecasts-csv", str(steps))
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    m = doc  # the metrics are at the top level
    assert m["n_days"] == 8 and doc["settings"]["step_minutes"] == 30
    for key in ("mae", "rmse", "mape_pct", "pinball", "coverage_p10_p90", "skill_vs_seasonal_naive"):
        assert key in m
    assert m["skill_vs_seasonal_naive"] > 0
    assert png.read_bytes()[:8] == PNG_MAGIC
    # Every rule beside the learned median, each MAE the one of its column of the written steps.
    written = pd.read_csv(steps)
    assert set(m["side_by_side"]) == {"learned", *LOAD_RULES}
    for name in LOAD_RULES:
        err = (written[f"rule:{name}"] - written["actual"]).abs().mean()
        assert m["side_by_side"][name]["mae"] == pytest.approx(err, rel=1e-3), name
    assert m["side_by_side"]["learned"]["mae"] == pytest.approx((written["p50"] - written["actual"]).abs().mean(), rel=1e-3)
    table = vpp("forecast", "backtest", "--series", str(path), "--min-train-days", "28", "--retrain-every", "14",
                "--start", "2025-02-04")
    assert table.returncode == 0 and "skill vs seasonal naive" in table.stdout
    assert "every simple rule" in table.stdout
    for label in ("learned (P50)", "two-line rule", "two-line, 4-week means", "yesterday"):
        assert label in table.stdout, label


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ("timestamp,load_mw\nsoon,1\n2025-01-01T00:15:00,2\n", [], "bad.csv: row 1: cannot read timestamp 'soon'"),
        ("timestamp,load_mw\n2025-01-01T00:00:00,1\n2025-01-01T00:15:00,many\n", [], "bad.csv: column 'load_mw', row 2: expected a number, got 'many'"),
        ("timestamp,a,b\n2025-01-01T00:00+08:00,1,2\n2025-01-01T00:15+08:00,2,3\n", [], "found value columns ['a', 'b']: name the one to use (--column NAME)"),
        ("timestamp,load_mw\n2025-01-01T00:00+08:00,1\n2025-01-01T00:15+08:00,2\n", [], "no day to backtest"),
        ("timestamp,load_mw\n2025-01-01T00:00+08:00,1\n2025-01-01T00:15+08:00,2\n", ["--horizon", "2h"], "--horizon: expected one of 1d"),
        ("timestamp,load_mw\n2025-01-01T00:00+08:00,1\n2025-01-01T00:15+08:00,2\n", ["--kind", "wind"], "--kind: expected load or pv"),
    ],
)
def test_backtest_bad_input_exits_2(tmp_path: Path, content, args, message):
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    done = vpp("forecast", "backtest", "--series", str(path), *args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr


def test_forecast_pv_from_perfect_weather_reproduces_the_synthetic_pv(tmp_path: Path, history):
    w = tmp_path / "weather.csv"
    weather_of(history, "2025-07-15").to_csv(w, index=False)
    out = tmp_path / "pv.csv"
    done = vpp("forecast", "pv", "--date", "2025-07-15", "--weather", str(w), "-o", str(out),
               "--scenarios", "20", "--seed", "3")
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(out)
    assert list(table.columns) == ["timestamp", "step", "series", "p10_mw", "p50_mw", "p90_mw"]
    assert set(table["series"]) == {"total"} | {f"pv-{n}-{p}" for n in ("s110-1", "s110-2", "s35-tiancheng", "s35-haijing") for p in ("p1", "p2", "p3")}
    total = table[table["series"] == "total"]
    actual = history[history["timestamp"].str.startswith("2025-07-15")]["pv_mw"].to_numpy()
    # Hourly means of the weather that made the synthetic PV: the same energy within 3 %.
    assert total["p50_mw"].sum() == pytest.approx(actual.sum(), rel=0.03)
    assert (total["p10_mw"] <= total["p50_mw"] + 1e-9).all() and (total["p50_mw"] <= total["p90_mw"] + 1e-9).all()
    sc = pd.read_csv(tmp_path / "pv_scenarios.csv")
    assert len(sc) == 20 * 96 and sc["weight"].sum() == pytest.approx(96.0)
    assert "weather file weather.csv" in done.stdout


def test_forecast_load_and_pv_without_inputs_say_what_they_used(tmp_path: Path):
    out = tmp_path / "load.json"
    done = vpp("forecast", "load", "--date", "2026-07-15", "-o", str(out))
    assert done.returncode == 0, done.stderr
    doc = json.loads(out.read_text())
    assert "no load history given" in doc["source"] and len(doc["series"]["total"]["p50_mw"]) == 96
    pv = vpp("forecast", "pv", "--date", "2026-07-15", "-o", str(tmp_path / "pv.csv"))
    assert pv.returncode == 0 and "climatological clear-sky index 0.691" in pv.stdout


def test_dispatch_with_weather_and_load_history(tmp_path: Path, history):
    w = tmp_path / "weather.csv"
    weather_of(history, "2025-01-01", shift_days=365).to_csv(w, index=False)  # for 2026-01-01
    done = vpp("dispatch", "--date", "2026-01-01", "--weather", str(w), "--load-history", SHIPPED,
               "--out", str(tmp_path / "out"), "--no-chart", timeout=180)
    assert done.returncode == 0, done.stderr
    case = json.loads((tmp_path / "out" / "case.json").read_text())
    sources = case["meta"]["series_sources"]
    assert sources["pv"].startswith("weather file weather.csv")
    assert "LightGBM quantile forecast" in sources["load"] and "teda_east_2025_15min.csv.gz" in sources["load"]
    assert "to 2025-12-31T23:45:00+08:00" in sources["load"]
    assert "load: LightGBM" in done.stdout
    bad = vpp("dispatch", "--date", "2026-03-01", "--load-history", SHIPPED, "--out", str(tmp_path / "o2"))
    assert bad.returncode == 2 and "needs the load up to the day before" in bad.stderr


def test_forecast_uses_the_template_named_by_case(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A second template (TEDA east with half the PV and half the load) is forecast as itself, not as TEDA east."""
    import dataclasses

    from typer.testing import CliRunner

    import vpp.cases
    from vpp.cases import Template, teda_east
    from vpp.cli import app

    full = teda_east.site()
    half = dataclasses.replace(
        full, name="half district", load_peak_mw=full.load_peak_mw / 2,
        pv_arrays=[dataclasses.replace(a, capacity_mw=a.capacity_mw / 2) for a in full.pv_arrays],
    )
    monkeypatch.setitem(vpp.cases.TEMPLATES, "half", Template("half", teda_east.materialize, lambda: half, teda_east.timezone))
    totals = {}
    for case in ("teda-east", "half"):
        for kind in ("pv", "load"):
            out = tmp_path / f"{case}-{kind}.json"
            done = CliRunner().invoke(app, ["forecast", kind, "--case", case, "--date", "2026-07-15", "-o", str(out)])
            assert done.exit_code == 0, done.output
            doc = json.loads(out.read_text())
            assert doc["case"] == case
            totals[case, kind] = sum(doc["series"]["total"]["p50_mw"])
    assert totals["half", "pv"] == pytest.approx(totals["teda-east", "pv"] / 2, rel=1e-9)
    assert totals["half", "load"] == pytest.approx(totals["teda-east", "load"] / 2, rel=1e-9)
    assert "peak 250 MW" in json.loads((tmp_path / "half-load.json").read_text())["source"]
    done = CliRunner().invoke(app, ["forecast", "pv", "--case", "teda-west", "-o", str(tmp_path / "x.json")])
    assert done.exit_code == 2 and "--case: unknown template 'teda-west': expected one of" in done.output


def test_the_side_by_side_table_says_when_a_rule_does_better():
    from rich.console import Console

    from vpp.forecast_cli import _side_by_side_table

    metrics = {
        "beats_every_rule": False,
        "side_by_side": {
            "learned": {"mae": 12.0, "rmse": 15.0, "skill_vs_seasonal_naive": 0.2},
            "seasonal_naive": {"mae": 15.0, "rmse": 19.0, "skill_vs_seasonal_naive": 0.0},
            "two_line": {"mae": 10.5, "rmse": 14.0, "skill_vs_seasonal_naive": 0.3},
        },
    }
    console = Console(width=120, record=True)
    console.print(_side_by_side_table(metrics))
    text = console.export_text()
    assert "does NOT beat every simple rule" in text
    assert "two-line rule" in text and "10.5" in text and "0.300" in text  # 1 − 10.5/15
