"""The built-in "teda-east" case: TEDA east district, materialised for a date.

:func:`materialize` reads the data file ``teda_east.yaml`` (shipped in the
package; every number in it is ``{value, source}``), applies any overrides,
builds the series for the day — Tianjin TOU buy prices (:mod:`vpp.tariffs`),
PV availability (:mod:`forecasts.pv`), district load (:mod:`forecasts.load`) —
and returns a validated canonical :class:`vpp.case.Case`
(``shared/spec/model.md`` §1).

The case is built section by section, one function each, in the order of the
data file: the tariff, the network, the district load, PV, batteries, the
curtailable plant, the shiftable batch process, the EV fleet, the thermal
store, the green contracts, the demand-response event, then the grid and the
case's provenance. :func:`site` describes the place for the forecasts
(:mod:`vpp.cases.forecasting`).

Provenance travels with the case: ``case.meta["sources"]`` holds every number
of the data file with its source label ([plan], [pub], [tianjin], [assumed];
[override] for overrides), ``case.meta["derived"]`` every number computed from
them with how, each node's and asset's ``meta`` its own labels, and
``case.meta["assumptions"]`` one line for each thing assumed about the day
(a date outside the tariff's or the calendar's data, a holiday).

The day starts at local midnight (Asia/Shanghai, +08:00) and has
``24 × 60 / step_minutes`` steps.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property, lru_cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
import yaml

from vpp.case import Case, load_case
from vpp.cases.forecasting import Site, forecast_load
from vpp.cases.sources import LABELS, is_number, unwrap_sources
from vpp.errors import CaseError, Problem
from vpp.tariffs import TouTariff, get_tariff

TEMPLATE = "teda-east"
DATA_FILE = "teda_east.yaml"
STEP = "materialising the case"

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

Asset = dict[str, Any]


# ---------------------------------------------------------------------------
# The data file
# ---------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _data_text() -> str:
    return resources.files("vpp.cases").joinpath(DATA_FILE).read_text(encoding="utf-8")


def load_template_data() -> dict[str, Any]:
    """The raw data file (numbers still wrapped as ``{value, source}``); a fresh copy."""
    return yaml.safe_load(_data_text())


def template_data() -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The data file's plain numbers and their sources (``{path: {value, source}}``)."""
    return unwrap_sources(load_template_data(), what=f"the {TEMPLATE} data file")


def timezone() -> str:
    """The district's time zone (IANA name): its days start at local midnight."""
    return load_template_data()["location"]["timezone"]


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
    from vpp.cases.days import parse_date

    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return parse_date(value.strip())
        except ValueError as exc:
            raise CaseError([Problem("date", str(exc))], step=STEP) from None
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


def _fail(where: str, message: str) -> CaseError:
    return CaseError([Problem(where, message)], step=STEP)


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
        gradient-boosting forecast trained on it
        (:func:`vpp.cases.forecasting.forecast_load`) instead of the documented profile.

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
        if not is_number(overrides[key]) or not math.isfinite(overrides[key]):
            problems.append(
                Problem(f"overrides.{key}", f"expected a finite number, got {overrides[key]!r}")
            )
    if problems:
        raise CaseError(problems, step=STEP)

    raw = load_template_data()
    for key, path in OVERRIDES.items():
        if key in overrides:
            _set_path(raw, path, overrides[key])
    d, sources = unwrap_sources(raw, what=f"the {TEMPLATE} data file")
    try:
        data = _build(_Day(d, sources, day, step_minutes), overrides, weather=weather, load_history=load_history)
    except CaseError:
        raise
    except (ValueError, KeyError, TypeError) as exc:  # a bad override reaching a forecast function
        raise CaseError([Problem("", str(exc))], step=STEP) from exc
    return load_case(data)


