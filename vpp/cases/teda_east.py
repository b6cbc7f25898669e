"""The built-in "teda-east" case: TEDA east district, materialised for a date.

:func:`materialize` reads the data file ``teda_east.yaml`` (shipped in the
package; every number in it is ``{value, source}``), applies any overrides,
builds the series for the day — Tianjin TOU buy prices (:mod:`vpp.tariffs`),
PV availability (:mod:`forecasts.pv`), district load (:mod:`forecasts.load`) —
and returns a validated canonical :class:`vpp.case.Case`
(``shared/spec/model.md`` §1).

Provenance travels with the case: ``case.meta["sources"]`` holds every number
of the data file with its source label ([plan], [pub], [tianjin], [assumed];
[override] for overrides), ``case.meta["derived"]`` every number computed from
them with how, and each node's and asset's ``meta`` its own labels.

The day starts at local midnight (Asia/Shanghai, +08:00) and has
``24 × 60 / step_minutes`` steps.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
import yaml

from vpp.case import Case, load_case
from vpp.errors import CaseError, Problem
from vpp.tariffs import get_tariff

TEMPLATE = "teda-east"
DATA_FILE = "teda_east.yaml"
STEP = "materialising the case"

LABELS: dict[str, str] = {
    "[plan]": "TEDA carbon-peaking implementation plan (天津经济技术开发区碳达峰实施方案)",
    "[tianjin]": "Tianjin carbon-peaking plan (天津市碳达峰实施方案, 津政发〔2022〕18号)",
    "[tj-tech]": "Tianjin science-and-technology carbon plan",
    "[pub]": "a published figure from elsewhere, named in the source text",
    "[assumed]": "ours: a documented default; replace it with real data",
    "[override]": "passed to materialize() by the caller",
}
"""The source labels a number may carry (``[pub, weak]`` counts as ``[pub]``)."""

OVERRIDES: dict[str, str] = {
    "flat_cny_per_mwh": "tariff.flat_cny_per_mwh",
    "import_max_mw": "grid.import_max_mw",
    "export_max_mw": "grid.export_max_mw",
    "sell_cny_per_mwh": "grid.sell_cny_per_mwh",
    "demand_charge_cny_per_mw": "grid.demand_charge_cny_per_mw",
    "emission_t_per_mwh": "grid.emission_t_per_mwh",
    "voll_cny_per_mwh": "case.voll_cny_per_mwh",
    "carbon_price_cny_per_t": "case.carbon_price_cny_per_t",
    "load_peak_mw": "load.inflexible_peak_mw",
    "pv_capacity_mw": "pv.total_capacity_mw",
    "pv_derate": "pv.derate",
    "battery_power_mw": "battery.total_power_mw",
    "battery_energy_mwh": "battery.total_energy_mwh",
    "battery_soc_initial": "battery.soc_initial",
    "green_premium_cny_per_mwh": "green_contracts.price.premium_cny_per_mwh",
    "dr_price_cny_per_mwh": "demand_response.price_cny_per_mwh",
    "dr_shortfall_penalty_cny_per_mwh": "demand_response.shortfall_penalty_cny_per_mwh",
}
"""Numeric overrides accepted by :func:`materialize`: keyword → path in the data file."""

OPTIONS = ("green_share_min", "demand_response", "name")
"""Other keywords of :func:`materialize`: the case's green-share target (fraction or
None), whether to include the demand-response event (bool), the case name."""


# ---------------------------------------------------------------------------
# The data file
# ---------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _data_text() -> str:
    return resources.files("vpp.cases").joinpath(DATA_FILE).read_text(encoding="utf-8")


def load_template_data() -> dict[str, Any]:
    """The raw data file (numbers still wrapped as ``{value, source}``); a fresh copy."""
    return yaml.safe_load(_data_text())


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _is_sourced(x: Any) -> bool:
    return (
        isinstance(x, Mapping)
        and "value" in x
        and "source" in x
        and set(x) <= {"value", "source", "note"}
    )


def unwrap_sources(raw: Any, path: str = "") -> tuple[Any, dict[str, dict[str, Any]]]:
    """Strip the ``{value, source}`` wrappers; return the plain data and ``{path: {value, source}}``.

    A number outside a wrapper is an error: every number must carry its label.
    List items with an ``id`` are named by it in the paths (``pv.phases[p1].share``).
    """
    sources: dict[str, dict[str, Any]] = {}
    problems: list[Problem] = []

    def walk(x: Any, where: str) -> Any:
        if _is_sourced(x):
            source = x["source"]
            if not isinstance(source, str) or not any(lbl[:-1] in source for lbl in LABELS):
                problems.append(
                    Problem(where, f"source {source!r} carries none of the labels {list(LABELS)}")
                )
            _check_numbers(x["value"], where)
            sources[where] = {"value": x["value"], "source": source}
            return x["value"]
        if isinstance(x, Mapping):
            return {k: walk(v, f"{where}.{k}" if where else str(k)) for k, v in x.items()}
        if isinstance(x, list):
            out = []
            for i, v in enumerate(x):
                key = v["id"] if isinstance(v, Mapping) and isinstance(v.get("id"), str) else str(i)
                out.append(walk(v, f"{where}[{key}]"))
            return out
        if _is_number(x):
            problems.append(
                Problem(
                    where,
                    f"the number {x!r} has no source label: write {{value: {x!r}, source: '[assumed] …'}}",
                )
            )
        return x

    def _check_numbers(v: Any, where: str) -> None:
        flat = np.asarray(v, dtype=object).ravel() if isinstance(v, list) else [v]
        if not all(_is_number(e) for e in flat):
            problems.append(
                Problem(where, f"expected a number or a list of numbers as value, got {v!r}")
            )

    plain = walk(raw, path)
    if problems:
        raise CaseError(problems, step=f"reading the {TEMPLATE} data file")
    return plain, sources


def _set_path(raw: dict[str, Any], path: str, value: Any) -> None:
    node: Any = raw
    keys = path.split(".")
    for k in keys[:-1]:
        node = node[k]
    node[keys[-1]] = {"value": value, "source": "[override] passed to materialize()"}


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise CaseError(
        [Problem("date", f"expected a date such as 2026-07-15, got {value!r}")], step=STEP
    )


def _series(x: np.ndarray) -> list[float]:
    """A series for the case: plain floats, rounded to 1e-6 (1 W for MW series)."""
    return [float(v) for v in np.round(np.asarray(x, dtype=float), 6)]


def _hours_of_day(timestamps: pd.DatetimeIndex) -> np.ndarray:
    """Local clock hour [h] at the start of each step (0 ≤ h < 24)."""
    return np.asarray(
        timestamps.hour + timestamps.minute / 60.0 + timestamps.second / 3600.0, dtype=float
    )


def _shape_mean(hours: np.ndarray, step_hours: float, anchors: list[list[float]]) -> np.ndarray:
    """Mean over each step of a piecewise-linear daily shape given as (hour, p.u.) anchors."""
    xs, ys = np.array([a[0] for a in anchors], float), np.array([a[1] for a in anchors], float)
    n = max(1, math.ceil(step_hours * 12 - 1e-9))  # ≤ 5-minute sub-intervals
    sub = hours[:, None] + (np.arange(n) + 0.5)[None, :] * step_hours / n
    return np.interp(np.mod(sub, 24.0), xs, ys).mean(axis=1)


def _step_of_hour(hour: float, step_minutes: int, steps: int) -> int:
    """The step index at local ``hour`` [h], rounded to the nearest step boundary, within [0, steps]."""
    return int(min(max(round(hour * 60 / step_minutes), 0), steps))


# ---------------------------------------------------------------------------
# Materialise
# ---------------------------------------------------------------------------


def materialize(
    date: date | datetime | str,
    step_minutes: int = 15,
    *,
    weather: pd.DataFrame | None = None,
    load_history: pd.Series | None = None,
    **overrides: Any,
) -> Case:
    """The teda-east case for local ``date``, as a validated :class:`~vpp.case.Case`.

    Parameters
    ----------
    date : datetime.date, datetime or ISO string
        The local (Beijing) day; the case runs from its midnight (+08:00).
    step_minutes : int
        Step length [min]; must divide 1440 (steps = 1440 / step_minutes; 96 by default).
    **overrides
        Numeric overrides of the data file, by keyword (see :data:`OVERRIDES`),
        recorded with the label [override]; plus ``green_share_min`` (fraction
        or None), ``demand_response`` (bool, default True) and ``name``.
    weather : DataFrame, optional
        A weather forecast covering the day (:func:`forecasts.weather.read_weather`):
        PV (the district's and the green contracts') then comes from the pvlib
        weather chain with the data file's ``pv.system`` losses instead of the
        clear sky × derate.
    load_history : Series, optional
        History of the district's inflexible load [MW] up to the day before
        (:func:`forecasts.series.read_series`): the load is then the P50 of the
        gradient-boosting forecast trained on it (:func:`forecast_load`)
        instead of the documented profile.

    ``case.meta["series_sources"]`` says where the PV, load and price series came from.

    Raises
    ------
    vpp.errors.CaseError
        For a bad date, step length or override, or a case that does not validate.
    """
    day = _as_date(date)
    problems: list[Problem] = []
    if (
        isinstance(step_minutes, bool)
        or not isinstance(step_minutes, int)
        or not 1 <= step_minutes <= 1440
        or 1440 % step_minutes
    ):
        problems.append(
            Problem(
                "step_minutes",
                f"expected a whole number of minutes dividing 1440 (e.g. 15, 30, 60), got {step_minutes!r}",
            )
        )
    unknown = sorted(set(overrides) - set(OVERRIDES) - set(OPTIONS))
    if unknown:
        problems.append(
            Problem(
                "overrides",
                f"unknown override(s) {unknown}: expected some of {sorted(OVERRIDES) + list(OPTIONS)}",
            )
        )
    for key in set(overrides) & set(OVERRIDES):
        if not _is_number(overrides[key]) or not math.isfinite(overrides[key]):
            problems.append(
                Problem(f"overrides.{key}", f"expected a finite number, got {overrides[key]!r}")
            )
    if problems:
        raise CaseError(problems, step=STEP)

    raw = load_template_data()
    for key, path in OVERRIDES.items():
        if key in overrides:
            _set_path(raw, path, overrides[key])
    d, sources = unwrap_sources(raw)
    try:
        data = _build(d, sources, day, step_minutes, overrides, weather=weather, load_history=load_history)
    except CaseError:
        raise
    except (ValueError, KeyError, TypeError) as exc:  # a bad override reaching a forecast function
        raise CaseError([Problem("", str(exc))], step=STEP) from exc
    return load_case(data)


def _build(
    d: dict[str, Any],
    sources: dict[str, dict[str, Any]],
    day: date,
    step_minutes: int,
    overrides: Mapping[str, Any],
    *,
    weather: pd.DataFrame | None = None,
    load_history: pd.Series | None = None,
) -> dict[str, Any]:
    # Imported here so that `import vpp.cases` stays light (pvlib takes ~1 s to import).
    from forecasts.load import district_load_mw, is_working_day
    from forecasts.pv import PVArray, clear_sky_pv_mw, pv_from_weather_mw

    def src(path: str) -> str:
        return sources[path]["source"]

    derived: dict[str, dict[str, Any]] = {}

    def derive(key: str, value: Any, how: str) -> Any:
        derived[key] = {"value": value, "source": how}
        return value

    steps = 1440 // step_minutes
    dt_h = step_minutes / 60.0
    tz = d["location"]["timezone"]
    start = pd.Timestamp(day).tz_localize(tz)
    ts = pd.date_range(start, periods=steps, freq=pd.Timedelta(minutes=step_minutes))
    hours = _hours_of_day(ts)
    month = day.month
    lat, lon = d["location"]["latitude_deg"], d["location"]["longitude_deg"]
    altitude = d["location"]["altitude_m"]
    workday = is_working_day(day)

    # -- tariff ------------------------------------------------------------------
    tariff = get_tariff(d["tariff"]["name"])
    flat = float(d["tariff"]["flat_cny_per_mwh"])
    buy = tariff.prices(ts, flat)
    periods = tariff.periods(ts)
    period_prices = tariff.period_prices_cny_per_mwh(flat)

    # -- network -----------------------------------------------------------------
    root = d["network"]["root"]
    nodes = []
    for n in d["network"]["nodes"]:
        cap = n["transformers"] * n["transformer_mva"] * n["power_factor"]
        p = f"network.nodes[{n['id']}]"
        derive(
            f"{p}.capacity_mw",
            cap,
            f"{n['transformers']:g} × {n['transformer_mva']:g} MVA × power factor {n['power_factor']:g}: {src(p + '.transformer_mva')}",
        )
        nodes.append(
            {
                "id": n["id"],
                "name": n["name"],
                "parent": n["parent"],
                "capacity_mw": cap,
                "meta": {
                    "source": f"{n['site_source']}; capacity {src(p + '.transformer_mva')}, {src(p + '.power_factor')}",
                    "sources": {
                        "transformers": src(p + ".transformers"),
                        "transformer_mva": src(p + ".transformer_mva"),
                        "power_factor": src(p + ".power_factor"),
                        **({"parent": n["parent_source"]} if "parent_source" in n else {}),
                    },
                },
            }
        )
    node_ids = {n["id"] for n in nodes} | {root}

    def check_shares(shares: Mapping[str, float], where: str) -> None:
        bad = sorted(set(shares) - node_ids)
        if bad:
            raise CaseError(
                [Problem(where, f"unknown node(s) {bad}: expected some of {sorted(node_ids)}")],
                step=STEP,
            )
        if abs(sum(shares.values()) - 1.0) > 1e-6:
            raise CaseError(
                [Problem(where, f"shares must add up to 1, got {sum(shares.values()):g}")],
                step=STEP,
            )

    assets: list[dict[str, Any]] = []

    # -- inflexible district load --------------------------------------------------
    ld = d["load"]
    check_shares(ld["shares"], "load.shares")
    series_sources: dict[str, str] = {
        "prices": f"{d['tariff']['name']}: {d['tariff']['source']}",
    }
    if load_history is None:
        district = district_load_mw(
            ts, ld["inflexible_peak_mw"], timezone=tz, step_minutes=step_minutes
        )
        series_sources["load"] = (
            f"documented district profile (forecasts.load.district_load_mw), peak "
            f"{ld['inflexible_peak_mw']:g} MW {src('load.inflexible_peak_mw')}; no load history given"
        )
    else:
        forecast = forecast_load(day, load_history=load_history, step_minutes=step_minutes)
        district = forecast.quantiles[0.5].to_numpy()
        series_sources["load"] = forecast.source
    for node, share in ld["shares"].items():
        assets.append(
            {
                "id": "load-rest-of-district" if node == root else f"load-{node}",
                "type": "load",
                "node": node,
                "name": "district load on the substations not modelled"
                if node == root
                else f"district load at {node}",
                "demand_mw": _series(district * share),
                "meta": {
                    "source": f"{src('load.inflexible_peak_mw')}; share {src(f'load.shares.{node}')}",
                    "sources": {
                        "peak_mw": src("load.inflexible_peak_mw"),
                        "share": src(f"load.shares.{node}"),
                    },
                    "peak_mw": ld["inflexible_peak_mw"] * share,
                    "share": share,
                    "profile": ld["profile"],
                    "working_day": workday.working,
                    "calendar": workday.source,
                },
            }
        )

    # -- PV -------------------------------------------------------------------------
    pv = d["pv"]
    check_shares(pv["site_shares"], "pv.site_shares")
    phase_total = sum(ph["share"] for ph in pv["phases"])
    if abs(phase_total - 1.0) > 1e-6:
        raise CaseError(
            [Problem("pv.phases", f"phase shares must add up to 1, got {phase_total:g}")], step=STEP
        )
    unit_cache: dict[tuple[float, float], np.ndarray] = {}
    system = pv_system(pv)
    day_weather = None
    if weather is not None:
        from forecasts.weather import weather_for_day

        day_weather = weather_for_day(weather, day, tz)

    def pv_per_mw(tilt: float, azimuth: float) -> np.ndarray:
        """Expected PV [MW per MW installed] for the day."""
        if (tilt, azimuth) not in unit_cache:
            if day_weather is not None:
                unit = PVArray("unit", 1.0, tilt, azimuth)
                unit_cache[(tilt, azimuth)] = pv_from_weather_mw(
                    ts, day_weather, [unit], lat, lon, altitude_m=altitude, albedo=pv["albedo"],
                    system=system, step_minutes=step_minutes,
                )["unit"].to_numpy()
            else:
                unit_cache[(tilt, azimuth)] = clear_sky_pv_mw(
                    ts,
                    lat,
                    lon,
                    1.0,
                    tilt,
                    azimuth,
                    pv["derate"],
                    altitude_m=altitude,
                    albedo=pv["albedo"],
                    step_minutes=step_minutes,
                )
        return unit_cache[(tilt, azimuth)]

    if day_weather is None:
        pv_how = (
            "forecasts.pv.clear_sky_pv_mw: pvlib Ineichen clear sky (Linke turbidity climatology), "
            "isotropic transposition, × capacity × derate / 1000 W/m², mean over each step"
        )
        series_sources["pv"] = (
            f"no weather forecast: clear sky × the climatological clear-sky index 0.691 ([plan] 4,935 MJ/m² a year) "
            f"× performance ratio 0.833 [assumed] = derate {pv['derate']:g} ({src('pv.derate')})"
        )
    else:
        pv_how = (
            f"forecasts.pv.pv_from_weather_mw: weather {day_weather.attrs.get('source')} "
            f"({day_weather.attrs.get('irradiance')}, {day_weather.attrs.get('step_minutes')} min), pvlib SPA, "
            f"Ineichen clear sky, Erbs decomposition, {system.transposition} transposition, SAPM cell temperature "
            f"({system.temperature_model}), PVWatts DC ({system.gamma_pdc_per_c:g}/°C, DC loss {system.dc_loss:g}) "
            f"and inverter (η {system.inverter_efficiency:g}, DC/AC {system.dc_ac_ratio:g})"
        )
        defaults = day_weather.attrs.get("defaults") or []
        series_sources["pv"] = "weather file " + pv_how.split("weather ", 1)[1] + (
            f"; not in the file, so assumed: {', '.join(defaults)}" if defaults else ""
        )

    pv_total = np.zeros(steps)
    for node, site_share in pv["site_shares"].items():
        for ph in pv["phases"]:
            cap = pv["total_capacity_mw"] * site_share * ph["share"]
            avail = pv_per_mw(ph["tilt_deg"], ph["azimuth_deg"]) * cap
            pv_total += avail
            p = f"pv.phases[{ph['id']}]"
            assets.append(
                {
                    "id": f"pv-{node}-{ph['id']}",
                    "type": "pv",
                    "node": node,
                    "name": f"rooftop PV {ph['name']} at {node}",
                    "available_mw": _series(avail),
                    "curtailment_cny_per_mwh": pv["curtailment_cny_per_mwh"],
                    "meta": {
                        "source": f"{src('pv.total_capacity_mw')}; split {src(f'pv.site_shares.{node}')}, {src(p + '.share')}",
                        "sources": {
                            "total_capacity_mw": src("pv.total_capacity_mw"),
                            "site_share": src(f"pv.site_shares.{node}"),
                            "phase_share": src(p + ".share"),
                            "tilt_deg": src(p + ".tilt_deg"),
                            "azimuth_deg": src(p + ".azimuth_deg"),
                            "derate": src("pv.derate"),
                            "albedo": src("pv.albedo"),
                            "curtailment_cny_per_mwh": src("pv.curtailment_cny_per_mwh"),
                        },
                        "capacity_mw": cap,
                        "phase": ph["id"],
                        "tilt_deg": ph["tilt_deg"],
                        "azimuth_deg": ph["azimuth_deg"],
                        "derate": pv["derate"],
                        "albedo": pv["albedo"],
                        "forecast": pv_how,
                    },
                }
            )
    derive(
        "pv.peak_available_mw",
        float(pv_total.max()),
        "sum of the PV assets' available_mw, its maximum over the day",
    )

    # -- batteries ------------------------------------------------------------------
    bt = d["battery"]
    bad = sorted(set(bt["sites"]) - node_ids)
    if bad:
        raise CaseError([Problem("battery.sites", f"unknown node(s) {bad}")], step=STEP)
    if abs(bt["site_share"] * len(bt["sites"]) - 1.0) > 1e-6:
        raise CaseError(
            [Problem("battery.site_share", f"site_share × {len(bt['sites'])} sites must be 1")],
            step=STEP,
        )
    battery_fields = (
        "charge_efficiency",
        "discharge_efficiency",
        "soc_min",
        "soc_max",
        "soc_initial",
        "degradation_cny_per_mwh",
    )
    for node in bt["sites"]:
        power, energy = (
            bt["total_power_mw"] * bt["site_share"],
            bt["total_energy_mwh"] * bt["site_share"],
        )
        assets.append(
            {
                "id": f"bess-{node}",
                "type": "battery",
                "node": node,
                "name": f"battery storage at {node}",
                "power_mw": power,
                "energy_mwh": energy,
                **{f: bt[f] for f in battery_fields},
                "meta": {
                    "source": f"{src('battery.total_energy_mwh')}; {bt['sites_source']}; split {src('battery.site_share')}",
                    "sources": {
                        "total_power_mw": src("battery.total_power_mw"),
                        "total_energy_mwh": src("battery.total_energy_mwh"),
                        "sites": bt["sites_source"],
                        "site_share": src("battery.site_share"),
                        **{f: src(f"battery.{f}") for f in battery_fields},
                        "soc_final_min": "[assumed] = soc_initial (the spec default)",
                    },
                    "duration_h": energy / power if power else None,
                },
            }
        )

    # -- curtailable industrial plant -------------------------------------------------
    cl = d["curtailable_load"]
    min_steps = max(1, math.ceil(cl["min_duration_minutes"] / step_minutes - 1e-9))
    assets.append(
        {
            "id": cl["id"],
            "type": "curtailable_load",
            "node": cl["node"],
            "name": cl["name"],
            "demand_mw": cl["demand_mw"],
            "max_reduction_mw": cl["max_reduction_mw"],
            "cost_cny_per_mwh": cl["cost_cny_per_mwh"],
            "min_duration_steps": min_steps,
            "max_events": int(cl["max_events"]),
            "meta": {
                "source": src("curtailable_load.demand_mw"),
                "sources": {
                    f: src(f"curtailable_load.{f}")
                    for f in (
                        "demand_mw",
                        "max_reduction_mw",
                        "cost_cny_per_mwh",
                        "min_duration_minutes",
                        "max_events",
                    )
                },
                "min_duration_minutes": cl["min_duration_minutes"],
            },
        }
    )

    # -- shiftable batch process ------------------------------------------------------
    sl = d["shiftable_load"]
    run_steps = max(1, math.ceil(sl["duration_hours"] / dt_h - 1e-9))
    run_power = (
        sl["power_mw"] * sl["duration_hours"] / (run_steps * dt_h)
    )  # same energy on any grid
    earliest = min(max(math.floor(sl["earliest_start_hour"] / dt_h + 1e-9), 0), steps - 1)
    latest = min(max(math.ceil(sl["latest_end_hour"] / dt_h - 1e-9), 1), steps)
    assets.append(
        {
            "id": sl["id"],
            "type": "shiftable_load",
            "node": sl["node"],
            "name": sl["name"],
            "profile_mw": [run_power] * run_steps,
            "earliest_start": earliest,
            "latest_end": latest,
            "meta": {
                "source": src("shiftable_load.power_mw"),
                "sources": {
                    f: src(f"shiftable_load.{f}")
                    for f in (
                        "power_mw",
                        "duration_hours",
                        "earliest_start_hour",
                        "latest_end_hour",
                    )
                },
                "energy_mwh": sl["power_mw"] * sl["duration_hours"],
            },
        }
    )

    # -- EV fleet ----------------------------------------------------------------------
    ev = d["flexible_load"]
    parked = np.zeros(steps, dtype=bool)
    for a, b in ev["depot_hours"]:
        parked |= (hours >= a) & (hours < b)
    max_power = np.where(parked, ev["depot_max_power_mw"], ev["daytime_max_power_mw"])
    by_step = min(max(_step_of_hour(ev["morning_requirement_hour"], step_minutes, steps), 1), steps)
    assets.append(
        {
            "id": ev["id"],
            "type": "flexible_load",
            "node": ev["node"],
            "name": ev["name"],
            "min_power_mw": ev["min_power_mw"],
            "max_power_mw": _series(max_power),
            "energy_mwh": ev["energy_mwh"],
            "requirements": [{"by_step": by_step, "energy_mwh": ev["morning_requirement_mwh"]}],
            "meta": {
                "source": src("flexible_load.energy_mwh"),
                "sources": {
                    f: src(f"flexible_load.{f}")
                    for f in (
                        "energy_mwh",
                        "depot_max_power_mw",
                        "depot_hours",
                        "daytime_max_power_mw",
                        "min_power_mw",
                        "morning_requirement_mwh",
                        "morning_requirement_hour",
                    )
                },
            },
        }
    )

    # -- Yujiapu ice storage / electric heat store -----------------------------------------
    th = d["thermal_storage"]
    season = next((s for s in ("cooling", "heating") if month in th[s]["months"]), None)
    direct_electric = np.zeros(steps)  # electricity to meet the thermal demand with no storage [MW]
    if season is None:
        derive(
            "thermal_storage.season",
            "none",
            f"{month=} is in neither the cooling nor the heating months: the store is idle and left out",
        )
    else:
        se = th[season]
        peak_th = se["peak_demand_w_per_m2"] * th["served_area_m2"] / 1e6
        derive(
            f"thermal_storage.{season}.peak_demand_mw_th",
            peak_th,
            f"{src(f'thermal_storage.{season}.peak_demand_w_per_m2')} × {src('thermal_storage.served_area_m2')}",
        )
        demand_th = peak_th * _shape_mean(hours, dt_h, se["shape_pu"])
        if not workday.working:
            demand_th = demand_th * th["non_working_day_factor"]
        direct_electric = demand_th / se["cop"]
        assets.append(
            {
                "id": th["id"],
                "type": "thermal_storage",
                "node": th["node"],
                "name": f"{th['name']} ({season})",
                "max_power_mw": se["max_power_mw"],
                "cop": se["cop"],
                "thermal_demand_mw": _series(demand_th),
                "capacity_mwh_th": th["capacity_mwh_th"],
                "level_initial": th["level_initial"],
                "loss_per_hour": th["loss_per_hour"],
                "meta": {
                    "source": th["source"],
                    "sources": {
                        "node": th["node_source"],
                        "served_area_m2": src("thermal_storage.served_area_m2"),
                        "capacity_mwh_th": src("thermal_storage.capacity_mwh_th"),
                        "level_initial": src("thermal_storage.level_initial"),
                        "loss_per_hour": src("thermal_storage.loss_per_hour"),
                        "non_working_day_factor": src("thermal_storage.non_working_day_factor"),
                        **{
                            f: src(f"thermal_storage.{season}.{f}")
                            for f in (
                                "months",
                                "cop",
                                "max_power_mw",
                                "peak_demand_w_per_m2",
                                "shape_pu",
                            )
                        },
                    },
                    "season": season,
                    "peak_demand_mw_th": peak_th,
                    "thermal_energy_mwh_th": float(demand_th.sum() * dt_h),
                },
            }
        )

    # -- green contracts ------------------------------------------------------------------
    gc = d["green_contracts"]
    price = flat + gc["price"]["premium_cny_per_mwh"]
    derive(
        "green_contracts.price_cny_per_mwh",
        price,
        f"flat {src('tariff.flat_cny_per_mwh')} + premium {src('green_contracts.price.premium_cny_per_mwh')}",
    )
    green_pv = pv_per_mw(gc["pv_tilt_deg"], gc["pv_azimuth_deg"])
    for c in gc["contracts"]:
        p = f"green_contracts.contracts[{c['id']}]"
        wind_mean = 0.0
        if c["wind_mw"] > 0:
            if "annual_energy_gwh" not in c:
                raise CaseError(
                    [
                        Problem(
                            p,
                            "a contract with wind_mw > 0 needs annual_energy_gwh to set its mean wind power",
                        )
                    ],
                    step=STEP,
                )
            pv_mwh = c["pv_mw"] * gc["pv_yield_kwh_per_kwp"]  # MW × kWh/kW = MWh
            wind_mean = min(max((c["annual_energy_gwh"] * 1000 - pv_mwh) / 8760, 0.0), c["wind_mw"])
            derive(
                f"{p}.wind_mean_mw",
                wind_mean,
                f"({src(p + '.annual_energy_gwh')} − PV {c['pv_mw']:g} MW × {src('green_contracts.pv_yield_kwh_per_kwp')}) / 8760 h; {c['wind_profile']}",
            )
        available = green_pv * c["pv_mw"] + wind_mean
        assets.append(
            {
                "id": c["id"],
                "type": "green_contract",
                "name": c["name"],
                "available_mw": _series(available),
                "price_cny_per_mwh": price,
                "min_take": gc["min_take"],
                "optional": bool(gc["optional"]),
                "meta": {
                    "source": c["source"],
                    "sources": {
                        "pv_mw": src(p + ".pv_mw"),
                        "wind_mw": src(p + ".wind_mw"),
                        **(
                            {"annual_energy_gwh": src(p + ".annual_energy_gwh")}
                            if "annual_energy_gwh" in c
                            else {}
                        ),
                        "premium_cny_per_mwh": src("green_contracts.price.premium_cny_per_mwh"),
                        "energy_price": gc["price"]["energy_basis"],
                        "min_take": src("green_contracts.min_take"),
                        "pv_derate": src("pv.derate"),
                    },
                    "pv_mw": c["pv_mw"],
                    "wind_mean_mw": wind_mean,
                    "derate": pv["derate"],
                },
            }
        )

    # -- demand-response event ---------------------------------------------------------------
    events = []
    if overrides.get("demand_response", True):
        dr = d["demand_response"]
        key = (
            "jul_aug"
            if month in (7, 8)
            else "jan_feb_dec"
            if month in (1, 2, 12)
            else "other_months"
        )
        h0, h1 = dr["window_hours"][key]
        s0 = min(_step_of_hour(h0, step_minutes, steps), steps - 1)
        s1 = max(_step_of_hour(h1, step_minutes, steps), s0 + 1)
        reduction = dr["reduction_share_of_peak"] * d["load"]["district_peak_mw"]
        derive(
            "demand_response.reduction_mw",
            reduction,
            f"{src('demand_response.reduction_share_of_peak')} × district peak {src('load.district_peak_mw')}",
        )
        energy = reduction * (s1 - s0) * dt_h
        if not dr["event_energy_min_mwh"] - 1e-9 <= energy <= dr["event_energy_max_mwh"] + 1e-9:
            raise CaseError(
                [
                    Problem(
                        "demand_response",
                        f"the event's {energy:g} MWh is outside the Tianjin DR range for aggregators "
                        f"[{dr['event_energy_min_mwh']:g}, {dr['event_energy_max_mwh']:g}] MWh",
                    )
                ],
                step=STEP,
            )
        baseline = district + d["curtailable_load"]["demand_mw"] + direct_electric - pv_total
        events.append(
            {
                "id": dr["id"],
                "name": dr["name"],
                "start_step": s0,
                "end_step": s1,
                "baseline_mw": _series(baseline),
                "reduction_mw": reduction,
                "price_cny_per_mwh": dr["price_cny_per_mwh"],
                "shortfall_penalty_cny_per_mwh": dr["shortfall_penalty_cny_per_mwh"],
                "optional": bool(dr["optional"]),
                "meta": {
                    "source": f"{src('demand_response.reduction_share_of_peak')}; window {src(f'demand_response.window_hours.{key}')}",
                    "sources": {
                        "window_hours": src(f"demand_response.window_hours.{key}"),
                        "reduction_share_of_peak": src("demand_response.reduction_share_of_peak"),
                        "district_peak_mw": src("load.district_peak_mw"),
                        "price_cny_per_mwh": src("demand_response.price_cny_per_mwh"),
                        "shortfall_penalty_cny_per_mwh": src(
                            "demand_response.shortfall_penalty_cny_per_mwh"
                        ),
                        "event_energy_limits_mwh": src("demand_response.event_energy_min_mwh"),
                    },
                    "window_local": f"{h0:02g}:00–{h1:02g}:00",
                    "event_energy_mwh": energy,
                    "baseline": dr["baseline"],
                },
            }
        )

    grid = d["grid"]
    return {
        "name": overrides.get("name", TEMPLATE),
        "description": f"{d['description']} Materialised for {day.isoformat()} ({'working day' if workday.working else 'non-working day'}).",
        "start": start.isoformat(),
        "step_minutes": step_minutes,
        "steps": steps,
        "voll_cny_per_mwh": d["case"]["voll_cny_per_mwh"],
        "carbon_price_cny_per_t": d["case"]["carbon_price_cny_per_t"],
        "green_share_min": overrides.get("green_share_min"),
        "network": {"root": root, "nodes": nodes},
        "grid": {
            "name": d["network"]["root_name"],
            "import_max_mw": grid["import_max_mw"],
            "export_max_mw": grid["export_max_mw"],
            "buy_cny_per_mwh": _series(buy),
            "sell_cny_per_mwh": grid["sell_cny_per_mwh"],
            "demand_charge_cny_per_mw": grid["demand_charge_cny_per_mw"],
            "emission_t_per_mwh": grid["emission_t_per_mwh"],
            "meta": {
                "source": f"{d['tariff']['source']}; flat {src('tariff.flat_cny_per_mwh')}",
                "sources": {
                    "buy_cny_per_mwh": f"{tariff.name}: {d['tariff']['source']}; flat {src('tariff.flat_cny_per_mwh')}",
                    **{
                        f: src(f"grid.{f}")
                        for f in (
                            "import_max_mw",
                            "export_max_mw",
                            "sell_cny_per_mwh",
                            "demand_charge_cny_per_mw",
                            "emission_t_per_mwh",
                        )
                    },
                },
            },
        },
        "assets": assets,
        "demand_response": events,
        "meta": {
            "template": TEMPLATE,
            "date": day.isoformat(),
            "timezone": tz,
            "step_minutes": step_minutes,
            "working_day": workday.working,
            "calendar": workday.source,
            "calendar_fallback": workday.fallback,
            "tariff": {
                "name": tariff.name,
                "source": d["tariff"]["source"],
                "flat_cny_per_mwh": flat,
                "flat_source": src("tariff.flat_cny_per_mwh"),
                "period_prices_cny_per_mwh": {
                    p: period_prices[p] for p in tariff.month_periods(month)
                },
                "month_periods": tariff.month_periods(month),
                "periods": periods,
            },
            "series_sources": series_sources,
            "sources": sources,
            "derived": derived,
            "overrides": {k: overrides[k] for k in sorted(overrides)},
            "labels": LABELS,
        },
    }


# ---------------------------------------------------------------------------
# Forecasts of the case's series (used by materialize and by `vpp forecast`)
# ---------------------------------------------------------------------------


@dataclass
class DayForecast:
    """Quantile forecasts of one of the case's series for a day, and where they came from.

    ``quantiles``: one row per step, one column per level [MW] (the district
    total for load, the fleet total for PV); ``parts``: the same per asset
    (columns ``(asset id, level)``); ``rho``: step-to-step error correlation for
    :func:`forecasts.scenarios.generate_scenarios`; ``source``: provenance text.
    """

    quantiles: pd.DataFrame
    parts: pd.DataFrame
    source: str
    rho: float
    extra: dict[str, Any] = field(default_factory=dict)


def pv_system(pv: Mapping[str, Any]) -> Any:
    """The data file's ``pv.system`` (plain values) as a :class:`forecasts.pv.PVSystem`."""
    from forecasts.pv import PVSystem

    sys_ = pv.get("system") or {}
    return PVSystem(**{k: v for k, v in sys_.items() if k in PVSystem.__dataclass_fields__})


