"""Every error path of the sizing inputs, matched on its message; sites, series and typical days."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import hand_case_data, hand_series
from typer.testing import CliRunner

from vpp.case import load_case
from vpp.cli import app
from vpp.errors import CaseError
from vpp.sizing.runner import Runner
from vpp.sizing.schema import SizingRequest, load_defaults, parse_sweep, site_limits_from
from vpp.sizing.study import beyond_limits, make_plan
from vpp.sizing.typical import demand_days, typical_plan
from vpp.sizing.year import (
    candidate_sites,
    read_year_series,
    series_plan,
    with_storage,
    year_dates,
    year_plan,
)


def problems(exc: pytest.ExceptionInfo) -> list[str]:
    return [str(p) for p in exc.value.problems]


def test_sweep_grammar() -> None:
    assert parse_sweep("power=10,20,energy=0:60:20") == {"power": [10.0, 20.0], "energy": [0.0, 20.0, 40.0, 60.0]}
    assert parse_sweep({"power": [5], "energy": 10}) == {"power": [5.0], "energy": [10.0]}
    assert parse_sweep("power=1.5e1, energy = 30,30") == {"power": [15.0], "energy": [30.0]}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("power=10", "sweep: missing energy=…: the sweep needs both power (MW) and energy (MWh)"),
        ("power=10,energy=20,duration=2", "sweep: unknown key(s) ['duration']: expected power and energy"),
        ("10,power=5,energy=5", "sweep: expected key=values, got '10' before any key (power=…, energy=…)"),
        ("power=ten,energy=5", "sweep: power: expected numbers or start:stop:step, got 'ten'"),
        ("power=10:0:5,energy=5", "sweep: power: range '10:0:5' needs start <= stop and a step > 0"),
        ("power=-5,energy=5", "sweep: power: expected values >= 0, got [-5.0]"),
        ("power=1,energy=2,power=3", "sweep: 'power' is given twice"),
        ("power=0:100:1,energy=0:10:1", "sweep: 101 × 11 points: at most 400"),
        ("", "sweep: expected power=…,energy=…, e.g. power=10,20,energy=20:80:20"),
    ],
)
def test_bad_sweep(spec: str, message: str) -> None:
    with pytest.raises(CaseError) as exc:
        parse_sweep(spec)
    assert problems(exc) == [message]


def test_sites_default_to_the_battery_nodes_and_unknown_sites_are_named() -> None:
    defaults, _ = load_defaults()
    data = hand_case_data()
    data["network"] = {"nodes": [{"id": "sub", "capacity_mw": 40}]}
    data["assets"].append({"id": "b", "type": "battery", "node": "sub", "power_mw": 2, "energy_mwh": 4})
    case = load_case(data)
    (site,) = candidate_sites(case, None, defaults)
    assert (site.id, site.battery_id, site.power_max_mw, site.energy_max_mwh) == ("sub", "b", 40.0, 160.0)
    root = candidate_sites(case, ["grid"], defaults)[0]
    assert (root.battery_id, root.power_max_mw, root.template.charge_efficiency) == ("bess-grid", 100.0, 0.9)
    with pytest.raises(CaseError) as exc:
        candidate_sites(case, ["sub", "nowhere"], defaults)
    assert problems(exc) == ["sites: unknown site 'nowhere': expected a node of the case ['sub'] or the root 'grid'"]
    with pytest.raises(CaseError) as exc:
        candidate_sites(load_case(hand_case_data()), None, defaults)
    assert problems(exc) == ["sites: no candidate site: the case has no battery; name the sites (node ids) to size"]
    sized = with_storage(case, [site], {"sub": (3.0, 9.0)})
    assert [(a.id, a.power_mw, a.energy_mwh) for a in sized.assets if a.type == "battery"] == [("b", 3.0, 9.0)]
    assert not [a for a in with_storage(case, [site], {}).assets if a.type == "battery"]


def test_a_sweep_point_beyond_a_site_limit_or_the_duration_range_is_named() -> None:

    defaults, _ = load_defaults(site_limits={"sub": {"power_max_mw": 10, "energy_max_mwh": 25}})
    data = hand_case_data()
    data["network"] = {"nodes": [{"id": "sub", "capacity_mw": 40}]}
    data["assets"].append({"id": "b", "type": "battery", "node": "sub", "power_mw": 2, "energy_mwh": 4})
    sites = candidate_sites(load_case(data), None, defaults, site_limits_from(defaults, _))
    # the site holds 10 MW and 25 MWh; its energy is 1–4 h of its power (defaults.yaml)
    assert beyond_limits({"sub": (10.0, 25.0)}, sites, 1.0, 4.0) is None
    assert beyond_limits({}, sites, 1.0, 4.0) is None
    assert beyond_limits({"sub": (12.0, 20.0)}, sites, 1.0, 4.0) == "sub: 12 MW above its 10 MW limit"
    assert beyond_limits({"sub": (10.0, 30.0)}, sites, 1.0, 4.0) == "sub: 30 MWh above its 25 MWh limit"
    assert beyond_limits({"sub": (5.0, 22.0)}, sites, 1.0, 4.0) == (
        "sub: 22 MWh on 5 MW is 4.4 h, outside sizing.duration_min_h–duration_max_h 1–4 h")
    assert beyond_limits({"sub": (8.0, 4.0)}, sites, 1.0, 4.0) == (
        "sub: 4 MWh on 8 MW is 0.5 h, outside sizing.duration_min_h–duration_max_h 1–4 h")


def test_bad_year() -> None:
    with pytest.raises(CaseError) as exc:
        year_dates(1800)
    assert problems(exc) == ["year: expected a year between 1900 and 2200, e.g. 2025, got 1800"]
    assert len(year_dates(2024)) == 366
    with pytest.raises(ValueError, match="expected a year between 1900 and 2200, e.g. 2025, got 3000"):
        SizingRequest(year=3000)


def test_unknown_template_and_missing_series(tmp_path) -> None:
    with pytest.raises(CaseError) as exc:
        year_plan("teda-west", 2025)
    assert problems(exc) == ["case: unknown template 'teda-west': expected one of ['teda-east']"]
    with pytest.raises(CaseError) as exc:
        make_plan(SizingRequest(case=str(tmp_path / "nope.json")))
    assert problems(exc)[0].startswith("case: '") and problems(exc)[0].endswith("nope.json' is neither a built-in case (teda-east) nor an existing file")
    with pytest.raises(CaseError) as exc:
        make_plan(SizingRequest(case_data=hand_case_data()))
    assert problems(exc) == ["series: a case file needs the year's series (--series FILE: timestamp, load_mw, pv_mw, buy_cny_per_mwh)"]


def test_series_errors(tmp_path) -> None:
    case = load_case(hand_case_data())
    good = hand_series(2)
    with pytest.raises(CaseError) as exc:
        series_plan(case, good.iloc[:30])
    assert problems(exc) == ["series: expected whole days of 24 steps of 60 min, got 30 rows (1.25 days)"]
    naive = good.assign(timestamp=good["timestamp"].dt.tz_localize(None))
    with pytest.raises(CaseError) as exc:
        read_year_series(naive)
    assert problems(exc) == ["series.timestamp: the series DataFrame: time zone missing: expected timestamps with their UTC offset, e.g. 2025-01-01T00:00:00+08:00"]
    gap = good.drop(index=5)
    with pytest.raises(CaseError) as exc:
        series_plan(case, pd.concat([gap, gap.iloc[:1]]))
    assert problems(exc) == ["series.timestamp: expected a step of 60 min throughout; row 5 (2025-01-01T06:00:00+08:00) follows 2025-01-01T04:00:00+08:00"]
    with pytest.raises(CaseError) as exc:
        read_year_series(good.rename(columns={"load_mw": "demand"}).drop(columns=["buy_cny_per_mwh"]))
    assert problems(exc) == ["series: the series DataFrame: expected some of the columns ['load_mw', 'pv_mw', 'buy_cny_per_mwh'], got ['timestamp', 'demand']"]
    with pytest.raises(CaseError) as exc:
        read_year_series(good.assign(load_mw=-1.0))
    assert problems(exc) == ["series.load_mw: the series DataFrame: expected values >= 0 in ['load_mw']"]
    with pytest.raises(CaseError) as exc:
        read_year_series(tmp_path / "absent.csv")
    assert problems(exc)[0].startswith("series: no such file:")
    # the series must be the requested year
    path = tmp_path / "y.parquet"
    hand_series(2, year=2024).to_parquet(path)
    with pytest.raises(CaseError) as exc:
        make_plan(SizingRequest(case_data=hand_case_data(), series=str(path), year=2025))
    assert problems(exc) == ["series: the series covers 2024, not the year 2025"]
    plan = make_plan(SizingRequest(case_data=hand_case_data(), series=str(path), year=2024))
    assert plan.dates == ["2024-01-01", "2024-01-02"]


def test_defaults_overrides_are_checked() -> None:
    with pytest.raises(CaseError) as exc:
        load_defaults({"economics": {"discount": 0.1}, "finance": {"x": 1}, "sizing": {"duration_max_h": "long"}})
    assert problems(exc) == [
        "economics.discount: unknown key 'discount': expected one of ['augmentation_cny_per_kwh', 'availability', "
        "'calendar_fade_per_year', 'cycle_depth', 'cycle_life', 'discount_rate', 'end_of_life_fraction', 'energy_cny_per_kwh', "
        "'lifetime_years', 'om_fraction_per_year', 'power_cny_per_kw']",
        "finance: unknown section 'finance': expected one of ['battery', 'economics', 'sensitivity', 'sizing']",
        "sizing.duration_max_h: expected a finite number, got 'long'",
    ]
    plain, sources = load_defaults()
    assert plain["economics"]["energy_cny_per_kwh"] == 800
    assert all(("[pub" in v["source"] or "[assumed]" in v["source"]) for v in sources.values())


def test_typical_days_weights_cover_the_year() -> None:
    # 10 days of one month: 4 with a 10 MW load, 6 with 20 MW. The month's peak day (the first 20 MW
    # day, 2 January) is kept as it is; two typical days stand for the other 4 and 5 days.
    case = load_case(hand_case_data())
    plan = series_plan(case, hand_series(10, load=[10, 20, 10, 20, 20, 10, 20, 20, 10, 20]))
    with Runner("serial") as runner:
        days = runner.make_days(plan)
    t = typical_plan(plan, days, 2)
    assert sorted((float(d.load_mw[0]), d.weight, d.role) for d in t.days) == [
        (10.0, 4.0, "typical"), (20.0, 1.0, "peak"), (20.0, 5.0, "typical")]
    assert t.days[0].date == "2025-01-02"  # the peak day first: the month's peak so far is carried from it
    assert len(t.assignment) == 10 and t.chain is False
    with pytest.raises(CaseError) as exc:
        typical_plan(plan, days, 11)
    assert problems(exc) == ["typical_days: expected a whole number between 1 (one for each of the 1 months the days cover) "
                             "and the 10 days, got 11"]


def test_typical_days_cover_every_month_of_the_year() -> None:
    # a year: every month keeps its peak day and typical days of its own, whose weights add up to its days
    case = load_case(hand_case_data())
    plan = series_plan(case, hand_series(365))
    with Runner("serial") as runner:
        days = runner.make_days(plan)
    t = typical_plan(plan, days, 24)
    months = t.provenance["months"]
    assert sorted(months) == [f"2025-{m:02d}" for m in range(1, 13)]
    for m, info in months.items():
        mine = [d for d in t.days if d.date[:7] == m]
        assert sum(d.weight for d in mine) == info["days"]
        assert [d.role for d in mine].count("peak") == 1
    assert [len(c) for c in t.chunks] == [3] * 12  # one chunk a month: its peak day and two typical days
    with pytest.raises(CaseError) as exc:
        typical_plan(plan, days, 11)
    assert problems(exc) == ["typical_days: expected a whole number between 12 (one for each of the 12 months the days cover) "
                             "and the 365 days, got 11"]


def test_cli_bad_input_exits_2(tmp_path) -> None:
    runner = CliRunner()
    done = runner.invoke(app, ["size", "--sweep", "power=10", "--scheduler", "serial", "--out", str(tmp_path)])
    assert done.exit_code == 2
    assert "sweep: missing energy=…" in done.output
    done = runner.invoke(app, ["size", "--scheduler", "somewhere", "--out", str(tmp_path)])
    assert done.exit_code == 2 and "expected 'serial', 'local' or a Dask address" in done.output
    done = runner.invoke(app, ["size", "--economics", "discount_rate", "--out", str(tmp_path)])
    assert done.exit_code == 2 and "expected KEY=NUMBER, got 'discount_rate'" in done.output


def test_series_inline_as_columns_give_the_days_of_the_file(tmp_path) -> None:
    """The service sends the year's series inline (JSON columns); they make the same days as a file does."""
    year = hand_series(365)
    path = tmp_path / "year.parquet"
    year.to_parquet(path)
    inline = {"timestamp": [t.isoformat() for t in year["timestamp"]],
              **{c: year[c].tolist() for c in year.columns if c != "timestamp"}}
    from_file = make_plan(SizingRequest(case_data=hand_case_data(), series=str(path)))
    from_json = make_plan(SizingRequest(case_data=hand_case_data(), series=inline))
    assert from_json.dates == from_file.dates and len(from_json.dates) == 365
    assert [d.load_mw.tolist() for d in from_json.days[:3]] == [d.load_mw.tolist() for d in from_file.days[:3]]
    uneven = dict(inline, load_mw=inline["load_mw"][:-1])
    with pytest.raises(CaseError) as exc:
        make_plan(SizingRequest(case_data=hand_case_data(), series=uneven))
    assert problems(exc)[0].startswith("series: expected columns of one length, got {'timestamp': 8760, 'load_mw': 8759")