@dataclass
class _Day:
    """The data file's numbers for one day: the step grid, the calendar and the provenance kept so far."""

    d: dict[str, Any]
    sources: dict[str, dict[str, Any]]
    day: date
    step_minutes: int
    derived: dict[str, dict[str, Any]] = field(default_factory=dict)
    series_sources: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from forecasts.load import is_working_day

        self.steps = 1440 // self.step_minutes
        self.dt_h = self.step_minutes / 60.0
        self.tz = self.d["location"]["timezone"]
        self.start = pd.Timestamp(self.day).tz_localize(self.tz)
        self.ts = pd.date_range(self.start, periods=self.steps, freq=pd.Timedelta(minutes=self.step_minutes))
        self.hours = _hours_of_day(self.ts)
        self.month = self.day.month
        self.workday = is_working_day(self.day)

    def src(self, path: str) -> str:
        """The source label of the data file's number at ``path``."""
        return self.sources[path]["source"]

    def derive(self, key: str, value: Any, how: str) -> Any:
        """Record a number computed from the data file (``meta.derived``) and return it."""
        self.derived[key] = {"value": value, "source": how}
        return value

    @cached_property
    def node_ids(self) -> set[str]:
        return {n["id"] for n in self.d["network"]["nodes"]} | {self.d["network"]["root"]}

    def check_shares(self, shares: Mapping[str, float], where: str) -> None:
        """Shares by node: known nodes, adding up to 1."""
        bad = sorted(set(shares) - self.node_ids)
        if bad:
            raise _fail(where, f"unknown node(s) {bad}: expected some of {sorted(self.node_ids)}")
        if abs(sum(shares.values()) - 1.0) > 1e-6:
            raise _fail(where, f"shares must add up to 1, got {sum(shares.values()):g}")


def _build(
    x: _Day,
    overrides: Mapping[str, Any],
    *,
    weather: pd.DataFrame | None = None,
    load_history: pd.Series | None = None,
) -> dict[str, Any]:
    """The canonical case data of the day, section by section."""
    tariff = _tariff(x)
    nodes = _network(x)
    loads, district = _district_load(x, load_history)
    pv = _PV(x, weather)
    pv_assets = pv.assets()
    thermal, direct_electric = _thermal_storage(x)
    assets = [
        *loads,
        *pv_assets,
        *_batteries(x),
        _curtailable_load(x),
        _shiftable_load(x),
        _ev_fleet(x),
        *thermal,
        *_green_contracts(x, tariff.flat_cny_per_mwh, pv.per_mw),
    ]
    events = []
    if overrides.get("demand_response", True):
        baseline = district + x.d["curtailable_load"]["demand_mw"] + direct_electric - pv.total_mw
        events.append(_demand_response(x, baseline))
    return {
        "name": overrides.get("name", TEMPLATE),
        "description": f"{x.d['description']} Materialised for {x.day.isoformat()} "
        f"({'working day' if x.workday.working else 'non-working day'}).",
        "start": x.start.isoformat(),
        "step_minutes": x.step_minutes,
        "steps": x.steps,
        "voll_cny_per_mwh": x.d["case"]["voll_cny_per_mwh"],
        "carbon_price_cny_per_t": x.d["case"]["carbon_price_cny_per_t"],
        "green_share_min": overrides.get("green_share_min"),
        "network": {"root": x.d["network"]["root"], "nodes": nodes},
        "grid": _grid(x, tariff),
        "assets": assets,
        "demand_response": events,
        "meta": _provenance(x, tariff, overrides),
    }


# ---------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Tariff:
    """The day's buy prices [CNY/MWh] and the tariff they came from."""

    tariff: TouTariff
    flat_cny_per_mwh: float
    buy_cny_per_mwh: np.ndarray
    periods: list[str]
    period_prices_cny_per_mwh: dict[str, float]


def _tariff(x: _Day) -> _Tariff:
    """Tianjin TOU buy prices for the day from the flat price (``tariff`` in the data file)."""
    tariff = get_tariff(x.d["tariff"]["name"])
    flat = float(x.d["tariff"]["flat_cny_per_mwh"])
    x.series_sources["prices"] = f"{x.d['tariff']['name']}: {x.d['tariff']['source']}"
    return _Tariff(tariff, flat, tariff.prices(x.ts, flat), tariff.periods(x.ts), tariff.period_prices_cny_per_mwh(flat))