def pv_fleet(d: Mapping[str, Any] | None = None) -> list[Any]:
    """The district's PV arrays, one per asset (``pv-<node>-<phase>``), from the data file."""
    from forecasts.pv import PVArray

    if d is None:
        d, _ = unwrap_sources(load_template_data())
    pv = d["pv"]
    return [
        PVArray(
            f"pv-{node}-{ph['id']}",
            pv["total_capacity_mw"] * site_share * ph["share"],
            ph["tilt_deg"],
            ph["azimuth_deg"],
        )
        for node, site_share in pv["site_shares"].items()
        for ph in pv["phases"]
    ]


def _day_index(day: date, tz: str, step_minutes: int) -> pd.DatetimeIndex:
    start = pd.Timestamp(day).tz_localize(tz)
    return pd.date_range(start, periods=1440 // step_minutes, freq=pd.Timedelta(minutes=step_minutes))


PV_ERROR_RHO = 0.95
"""Correlation of PV forecast errors from one 15-minute step to the next, for scenarios of a
physical (weather-driven) forecast that has no history to fit it from [assumed]."""


def forecast_pv(
    day: date | datetime | str,
    *,
    weather: pd.DataFrame | None = None,
    pv_history: pd.Series | None = None,
    quantiles: tuple[float, ...] = (0.1, 0.5, 0.9),
    step_minutes: int = 15,
) -> DayForecast:
    """PV of every district asset for ``day`` [MW], as quantiles.

    - with ``weather``: the pvlib chain per asset; quantiles from the [assumed]
      clear-sky-index error spread of :func:`forecasts.pv.clear_sky_index_quantiles`;
    - else with ``pv_history`` (the fleet's measured MW): clear sky × the
      measured/clear-sky ratio of the last ``pv.history_clear_sky_index_days``
      days before ``day`` (the recent clear-sky index), same spread;
    - else clear sky × the climatological clear-sky index 0.691 of the [plan].
    """
    from forecasts.pv import (
        CLOUD_FACTOR,
        clear_sky_index_quantiles,
        pv_from_clear_sky_index_mw,
        pv_from_weather_mw,
        recent_clear_sky_index,
    )
    from forecasts.weather import weather_for_day

    the_day = _as_date(day)
    d, _ = unwrap_sources(load_template_data())
    loc, pv = d["location"], d["pv"]
    tz = loc["timezone"]
    site = (loc["latitude_deg"], loc["longitude_deg"])
    kw = {"altitude_m": loc["altitude_m"], "albedo": pv["albedo"], "system": pv_system(pv), "step_minutes": step_minutes}
    arrays = pv_fleet(d)
    ts = _day_index(the_day, tz, step_minutes)
    levels = tuple(sorted(set(quantiles) | {0.5}))
    extra: dict[str, Any] = {}
    if weather is not None:
        w = weather_for_day(weather, the_day, tz)
        parts = pv_from_weather_mw(ts, w, arrays, *site, quantiles=levels, **kw)
        source = (
            f"weather file {w.attrs.get('source')} ({w.attrs.get('irradiance')}, {w.attrs.get('step_minutes')} min) "
            "through the pvlib chain of forecasts.pv.pv_from_weather_mw; quantiles from the clear-sky-index "
            "error spread σ = 0.08 + 0.30·4kt(1−kt) [assumed]"
        )
    else:
        kt, how = CLOUD_FACTOR, "the climatological clear-sky index 0.691 ([plan] 4,935 MJ/m² a year)"
        if pv_history is not None:
            days = int(pv["history_clear_sky_index_days"])
            start = ts[0] - pd.Timedelta(days=days)
            hist = pv_history[(pv_history.index >= start) & (pv_history.index < ts[0])]
            if not hist.dropna().empty:
                hist_step = int(hist.attrs.get("step_minutes") or 15)
                hidx = pd.date_range(start, ts[0], freq=pd.Timedelta(minutes=hist_step), inclusive="left")
                clear = pv_from_clear_sky_index_mw(hidx, 1.0, arrays, *site, **{**kw, "step_minutes": hist_step}).sum(axis=1)
                recent = recent_clear_sky_index(hist.reindex(hidx), clear, ts[0], days)
                if recent is not None:
                    kt = float(np.clip(recent, 0.0, 1.2))
                    how = (
                        f"the recent clear-sky index {kt:.3f}: measured / clear-sky PV over the {days} days before "
                        f"{the_day.isoformat()} in {pv_history.attrs.get('source', 'the PV history')}"
                    )
            if "recent" not in how:
                raise CaseError(
                    [Problem("pv_history", f"no PV measurements in the {days} days before {the_day.isoformat()}")],
                    step="forecasting PV",
                )
        extra["clear_sky_index"] = kt
        kts = clear_sky_index_quantiles(np.full(len(ts), kt), levels)
        kts[0.5] = np.full(len(ts), kt)
        frames = {q: pv_from_clear_sky_index_mw(ts, kts[q], arrays, *site, **kw) for q in levels}
        parts = pd.concat(frames, axis=1).swaplevel(0, 1, axis=1)
        parts.columns = parts.columns.set_names(["array", "quantile"])
        source = (
            f"no weather forecast: clear sky × {how}, through the pvlib chain at 20 °C and 1 m/s; quantiles "
            "from the clear-sky-index error spread σ = 0.08 + 0.30·4kt(1−kt) [assumed]"
        )
    total = pd.DataFrame({q: parts.xs(q, axis=1, level="quantile").sum(axis=1) for q in levels})
    source += "; step-to-step error correlation for scenarios 0.95 [assumed]"
    return DayForecast(quantiles=total, parts=parts, source=source, rho=PV_ERROR_RHO, extra=extra)


def forecast_load(
    day: date | datetime | str,
    *,
    load_history: pd.Series | None = None,
    quantiles: tuple[float, ...] = (0.1, 0.5, 0.9),
    step_minutes: int = 15,
) -> DayForecast:
    """The district's inflexible load for ``day`` [MW], as quantiles, split over the nodes by ``load.shares``.

    With ``load_history`` (MW up to the day before): LightGBM quantile
    forecast (:class:`forecasts.model.DayAheadForecaster`) trained on all of it
    before the day's midnight. Without: the documented profile, with a ±5 %
    band [assumed] (no history, so no measured error to size it from).
    """
    from forecasts.load import district_load_mw
    from forecasts.model import DayAheadForecaster
    from forecasts.series import resample_mean, step_of

    the_day = _as_date(day)
    d, sources = unwrap_sources(load_template_data())
    ld = d["load"]
    tz = d["location"]["timezone"]
    ts = _day_index(the_day, tz, step_minutes)
    levels = tuple(sorted(set(quantiles) | {0.5}))
    extra: dict[str, Any] = {}
    if load_history is None:
        base = district_load_mw(ts, ld["inflexible_peak_mw"], timezone=tz, step_minutes=step_minutes)
        from scipy.stats import norm

        total = pd.DataFrame({q: base * (1 + 0.05 / norm.ppf(0.9) * norm.ppf(q)) for q in levels}, index=ts)
        source = (
            f"documented district profile (forecasts.load.district_load_mw), peak {ld['inflexible_peak_mw']:g} MW "
            f"{sources['load.inflexible_peak_mw']['source']}; P10/P90 at ±5 % [assumed]; no load history given"
        )
        rho = 0.95
    else:
        name = load_history.attrs.get("source", "the load history")
        hist = load_history.tz_convert(tz) if load_history.index.tz is not None else load_history
        hist.attrs = dict(load_history.attrs)
        native = step_of(hist)
        if native < step_minutes:
            hist = resample_mean(hist, step_minutes)
        origin = ts[0]
        hist = hist[hist.index < origin]
        hist.attrs = dict(load_history.attrs, step_minutes=min(max(native, step_minutes), 1440))
        if hist.dropna().empty or hist.dropna().index[-1] < origin - pd.Timedelta(days=1):
            last = "no values before it" if hist.dropna().empty else f"it ends {hist.dropna().index[-1].isoformat()}"
            raise CaseError(
                [
                    Problem(
                        "load_history",
                        f"{name}: a day-ahead forecast of {the_day.isoformat()} needs the load up to the day before; {last}",
                    )
                ],
                step="forecasting the load",
            )
        model = DayAheadForecaster(kind="load", quantiles=levels)
        try:
            model.fit(hist)
            fc = model.predict(the_day, hist)
        except ValueError as exc:
            raise CaseError([Problem("load_history", f"{name}: {exc}")], step="forecasting the load") from None
        if step_of(hist) > step_minutes:  # coarser history: hold each value over the finer steps
            fc = fc.reindex(ts, method="ffill")
        total = fc.set_axis(ts)
        n_days = hist.dropna().index.normalize().nunique()
        source = (
            f"LightGBM quantile forecast (forecasts.model.DayAheadForecaster) trained on {name}: {n_days} days "
            f"to {model.train_end_.isoformat()} (calendar, lags of 1, 7 and 14 days), fit in {model.fit_seconds_:.1f} s"
        )
        rho = model.rho_
        extra.update(train_end=model.train_end_.isoformat(), fit_seconds=model.fit_seconds_)
    root = d["network"]["root"]
    parts = pd.concat(
        {
            ("load-rest-of-district" if node == root else f"load-{node}"): total * share
            for node, share in ld["shares"].items()
        },
        axis=1,
    )
    parts.columns = parts.columns.set_names(["asset", "quantile"])
    return DayForecast(quantiles=total, parts=parts, source=source, rho=rho, extra=extra)