DEFAULT = "the default in vpp/sizing/defaults.yaml"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"economics": {"discount_rate": -0.5}},
         ["economics.discount_rate: expected a real discount rate as a fraction from 0 to 0.5 (e.g. 0.07), got -0.5 (given)"]),
        ({"economics": {"lifetime_years": 15.5, "availability": 0}},
         ["economics.lifetime_years: expected a whole number of years from 1 to 50 (e.g. 15), got 15.5 (given)",
          "economics.availability: expected a share of the time in service above 0, at most 1 (e.g. 0.97), got 0 (given)"]),
        ({"economics": {"energy_cny_per_kwh": -1}},
         ["economics.energy_cny_per_kwh: expected a cost per kWh of energy from 0 to 20,000 CNY/kWh (e.g. 800), got -1 (given)"]),
        ({"sizing": {"duration_max_h": 0.5}},
         [f"sizing.duration_max_h: 0.5 h (given) is below sizing.duration_min_h, 1 h ({DEFAULT}): no size meets both"]),
        ({"sizing": {"duration_max_h": 2, "duration_min_h": 3}},
         ["sizing.duration_max_h: 2 h (given) is below sizing.duration_min_h, 3 h (given): no size meets both"]),
        ({"sizing": {"power_max_fraction_of_branch": 0}},
         ["sizing.power_max_fraction_of_branch: expected a fraction of the branch capacity above 0, at most 1, got 0 (given)"]),
        ({"battery": {"charge_efficiency": 1.5}},
         ["battery.charge_efficiency: expected an efficiency above 0, at most 1 (e.g. 0.9), got 1.5 (given)"]),
        ({"battery": {"soc_min": 0.6}},
         [f"battery.soc_initial: 0.5 ({DEFAULT}) is outside [battery.soc_min, battery.soc_max] = [0.6, 0.9]"]),
        ({"battery": {"soc_max": 0.1}},
         [f"battery.soc_max: 0.1 (given) is not above battery.soc_min, 0.1 ({DEFAULT})"]),
        ({"year": {"demand_charge_cny_per_kw_month": -3}},
         ["year: unknown section 'year': expected one of ['battery', 'economics', 'sensitivity', 'sizing']"]),
        ({"sensitivity": {"lifetime_low_years": 25}},
         [f"sensitivity.lifetime_high_years: 20 ({DEFAULT}) is below sensitivity.lifetime_low_years, 25 (given)"]),
    ],
)
def test_every_setting_is_range_checked_and_bounds_must_agree(overrides: dict, expected: list[str]) -> None:
    with pytest.raises(CaseError) as exc:
        load_defaults(overrides)
    assert problems(exc) == expected
    assert exc.value.step == "reading the sizing request"