def _network(x: _Day) -> list[dict[str, Any]]:
    """The substations: capacity = transformers × MVA × power factor (``network``)."""
    nodes = []
    for n in x.d["network"]["nodes"]:
        cap = n["transformers"] * n["transformer_mva"] * n["power_factor"]
        p = f"network.nodes[{n['id']}]"
        x.derive(
            f"{p}.capacity_mw",
            cap,
            f"{n['transformers']:g} × {n['transformer_mva']:g} MVA × power factor {n['power_factor']:g}: {x.src(p + '.transformer_mva')}",
        )
        nodes.append(
            {
                "id": n["id"],
                "name": n["name"],
                "parent": n["parent"],
                "capacity_mw": cap,
                "meta": {
                    "source": f"{n['site_source']}; capacity {x.src(p + '.transformer_mva')}, {x.src(p + '.power_factor')}",
                    "sources": {
                        "transformers": x.src(p + ".transformers"),
                        "transformer_mva": x.src(p + ".transformer_mva"),
                        "power_factor": x.src(p + ".power_factor"),
                        **({"parent": n["parent_source"]} if "parent_source" in n else {}),
                    },
                },
            }
        )
    return nodes


def _load_asset_id(node: str, root: str) -> str:
    return "load-rest-of-district" if node == root else f"load-{node}"


def _district_load(x: _Day, load_history: pd.Series | None) -> tuple[list[Asset], np.ndarray]:
    """The inflexible district load, split over the nodes (``load``); and the district total [MW].

    The documented profile, or the P50 forecast from ``load_history`` when given.
    """
    from forecasts.load import district_load_mw

    ld, root = x.d["load"], x.d["network"]["root"]
    x.check_shares(ld["shares"], "load.shares")
    if load_history is None:
        district = district_load_mw(x.ts, ld["inflexible_peak_mw"], timezone=x.tz, step_minutes=x.step_minutes)
        x.series_sources["load"] = (
            f"documented district profile (forecasts.load.district_load_mw), peak "
            f"{ld['inflexible_peak_mw']:g} MW {x.src('load.inflexible_peak_mw')}; no load history given"
        )
    else:
        forecast = forecast_load(_site(x.d, x.sources), x.day, load_history=load_history, step_minutes=x.step_minutes)
        district = forecast.quantiles[0.5].to_numpy()
        x.series_sources["load"] = forecast.source
    assets = []
    for node, share in ld["shares"].items():
        assets.append(
            {
                "id": _load_asset_id(node, root),
                "type": "load",
                "node": node,
                "name": "district load on the substations not modelled" if node == root else f"district load at {node}",
                "demand_mw": _series(district * share),
                "meta": {
                    "source": f"{x.src('load.inflexible_peak_mw')}; share {x.src(f'load.shares.{node}')}",
                    "sources": {
                        "peak_mw": x.src("load.inflexible_peak_mw"),
                        "share": x.src(f"load.shares.{node}"),
                    },
                    "peak_mw": ld["inflexible_peak_mw"] * share,
                    "share": share,
                    "profile": ld["profile"],
                    "working_day": x.workday.working,
                    "calendar": x.workday.source,
                },
            }
        )
    return assets, district


