"""Demand response in the teda-east day as it is called: the event calendar, events added to a day,
and baselines from the metered history by the published rule."""

from __future__ import annotations

import datetime as dt
from importlib import resources

import chinese_calendar
import numpy as np
import pandas as pd
import pytest

from vpp.cases import materialize, teda_east
from vpp.dispatch import solve_case
from vpp.errors import CaseError

SHIPPED = str(resources.files("forecasts.data").joinpath("teda_east_2025_15min.csv.gz"))


def calendar_days(year: int) -> list[tuple[dt.date, str, str]]:
    d, _ = teda_east.template_data()
    return [(dt.date.fromisoformat(e["date"]), e["kind"], e["window"]) for e in d["demand_response"]["calendar"]
            if e["date"].startswith(str(year))]


@pytest.mark.parametrize("year", [2025, 2026])
def test_events_are_called_on_a_few_days_a_year(year: int) -> None:
    days = calendar_days(year)
    assert 4 <= len(days) <= 8
    for day, kind, window in days:
        if kind == "peak_shaving":  # heat waves and cold snaps: working days, at the month's critical peak
            assert chinese_calendar.is_workday(day), day
            assert window == ("20:00-22:00" if day.month in (7, 8) else "18:00-20:00")
            assert day.month in (1, 7, 8, 12)
        else:  # surplus holidays: valley filling at midday
            assert kind == "valley_filling" and chinese_calendar.is_holiday(day), day


def test_a_day_off_the_calendar_has_no_event_and_pays_none() -> None:
    case = materialize("teda-east", "2026-07-14")
    assert case.demand_response == []
    assert case.meta["demand_response"]["events"] == []
    assert "demand response: no event called on 2026-07-14 (7 days on the 2026 calendar)" in case.meta["notes"]
    s = solve_case(case).summary
    assert s["demand_response"] == [] and s["cost_cny"].get("dr_revenue", 0.0) == 0.0


def test_the_calendar_event_of_a_heat_wave_day() -> None:
    case = materialize("teda-east", "2026-07-16")
    (ev,) = case.demand_response
    assert ev.id == "dr-peak-shaving-2026-07-16" and ev.kind == "peak_shaving"
    assert (ev.start_step, ev.end_step) == (80, 88)  # 20:00–22:00, the July critical peak
    assert ev.reduction_mw == 8 and ev.increase_mw is None
    assert ev.price_cny_per_mwh == 1500 and ev.shortfall_penalty_cny_per_mwh == 1500  # paid on the effective response
    assert ev.optional
    assert 6 <= ev.reduction_mw * ev.length_steps * case.dt_hours <= 1200  # [pub] Tianjin's range per event


def test_the_baseline_is_the_mean_of_the_five_most_recent_normal_working_days() -> None:
    case = materialize("teda-east", "2026-07-16")
    (ev,) = case.demand_response
    days = [dt.date(2026, 7, d) for d in (15, 14, 13, 10, 9)]  # by hand: working days before Thu 16 July
    assert ev.meta["baseline_days"] == [d.isoformat() for d in days]
    x = teda_east._Day(*teda_east.template_data(), dt.date(2026, 7, 16), 15)
    by_hand = np.mean([teda_east.metered_net_import_mw(x, d)[0] for d in days], axis=0)
    assert case.series(ev.baseline_mw) == pytest.approx(by_hand, abs=1e-6)


def test_event_days_and_holidays_are_left_out_of_a_baseline() -> None:
    # An event added on Friday 17 July: the heat-wave day before (16 July) is not a normal day.
    case = materialize("teda-east", "2026-07-17", dr_events=["peak_shaving,20:00-22:00,8"])
    (ev,) = case.demand_response
    assert ev.meta["baseline_days"] == ["2026-07-15", "2026-07-14", "2026-07-13", "2026-07-10", "2026-07-09"]
    # After National Day (1–7 October 2026; Sat 10 Oct is worked in lieu): no holiday counts as a working day.
    oct9 = materialize("teda-east", "2026-10-12", dr_events=["peak_shaving,18:00-20:00,8"])
    used = [dt.date.fromisoformat(d) for d in oct9.demand_response[0].meta["baseline_days"]]
    assert all(chinese_calendar.is_workday(d) for d in used)
    assert used == [dt.date(2026, 10, 10), dt.date(2026, 10, 9), dt.date(2026, 10, 8), dt.date(2026, 9, 30),
                    dt.date(2026, 9, 29)]


def test_a_holiday_event_takes_the_most_recent_non_working_days() -> None:
    case = materialize("teda-east", "2026-05-02")
    (ev,) = case.demand_response
    assert ev.kind == "valley_filling" and ev.increase_mw == 6 and ev.reduction_mw is None
    assert (ev.start_step, ev.end_step) == (44, 56)  # 11:00–14:00
    assert ev.price_cny_per_mwh == 200
    assert ev.meta["baseline_days"] == ["2026-05-01", "2026-04-26", "2026-04-25"]  # holiday, Sun, Sat