def test_the_default_settings_are_within_their_ranges() -> None:
    from vpp.sizing.schema import check_settings

    plain, _ = load_defaults()
    assert check_settings(plain) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--economics", "discount_rate=-0.5"],
         "--economics discount_rate: expected a real discount rate as a fraction from 0 to 0.5 (e.g. 0.07), got -0.5 (given)"),
        (["--sizing", "duration_max_h=0.5"],
         f"--sizing duration_max_h: 0.5 h (given) is below sizing.duration_min_h, 1 h ({DEFAULT}): no size meets both"),
        (["--emission-profile", "south-china"],
         "emission_profile_t_per_mwh: unknown profile 'south-china': expected 24 numbers (t/MWh by local hour) or one of "
         "['north-china-2023-illustrative']"),
        (["--emission-profile", "0.5,0.6,0.7"], "expected 24 numbers (t/MWh by local hour 0–23), got 3"),
        (["--emission-profile", "0.5,x"], "expected a profile's name or 24 comma-separated numbers (t/MWh), got '0.5,x'"),
        (["--full-year-peak-target", "always"], "--full-year-peak-target: Input should be 'typical', 'none' or 'both'"),
        (["--time-limit", "-5"], "--time-limit: Input should be greater than 0"),
        (["--co-optimisation-time-limit", "0"], "--co-optimisation-time-limit: Input should be greater than 0"),
        (["--site-limit", "s110-1=30"], "expected SITE=POWER_MW,ENERGY_MWH (e.g. s110-1=30,60), got 's110-1=30'"),
        (["--site-limit", "s110-1=-5,10"],
         "--site-limit s110-1.power_max_mw: expected a power from 0 to 100,000 MW, got -5.0 (given)"),
        (["--site-limit", "nowhere=10,20"],
         "--site-limit nowhere: not a site being sized: expected one of ['s110-1', 's110-2', 's35-tiancheng', "
         "'s35-haijing'] (add it to the sites to size it)"),
    ],
)
def test_vpp_size_refuses_a_setting_out_of_range_before_any_day_is_solved(tmp_path, args: list[str], message: str) -> None:
    done = CliRunner().invoke(app, ["size", *args, "--scheduler", "serial", "--out", str(tmp_path / "out")],
                              env={"COLUMNS": "1000"})
    assert done.exit_code == 2, done.output
    assert message in done.output
    assert not (tmp_path / "out").exists()


def test_demand_days_keep_the_broadest_peak_for_a_deep_cut() -> None:
    # day 0: 30 MW for one hour; day 1: 25 MW for eight; day 2: flat. 5 MW below the month's peak (25 MW)
    # only day 0 is above (5 MWh); 20 MW below it (10 MW) day 1 holds 8·15 = 120 MWh above, day 0 only 20.
    net = np.array([[10.0] * 23 + [30.0], [10.0] * 16 + [25.0] * 8, [10.0] * 24])
    assert demand_days(net, 1.0, (5.0, 20.0)) == {0: [0.0, 5.0], 1: [20.0]}
    assert demand_days(net, 1.0) == {0: [0.0]}