class _PV:
    """Rooftop PV by site and phase (``pv``): clear sky × derate, or the weather chain with a forecast.

    ``per_mw(tilt, azimuth)`` is the expected output per MW installed [MW/MW]
    for the day; the green contracts' PV uses it too.
    """

    def __init__(self, x: _Day, weather: pd.DataFrame | None) -> None:
        pv = x.d["pv"]
        x.check_shares(pv["site_shares"], "pv.site_shares")
        phase_total = sum(ph["share"] for ph in pv["phases"])
        if abs(phase_total - 1.0) > 1e-6:
            raise _fail("pv.phases", f"phase shares must add up to 1, got {phase_total:g}")
        self.x, self.pv = x, pv
        self.system = pv_system(pv)
        self.weather = None
        if weather is not None:
            from forecasts.weather import weather_for_day

            self.weather = weather_for_day(weather, x.day, x.tz)
        self._cache: dict[tuple[float, float], np.ndarray] = {}
        self.total_mw = np.zeros(x.steps)
        self.how, x.series_sources["pv"] = self._provenance()

    def _provenance(self) -> tuple[str, str]:
        """How each asset's series is computed (asset meta) and the case's PV source line."""
        pv, w, system = self.pv, self.weather, self.system
        if w is None:
            how = (
                "forecasts.pv.clear_sky_pv_mw: pvlib Ineichen clear sky (Linke turbidity climatology), "
                "isotropic transposition, × capacity × derate / 1000 W/m², mean over each step"
            )
            return how, (
                f"no weather forecast: clear sky × the climatological clear-sky index 0.691 ([plan] 4,935 MJ/m² a year) "
                f"× performance ratio 0.833 [assumed] = derate {pv['derate']:g} ({self.x.src('pv.derate')})"
            )
        how = (
            f"forecasts.pv.pv_from_weather_mw: weather {w.attrs.get('source')} "
            f"({w.attrs.get('irradiance')}, {w.attrs.get('step_minutes')} min), pvlib SPA, "
            f"Ineichen clear sky, Erbs decomposition, {system.transposition} transposition, SAPM cell temperature "
            f"({system.temperature_model}), PVWatts DC ({system.gamma_pdc_per_c:g}/°C, DC loss {system.dc_loss:g}) "
            f"and inverter (η {system.inverter_efficiency:g}, DC/AC {system.dc_ac_ratio:g})"
        )
        defaults = w.attrs.get("defaults") or []
        return how, "weather file " + how.split("weather ", 1)[1] + (
            f"; not in the file, so assumed: {', '.join(defaults)}" if defaults else ""
        )

    def per_mw(self, tilt: float, azimuth: float) -> np.ndarray:
        """Expected PV [MW per MW installed] for the day."""
        from forecasts.pv import PVArray, clear_sky_pv_mw, pv_from_weather_mw

        if (tilt, azimuth) not in self._cache:
            x, pv, loc = self.x, self.pv, self.x.d["location"]
            where = (loc["latitude_deg"], loc["longitude_deg"])
            if self.weather is not None:
                unit = PVArray("unit", 1.0, tilt, azimuth)
                self._cache[(tilt, azimuth)] = pv_from_weather_mw(
                    x.ts, self.weather, [unit], *where, altitude_m=loc["altitude_m"], albedo=pv["albedo"],
                    system=self.system, step_minutes=x.step_minutes,
                )["unit"].to_numpy()
            else:
                self._cache[(tilt, azimuth)] = clear_sky_pv_mw(
                    x.ts, *where, 1.0, tilt, azimuth, pv["derate"],
                    altitude_m=loc["altitude_m"], albedo=pv["albedo"], step_minutes=x.step_minutes,
                )
        return self._cache[(tilt, azimuth)]

    def assets(self) -> list[Asset]:
        """One asset per site and phase; ``total_mw`` their sum."""
        x, pv = self.x, self.pv
        assets = []
        for node, site_share in pv["site_shares"].items():
            for ph in pv["phases"]:
                cap = pv["total_capacity_mw"] * site_share * ph["share"]
                avail = self.per_mw(ph["tilt_deg"], ph["azimuth_deg"]) * cap
                self.total_mw += avail
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
                            "source": f"{x.src('pv.total_capacity_mw')}; split {x.src(f'pv.site_shares.{node}')}, {x.src(p + '.share')}",
                            "sources": {
                                "total_capacity_mw": x.src("pv.total_capacity_mw"),
                                "site_share": x.src(f"pv.site_shares.{node}"),
                                "phase_share": x.src(p + ".share"),
                                "tilt_deg": x.src(p + ".tilt_deg"),
                                "azimuth_deg": x.src(p + ".azimuth_deg"),
                                "derate": x.src("pv.derate"),
                                "albedo": x.src("pv.albedo"),
                                "curtailment_cny_per_mwh": x.src("pv.curtailment_cny_per_mwh"),
                            },
                            "capacity_mw": cap,
                            "phase": ph["id"],
                            "tilt_deg": ph["tilt_deg"],
                            "azimuth_deg": ph["azimuth_deg"],
                            "derate": pv["derate"],
                            "albedo": pv["albedo"],
                            "forecast": self.how,
                        },
                    }
                )
        x.derive("pv.peak_available_mw", float(self.total_mw.max()), "sum of the PV assets' available_mw, its maximum over the day")
        return assets


BATTERY_FIELDS = (
    "charge_efficiency",
    "discharge_efficiency",
    "soc_min",
    "soc_max",
    "soc_initial",
    "degradation_cny_per_mwh",
)
"""The battery parameters copied from the data file to each battery asset."""