def test_the_metered_net_import_of_a_past_day() -> None:
    """Metered load − PV from the shipped history, plus the flexible assets as they usually run."""
    x = teda_east._Day(*teda_east.template_data(), dt.date(2025, 4, 20), 15)
    day = dt.date(2025, 4, 15)  # April: no thermal store
    net, metered = teda_east.metered_net_import_mw(x, day)
    assert metered
    frame = pd.read_csv(SHIPPED, skiprows=1)
    rows = frame[frame["timestamp"].str.startswith("2025-04-15")]
    inflexible = (rows["load_mw"] - rows["pv_mw"]).to_numpy()
    flexible_mwh = float((net - inflexible).sum() / 4)
    # The plant 20 MW × 24 h, the batch process 18 MWh, the EV fleet 24 MWh, and the batteries' round-trip
    # losses: at most (1/0.81 − 1) of two full cycles' 38.5 MWh delivered each.
    assert 480 + 18 + 24 - 1e-6 <= flexible_mwh <= 480 + 18 + 24 + (1 / 0.81 - 1) * 2 * 38.52 + 1e-6
    assert flexible_mwh > 480 + 18 + 24 + 1.0  # the batteries do run their usual arbitrage


def test_the_batteries_usual_discharge_is_in_a_summer_baseline() -> None:
    """The critical peak of an ordinary summer day: the fleet delivers its 38.5 MWh there (not paid as DR)."""
    x = teda_east._Day(*teda_east.template_data(), dt.date(2026, 7, 15), 15)
    day = dt.date(2026, 7, 14)
    net, _ = teda_east.metered_net_import_mw(x, day)
    load, pv, _ = teda_east.past_load_pv_mw(x, day)
    window = slice(80, 88)
    below = float((load - pv + 20 - net)[window].sum() / 4)  # MWh under the inflexible net import + the plant
    usable = 53.5 * (0.9 - 0.1) * 0.9  # MWh delivered from 90 % to 10 % at 90 % discharge efficiency
    assert below == pytest.approx(usable, abs=0.5)


def test_an_added_event_takes_the_kinds_price_or_its_own() -> None:
    case = materialize("teda-east", "2026-07-14", dr_events=["valley_filling,12:00-14:00,5",
                                                             {"kind": "peak_shaving", "window": "20:00-22:00",
                                                              "amount_mw": 8, "price_cny_per_mwh": 2500}])
    vf, ps = case.demand_response
    assert (vf.id, vf.kind, vf.increase_mw, vf.start_step, vf.end_step) == ("dr-added-1", "valley_filling", 5, 48, 56)
    assert vf.price_cny_per_mwh == 200
    assert (ps.id, ps.reduction_mw, ps.price_cny_per_mwh) == ("dr-added-2", 8, 2500)
    assert ps.meta["sources"]["price_cny_per_mwh"] == "[override] given with the event"
    assert case.meta["overrides"]["dr_events"][0] == {"kind": "valley_filling", "window": "12:00-14:00", "amount_mw": 5.0}
    hourly = materialize("teda-east", "2026-07-14", step_minutes=60, dr_events=["peak_shaving,20:00-22:00,8"])
    assert (hourly.demand_response[0].start_step, hourly.demand_response[0].end_step) == (20, 22)


def test_bad_added_events_name_the_event() -> None:
    with pytest.raises(CaseError) as err:
        materialize("teda-east", "2026-07-14", dr_events=["peak_shaving,20:00-22:00,8", "valley_filling,12-14,5"])
    assert [str(p) for p in err.value.problems] == ["dr_events[1]: expected a time as HH:MM, got '12'"]
    with pytest.raises(CaseError) as err:
        materialize("teda-east", "2026-07-14", dr_events=["peak_shaving,20:00-21:00,2"])
    assert [str(p) for p in err.value.problems] == [
        "dr_events[0]: the event's 2 MWh (2 MW over 20:00-21:00) is outside the Tianjin DR range for aggregators "
        "[6, 1200] MWh"
    ]
    with pytest.raises(CaseError) as err:
        materialize("teda-east", "2026-07-14", dr_events="peak_shaving,20:00-22:00,8")
    assert [p.path for p in err.value.problems] == ["dr_events"]


def test_the_heat_wave_event_is_joined_and_paid_on_what_the_plant_sheds() -> None:
    s = solve_case(materialize("teda-east", "2026-07-16")).summary
    (ev,) = s["demand_response"]
    assert ev["joined"] and ev["revenue_cny"] == pytest.approx(1500 * 8 * 2)  # by hand: price × 8 MW × 2 h
    assert ev["penalty_cny"] == pytest.approx(1500 * ev["shortfall_mwh"], rel=1e-6)
    assert s["energy_mwh"]["load_reduction_mwh"] == pytest.approx(16.0)  # the plant's whole 8 MW for the 2 hours
    assert s["cost_cny"]["load_curtailment"] == pytest.approx(16.0 * 1100) and s["cost_cny"]["load_curtailment_start"] == 5000


def test_demand_response_can_be_left_out() -> None:
    assert materialize("teda-east", "2026-07-16", demand_response=False).demand_response == []
