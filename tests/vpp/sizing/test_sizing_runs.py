"""The year of days: chaining, failed days, and serial against Dask (identical tables)."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import HAND_BATTERY, hand_case_data, hand_series

from vpp.case import load_case
from vpp.sizing.runner import Runner
from vpp.sizing.schema import load_defaults
from vpp.sizing.year import DayItem, RunSettings, candidate_sites, series_plan


def sites_and_plan(days: int, load: list[float] | None = None, chunk: str = "month", case_data: dict | None = None):
    case = load_case(case_data or hand_case_data())
    defaults, _ = load_defaults({"battery": HAND_BATTERY})
    sites = candidate_sites(case, ["grid"], defaults)
    plan = series_plan(case, hand_series(days, load=load), chunk=chunk)
    return sites, plan


def test_days_follow_one_another_within_a_chunk() -> None:
    # 1 Jan – 3 Feb: two chunks (January, February); each day ends empty, so each starts empty
    sites, plan = sites_and_plan(34)
    assert [len(c) for c in plan.chunks] == [31, 3]
    with Runner("serial") as runner:
        table, _ = runner.run(plan, sites, [{"grid": (10.0, 20.0)}], RunSettings())
    assert list(table["date"][:2]) == ["2025-01-01", "2025-01-02"]
    assert (table["status"] == "optimal").all()
    assert table["soc_start_mwh"].iloc[1:].to_numpy() == pytest.approx(table["soc_end_mwh"].iloc[:-1].to_numpy(), abs=1e-9)
    assert table["storage_discharge_mwh"].to_numpy() == pytest.approx(20.0)
    # the auxiliaries (0.32 % of the 10 MW, the default) draw 0.032 MW all day at the day's prices (3,300 CNY/MW-day)
    assert table["storage_auxiliary_mwh"].to_numpy() == pytest.approx(0.032 * 24)
    assert table["objective_cny"].to_numpy() == pytest.approx(33_000 - 6980 + 0.032 * 3300)


def test_a_failed_day_is_retried_then_reported_and_the_next_day_starts_afresh() -> None:
    # a mandatory green contract must deliver 5 MW every hour; with no load on 2 January
    # (and no export) that energy has nowhere to go: the day is infeasible
    data = hand_case_data()
    data["assets"].append({"id": "green", "type": "green_contract", "available_mw": 5, "price_cny_per_mwh": 50, "min_take": 1.0, "optional": False})
    sites, plan = sites_and_plan(3, load=[10.0, 0.0, 10.0], case_data=data)
    with Runner("serial") as runner:
        table, _ = runner.run(plan, sites, [{}], RunSettings())
    assert list(table["status"]) == ["optimal", "failed", "optimal"]
    bad = table.iloc[1]
    assert bad["date"] == "2025-01-02" and bad["attempts"] == 2
    assert bad["reason"].startswith("InfeasibleError: the case is infeasible")
    assert "green contract 'green' (min_take 1, not optional) must take at least 5 MW" in bad["reason"]
    assert table["reason"].iloc[[0, 2]].isna().all()


def test_a_task_that_keeps_failing_is_reported_for_each_of_its_days() -> None:
    sites, plan = sites_and_plan(2)
    plan.chunks[0][1] = DayItem(index=1, date="2025-01-02", weight=1.0, base=42)  # not a case: the task raises
    with Runner("serial", retries=1) as runner:
        table, _ = runner.run(plan, sites, [{}], RunSettings())
    assert list(table["status"]) == ["failed", "failed"]
    assert table["reason"].iloc[0] == "task failed after 2 attempts: AttributeError: 'int' object has no attribute 'demand_response'"


def test_dask_local_cluster_gives_the_serial_table_bit_for_bit() -> None:
    # 1 Jan – 3 Feb in two chunks, two sizes: four independent tasks
    sites, plan = sites_and_plan(34)
    points = [{}, {"grid": (20.0, 30.0)}]
    with Runner("serial") as runner:
        serial, _ = runner.run(plan, sites, points, RunSettings())
    with Runner("local", workers=2) as runner:
        assert runner.description == "local Dask cluster, 2 single-threaded worker processes"
        assert len(runner.client.scheduler_info()["workers"]) == 2
        dask, _ = runner.run(plan, sites, points, RunSettings())
        days = runner.make_days(plan)
        # an existing cluster by its address (as --scheduler tcp://HOST:PORT): the same table
        with Runner(runner.cluster.scheduler_address) as remote:
            assert remote.description.startswith("Dask cluster at tcp://")
            by_address, _ = remote.run(plan, sites, points, RunSettings())
        # a task that raises on every try is retried by Dask, then reported for each of its days
        _, broken = sites_and_plan(2)
        broken.chunks[0][1] = DayItem(index=1, date="2025-01-02", weight=1.0, base=42)
        failed, _ = runner.run(broken, sites, [{}], RunSettings())
    assert list(failed["status"]) == ["failed", "failed"]
    assert failed["reason"].iloc[1] == "task failed after 3 attempts: AttributeError: 'int' object has no attribute 'demand_response'"
    assert len(serial) == 2 * 34
    pd.testing.assert_frame_equal(serial, dask, check_exact=True)
    pd.testing.assert_frame_equal(serial, by_address, check_exact=True)
    assert [d.date for d in days] == plan.dates and all(d.case is not None for d in days)


def test_runner_rejects_a_bad_scheduler() -> None:
    with pytest.raises(ValueError, match="scheduler: expected 'serial', 'local' or a Dask address such as tcp://HOST:PORT, got 'cluster'"):
        Runner("cluster")
    with pytest.raises(ValueError, match="workers: expected a positive number, got 0"):
        Runner("local", workers=0)


def test_days_changed_in_place_give_the_days_solved_afresh() -> None:
    # a month of days of three loads (so prices, bounds and right-hand sides change from day to day), with
    # the charging at a different 10 MW/20 MWh battery: one HiGHS model changed in place gives each day's
    # optimum, as building and solving each day afresh does
    sites, plan = sites_and_plan(12, load=[10, 20, 15, 10, 20, 15, 10, 20, 15, 10, 20, 15])
    with Runner("serial") as runner:
        warm, _ = runner.run(plan, sites, [{"grid": (10.0, 20.0)}], RunSettings(in_place=True))
        cold, _ = runner.run(plan, sites, [{"grid": (10.0, 20.0)}], RunSettings(in_place=False))
    assert list(warm["solve_route"]) == ["new_model"] + ["in_place"] * 11
    assert set(cold["solve_route"]) == {"fresh"}
    assert warm["objective_cny"].to_numpy() == pytest.approx(cold["objective_cny"].to_numpy(), rel=1e-9)
    assert warm["storage_discharge_mwh"].to_numpy() == pytest.approx(cold["storage_discharge_mwh"].to_numpy(), rel=1e-9)
    # by hand: a 10 MW load costs 33,000 a day and the battery saves 6,980 less its auxiliaries' 105.6
    assert warm["objective_cny"].iloc[0] == pytest.approx(33_000 - 6980 + 0.032 * 3300)


def test_an_hourly_emission_profile_counts_the_grid_energy_of_each_hour() -> None:
    # the hand day at 10 MW / 20 MWh: the grid brings the 240 MWh of load, the 20 MWh charged and the
    # auxiliaries' 0.768 MWh, less the 20 MWh discharged (18:00 and 19:00 at 10 MW each)
    sites, plan = sites_and_plan(1)
    flat = (0.5,) * 24
    evening = tuple(1.0 if h in (18, 19) else 0.0 for h in range(24))
    with Runner("serial") as runner:
        a, _ = runner.run(plan, sites, [{"grid": (10.0, 20.0)}], RunSettings(emission_profile_t_per_mwh=flat))
        b, _ = runner.run(plan, sites, [{"grid": (10.0, 20.0)}], RunSettings(emission_profile_t_per_mwh=evening))
    assert a["grid_energy_mwh"].iloc[0] == pytest.approx(240 + 0.768, rel=1e-9)
    assert a["emissions_profile_t"].iloc[0] == pytest.approx(0.5 * (240 + 0.768), rel=1e-9)
    # 18:00 and 19:00: the 10 MW load met by the battery, only the auxiliaries' 0.032 MW from the grid
    assert b["emissions_profile_t"].iloc[0] == pytest.approx(2 * 0.032, rel=1e-6)
    with pytest.raises(ValueError, match=r"emission_profile_t_per_mwh: expected 24 numbers >= 0 \(t/MWh by hour\), got \[1.0\]"):
        RunSettings(emission_profile_t_per_mwh=(1.0,))


def test_teda_days_changed_in_place_are_within_the_gap_of_their_optimum() -> None:
    # three TEDA east days of June 2025 (the shipped synthetic history) at the case's storage, the
    # month's peak so far carried as the year carries it: every day's relaxation is fractional (the
    # regulation offer flags at least), so each is rounded or branched on the held model. Each
    # schedule must cost at most 1e-4 more than the day's optimum (HiGHS to 1e-6, independently)
    # and its bound must not exceed that optimum.
    from models import SolveOptions, optimize
    from models.resolve import Resolver
    from vpp.sizing.year import make_day, with_storage, year_plan

    plan = year_plan("teda-east", 2025)
    june = [d for d in plan.days if d.date.startswith("2025-06")][:3]
    first = make_day(june[0]).case
    sites = candidate_sites(first, None, load_defaults()[0])
    bats = {a.id: a for a in first.assets if a.type == "battery"}
    sizes = {s.id: (float(bats[s.battery_id].power_mw), bats[s.battery_id].energy_mwh) for s in sites}
    resolver = Resolver(SolveOptions(mip_gap=1e-4, threads=1))
    peak, routes = 0.0, []
    for item in june:
        day = make_day(item).case
        case = with_storage(day.model_copy(update={"grid": day.grid.model_copy(update={"peak_to_date_mw": peak})}),
                            sites, sizes)
        built, report, route = resolver.solve(case)
        routes.append(route)
        _, exact = optimize(case, SolveOptions(mip_gap=1e-6, threads=1))
        assert exact.objective_cny * (1 - 1e-6) <= report.objective_cny <= exact.objective_cny * (1 + 1e-4)
        assert report.best_bound_cny <= exact.objective_cny * (1 + 1e-9)
        assert report.mip_gap <= 1e-4
        imports = built.x[[f for f in built.program.families if f.full_name() == "imp"][0].start:][:case.steps]
        peak = max(peak, float(imports.max()))
    assert routes[0].startswith("new_model") and all(r.startswith("in_place") for r in routes[1:])
    assert "fresh" not in routes and any("rounded" in r for r in routes)