def _batteries(x: _Day) -> list[Asset]:
    """The plan's storage, split evenly over its sites (``battery``)."""
    bt = x.d["battery"]
    bad = sorted(set(bt["sites"]) - x.node_ids)
    if bad:
        raise _fail("battery.sites", f"unknown node(s) {bad}")
    if abs(bt["site_share"] * len(bt["sites"]) - 1.0) > 1e-6:
        raise _fail("battery.site_share", f"site_share × {len(bt['sites'])} sites must be 1")
    assets = []
    for node in bt["sites"]:
        power, energy = bt["total_power_mw"] * bt["site_share"], bt["total_energy_mwh"] * bt["site_share"]
        assets.append(
            {
                "id": f"bess-{node}",
                "type": "battery",
                "node": node,
                "name": f"battery storage at {node}",
                "power_mw": power,
                "energy_mwh": energy,
                **{f: bt[f] for f in BATTERY_FIELDS},
                "meta": {
                    "source": f"{x.src('battery.total_energy_mwh')}; {bt['sites_source']}; split {x.src('battery.site_share')}",
                    "sources": {
                        "total_power_mw": x.src("battery.total_power_mw"),
                        "total_energy_mwh": x.src("battery.total_energy_mwh"),
                        "sites": bt["sites_source"],
                        "site_share": x.src("battery.site_share"),
                        **{f: x.src(f"battery.{f}") for f in BATTERY_FIELDS},
                        "soc_final_min": "[assumed] = soc_initial (the spec default)",
                    },
                    "duration_h": energy / power if power else None,
                },
            }
        )
    return assets


def _field_sources(x: _Day, section: str, fields: tuple[str, ...]) -> dict[str, str]:
    return {f: x.src(f"{section}.{f}") for f in fields}


def _curtailable_load(x: _Day) -> Asset:
    """The interruptible industrial plant (``curtailable_load``)."""
    cl = x.d["curtailable_load"]
    return {
        "id": cl["id"],
        "type": "curtailable_load",
        "node": cl["node"],
        "name": cl["name"],
        "demand_mw": cl["demand_mw"],
        "max_reduction_mw": cl["max_reduction_mw"],
        "cost_cny_per_mwh": cl["cost_cny_per_mwh"],
        "min_duration_steps": max(1, math.ceil(cl["min_duration_minutes"] / x.step_minutes - 1e-9)),
        "max_events": int(cl["max_events"]),
        "meta": {
            "source": x.src("curtailable_load.demand_mw"),
            "sources": _field_sources(
                x, "curtailable_load",
                ("demand_mw", "max_reduction_mw", "cost_cny_per_mwh", "min_duration_minutes", "max_events"),
            ),
            "min_duration_minutes": cl["min_duration_minutes"],
        },
    }


def _shiftable_load(x: _Day) -> Asset:
    """The batch process that runs once a day (``shiftable_load``): the same energy on any step grid."""
    sl, dt_h, steps = x.d["shiftable_load"], x.dt_h, x.steps
    run_steps = max(1, math.ceil(sl["duration_hours"] / dt_h - 1e-9))
    run_power = sl["power_mw"] * sl["duration_hours"] / (run_steps * dt_h)
    return {
        "id": sl["id"],
        "type": "shiftable_load",
        "node": sl["node"],
        "name": sl["name"],
        "profile_mw": [run_power] * run_steps,
        "earliest_start": min(max(math.floor(sl["earliest_start_hour"] / dt_h + 1e-9), 0), steps - 1),
        "latest_end": min(max(math.ceil(sl["latest_end_hour"] / dt_h - 1e-9), 1), steps),
        "meta": {
            "source": x.src("shiftable_load.power_mw"),
            "sources": _field_sources(
                x, "shiftable_load", ("power_mw", "duration_hours", "earliest_start_hour", "latest_end_hour")
            ),
            "energy_mwh": sl["power_mw"] * sl["duration_hours"],
        },
    }


def _ev_fleet(x: _Day) -> Asset:
    """The EV depot (``flexible_load``): depot power while parked, the morning's energy by its hour."""
    ev = x.d["flexible_load"]
    parked = np.zeros(x.steps, dtype=bool)
    for a, b in ev["depot_hours"]:
        parked |= (x.hours >= a) & (x.hours < b)
    max_power = np.where(parked, ev["depot_max_power_mw"], ev["daytime_max_power_mw"])
    by_step = min(max(_step_of_hour(ev["morning_requirement_hour"], x.step_minutes, x.steps), 1), x.steps)
    return {
        "id": ev["id"],
        "type": "flexible_load",
        "node": ev["node"],
        "name": ev["name"],
        "min_power_mw": ev["min_power_mw"],
        "max_power_mw": _series(max_power),
        "energy_mwh": ev["energy_mwh"],
        "requirements": [{"by_step": by_step, "energy_mwh": ev["morning_requirement_mwh"]}],
        "meta": {
            "source": x.src("flexible_load.energy_mwh"),
            "sources": _field_sources(
                x, "flexible_load",
                ("energy_mwh", "depot_max_power_mw", "depot_hours", "daytime_max_power_mw", "min_power_mw",
                 "morning_requirement_mwh", "morning_requirement_hour"),
            ),
        },
    }


def _thermal_storage(x: _Day) -> tuple[list[Asset], np.ndarray]:
    """The Yujiapu ice store / heat store in its season (``thermal_storage``), none outside it.

    Also the electricity its demand would take with no store [MW] (the demand-response baseline's part).
    """
    th, month = x.d["thermal_storage"], x.month
    season = next((s for s in ("cooling", "heating") if month in th[s]["months"]), None)
    if season is None:
        x.derive(
            "thermal_storage.season", "none",
            f"{month=} is in neither the cooling nor the heating months: the store is idle and left out",
        )
        return [], np.zeros(x.steps)
    se = th[season]
    peak_th = se["peak_demand_w_per_m2"] * th["served_area_m2"] / 1e6
    x.derive(
        f"thermal_storage.{season}.peak_demand_mw_th",
        peak_th,
        f"{x.src(f'thermal_storage.{season}.peak_demand_w_per_m2')} × {x.src('thermal_storage.served_area_m2')}",
    )
    demand_th = peak_th * _shape_mean(x.hours, x.dt_h, se["shape_pu"])
    if not x.workday.working:
        demand_th = demand_th * th["non_working_day_factor"]
    asset = {
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
                **_field_sources(
                    x, "thermal_storage",
                    ("served_area_m2", "capacity_mwh_th", "level_initial", "loss_per_hour", "non_working_day_factor"),
                ),
                **_field_sources(
                    x, f"thermal_storage.{season}", ("months", "cop", "max_power_mw", "peak_demand_w_per_m2", "shape_pu")
                ),
            },
            "season": season,
            "peak_demand_mw_th": peak_th,
            "thermal_energy_mwh_th": float(demand_th.sum() * x.dt_h),
        },
    }
    return [asset], demand_th / se["cop"]


def _green_contracts(x: _Day, flat_cny_per_mwh: float, pv_per_mw: Callable[[float, float], np.ndarray]) -> list[Asset]:
    """The district's green-power contracts (``green_contracts``): PV as the rooftops', wind flat at its mean."""
    gc, pv = x.d["green_contracts"], x.d["pv"]
    price = flat_cny_per_mwh + gc["price"]["premium_cny_per_mwh"]
    x.derive(
        "green_contracts.price_cny_per_mwh",
        price,
        f"flat {x.src('tariff.flat_cny_per_mwh')} + premium {x.src('green_contracts.price.premium_cny_per_mwh')}",
    )
    green_pv = pv_per_mw(gc["pv_tilt_deg"], gc["pv_azimuth_deg"])
    assets = []
    for c in gc["contracts"]:
        p = f"green_contracts.contracts[{c['id']}]"
        wind_mean = 0.0
        if c["wind_mw"] > 0:
            if "annual_energy_gwh" not in c:
                raise _fail(p, "a contract with wind_mw > 0 needs annual_energy_gwh to set its mean wind power")
            pv_mwh = c["pv_mw"] * gc["pv_yield_kwh_per_kwp"]  # MW × kWh/kW = MWh
            wind_mean = min(max((c["annual_energy_gwh"] * 1000 - pv_mwh) / 8760, 0.0), c["wind_mw"])
            x.derive(
                f"{p}.wind_mean_mw",
                wind_mean,
                f"({x.src(p + '.annual_energy_gwh')} − PV {c['pv_mw']:g} MW × {x.src('green_contracts.pv_yield_kwh_per_kwp')}) / 8760 h; {c['wind_profile']}",
            )
        assets.append(
            {
                "id": c["id"],
                "type": "green_contract",
                "name": c["name"],
                "available_mw": _series(green_pv * c["pv_mw"] + wind_mean),
                "price_cny_per_mwh": price,
                "min_take": gc["min_take"],
                "optional": bool(gc["optional"]),
                "meta": {
                    "source": c["source"],
                    "sources": {
                        "pv_mw": x.src(p + ".pv_mw"),
                        "wind_mw": x.src(p + ".wind_mw"),
                        **({"annual_energy_gwh": x.src(p + ".annual_energy_gwh")} if "annual_energy_gwh" in c else {}),
                        "premium_cny_per_mwh": x.src("green_contracts.price.premium_cny_per_mwh"),
                        "energy_price": gc["price"]["energy_basis"],
                        "min_take": x.src("green_contracts.min_take"),
                        "pv_derate": x.src("pv.derate"),
                    },
                    "pv_mw": c["pv_mw"],
                    "wind_mean_mw": wind_mean,
                    "derate": pv["derate"],
                },
            }
        )
    return assets


def _dr_window_key(month: int) -> str:
    return "jul_aug" if month in (7, 8) else "jan_feb_dec" if month in (1, 2, 12) else "other_months"


def _demand_response(x: _Day, baseline_mw: np.ndarray) -> dict[str, Any]:
    """The evening peak-shaving event (``demand_response``) over the month's window, against ``baseline_mw``."""
    dr, steps = x.d["demand_response"], x.steps
    key = _dr_window_key(x.month)
    h0, h1 = dr["window_hours"][key]
    s0 = min(_step_of_hour(h0, x.step_minutes, steps), steps - 1)
    s1 = max(_step_of_hour(h1, x.step_minutes, steps), s0 + 1)
    reduction = dr["reduction_share_of_peak"] * x.d["load"]["district_peak_mw"]
    x.derive(
        "demand_response.reduction_mw",
        reduction,
        f"{x.src('demand_response.reduction_share_of_peak')} × district peak {x.src('load.district_peak_mw')}",
    )
    energy = reduction * (s1 - s0) * x.dt_h
    if not dr["event_energy_min_mwh"] - 1e-9 <= energy <= dr["event_energy_max_mwh"] + 1e-9:
        raise _fail(
            "demand_response",
            f"the event's {energy:g} MWh is outside the Tianjin DR range for aggregators "
            f"[{dr['event_energy_min_mwh']:g}, {dr['event_energy_max_mwh']:g}] MWh",
        )
    return {
        "id": dr["id"],
        "name": dr["name"],
        "start_step": s0,
        "end_step": s1,
        "baseline_mw": _series(baseline_mw),
        "reduction_mw": reduction,
        "price_cny_per_mwh": dr["price_cny_per_mwh"],
        "shortfall_penalty_cny_per_mwh": dr["shortfall_penalty_cny_per_mwh"],
        "optional": bool(dr["optional"]),
        "meta": {
            "source": f"{x.src('demand_response.reduction_share_of_peak')}; window {x.src(f'demand_response.window_hours.{key}')}",
            "sources": {
                "window_hours": x.src(f"demand_response.window_hours.{key}"),
                "reduction_share_of_peak": x.src("demand_response.reduction_share_of_peak"),
                "district_peak_mw": x.src("load.district_peak_mw"),
                "price_cny_per_mwh": x.src("demand_response.price_cny_per_mwh"),
                "shortfall_penalty_cny_per_mwh": x.src("demand_response.shortfall_penalty_cny_per_mwh"),
                "event_energy_limits_mwh": x.src("demand_response.event_energy_min_mwh"),
            },
            "window_local": f"{h0:02g}:00–{h1:02g}:00",
            "event_energy_mwh": energy,
            "baseline": dr["baseline"],
        },
    }


GRID_FIELDS = ("import_max_mw", "export_max_mw", "sell_cny_per_mwh", "demand_charge_cny_per_mw", "emission_t_per_mwh")


def _grid(x: _Day, tariff: _Tariff) -> dict[str, Any]:
    """The State Grid supply point (``grid``) with the day's buy prices."""
    grid = x.d["grid"]
    flat_source = f"flat {x.src('tariff.flat_cny_per_mwh')}"
    return {
        "name": x.d["network"]["root_name"],
        **{f: grid[f] for f in GRID_FIELDS[:2]},
        "buy_cny_per_mwh": _series(tariff.buy_cny_per_mwh),
        **{f: grid[f] for f in GRID_FIELDS[2:]},
        "meta": {
            "source": f"{x.d['tariff']['source']}; {flat_source}",
            "sources": {
                "buy_cny_per_mwh": f"{tariff.tariff.name}: {x.d['tariff']['source']}; {flat_source}",
                **_field_sources(x, "grid", GRID_FIELDS),
            },
        },
    }


def _provenance(x: _Day, tariff: _Tariff, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The case's ``meta``: the day, the calendar, the tariff, where each number and series came from."""
    t = tariff.tariff
    return {
        "template": TEMPLATE,
        "date": x.day.isoformat(),
        "timezone": x.tz,
        "step_minutes": x.step_minutes,
        "working_day": x.workday.working,
        "calendar": x.workday.source,
        "calendar_fallback": x.workday.fallback,
        "tariff": {
            "name": t.name,
            "source": x.d["tariff"]["source"],
            "flat_cny_per_mwh": tariff.flat_cny_per_mwh,
            "flat_source": x.src("tariff.flat_cny_per_mwh"),
            "period_prices_cny_per_mwh": {p: tariff.period_prices_cny_per_mwh[p] for p in t.month_periods(x.month)},
            "month_periods": t.month_periods(x.month),
            "periods": tariff.periods,
        },
        "series_sources": x.series_sources,
        "sources": x.sources,
        "derived": x.derived,
        "overrides": {k: overrides[k] for k in sorted(overrides)},
        "labels": LABELS,
        "assumptions": _assumptions(x, tariff),
    }


def _assumptions(x: _Day, tariff: _Tariff) -> list[str]:
    """One line for each thing assumed about the day: the tariff's days in force, the holiday calendar."""
    notes = []
    note = tariff.tariff.note(x.day)
    if note:
        notes.append(note)
    day, working = x.day.isoformat(), x.workday.working
    if x.workday.fallback:
        notes.append(
            f"{day} is beyond the years of the official holiday calendar (chinese_calendar): "
            f"taken as a {'working' if working else 'non-working'} day because it is a "
            f"{'weekday' if x.day.weekday() < 5 else 'weekend day'}"
        )
    elif working != (x.day.weekday() < 5):
        import chinese_calendar

        name = chinese_calendar.get_holiday_detail(x.day)[1]
        notes.append(
            f"{day} is a public holiday ({name}): load and heating/cooling follow the non-working-day profiles"
            if not working
            else f"{day} is a working weekend day (made up for the {name} holiday): load and heating/cooling "
            "follow the working-day profiles"
        )
    return notes


# ---------------------------------------------------------------------------
# The place, for the forecasts (vpp.cases.forecasting, `vpp forecast`)
# ---------------------------------------------------------------------------


def pv_system(pv: Mapping[str, Any]) -> Any:
    """The data file's ``pv.system`` (plain values) as a :class:`forecasts.pv.PVSystem`."""
    from forecasts.pv import PVSystem

    sys_ = pv.get("system") or {}
    return PVSystem(**{k: v for k, v in sys_.items() if k in PVSystem.__dataclass_fields__})


def pv_fleet(d: Mapping[str, Any] | None = None) -> list[Any]:
    """The district's PV arrays, one per asset (``pv-<node>-<phase>``), from the data file."""
    from forecasts.pv import PVArray

    if d is None:
        d, _ = template_data()
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


def _site(d: Mapping[str, Any], sources: Mapping[str, dict[str, Any]]) -> Site:
    loc, pv, ld = d["location"], d["pv"], d["load"]
    root = d["network"]["root"]
    return Site(
        name="TEDA east district",
        timezone=loc["timezone"],
        latitude_deg=loc["latitude_deg"],
        longitude_deg=loc["longitude_deg"],
        altitude_m=loc["altitude_m"],
        albedo=pv["albedo"],
        pv_system=pv_system(pv),
        pv_arrays=pv_fleet(d),
        pv_history_days=int(pv["history_clear_sky_index_days"]),
        load_peak_mw=ld["inflexible_peak_mw"],
        load_peak_source=sources["load.inflexible_peak_mw"]["source"],
        load_shares={_load_asset_id(node, root): share for node, share in ld["shares"].items()},
    )


def site() -> Site:
    """The district for the forecasts: location, the PV fleet (one array per PV asset), the load split."""
    return _site(*template_data())
