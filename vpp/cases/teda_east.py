"""The built-in "teda-east" case: TEDA east district, materialised for a date.

:func:`materialize` reads the data file ``teda_east.yaml`` (shipped in the
package; every number in it is ``{value, source}``), applies any overrides,
builds the series for the day — Tianjin TOU buy prices (:mod:`vpp.tariffs`),
PV availability (:mod:`forecasts.pv`), district load (:mod:`forecasts.load`) —
and returns a validated canonical :class:`vpp.case.Case`
(``shared/spec/model.md`` §1).

The case is built section by section, one function each, in the order of the
data file: the two-part tariff, the network at firm (N-1) capacity, the
district load, PV, batteries, the curtailable plant, the shiftable batch
process, the EV fleet, the thermal store, the green contracts (monthly volumes
settled as Tianjin settles them, :mod:`vpp.cases.green`), the demand-response
events of the day (the calendar's and any added, against a baseline from
metered history, :mod:`vpp.cases.baseline`), the frequency-regulation market,
then the grid with the month's peak so far, and the case's provenance.
:func:`site` describes the place for the forecasts (:mod:`vpp.cases.forecasting`).

Past days are read from the shipped history
(``forecasts/data/teda_east_2025_15min.csv.gz``, SYNTHETIC) where it covers
them and from the documented profiles otherwise (:func:`past_load_pv_mw`):
the month's peak so far and the baselines of the events
(:func:`metered_net_import_mw`) come from them.

Provenance travels with the case: ``case.meta["sources"]`` holds every number
of the data file with its source label ([plan], [pub], [tianjin], [assumed];
[override] for overrides), ``case.meta["derived"]`` every number computed from
them with how, each node's and asset's ``meta`` its own labels, and
``case.meta["assumptions"]`` one line for each thing assumed about the day
(a date outside the tariff's or the calendar's data, a holiday, a month's peak
so far without metered history), ``case.meta["notes"]`` one line each for
what a grid operator asks first (the tariff, the peak so far, the events,
the emission factor), and ``case.meta["emission_factor"]`` the factor chosen
with its source and the alternatives.

The day starts at local midnight (Asia/Shanghai, +08:00) and has
``24 × 60 / step_minutes`` steps.
"""

from __future__ import annotations

import calendar
import copy
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property, lru_cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
import yaml

from vpp.case import Case, load_case
from vpp.cases.baseline import RULES as BASELINE_RULES
from vpp.cases.baseline import baseline_mw
from vpp.cases.events import EventSpec, as_event, parse_window
from vpp.cases.forecasting import Site, forecast_load
from vpp.cases.green import (
    delivery_profile_mw,
    import_floor_mw,
    settled_mw,
    settlement_price_cny_per_mwh,
)
from vpp.cases.sources import LABELS, is_number, unwrap_sources
from vpp.errors import CaseError, Problem
from vpp.tariffs import TouTariff, TwoPartTariff, get_tariff

TEMPLATE = "teda-east"
DATA_FILE = "teda_east.yaml"
STEP = "materialising the case"

HISTORY_FILE = "teda_east_2025_15min.csv.gz"
"""The shipped history (package ``forecasts.data``, SYNTHETIC): the district's load and PV every 15 minutes."""

OVERRIDES: dict[str, str] = {
    "market_energy_cny_per_mwh": "tariff.floating.market_energy_cny_per_mwh",
    "network_energy_cny_per_mwh": "tariff.floating.network_energy_cny_per_mwh",
    "import_max_mw": "grid.import_max_mw",
    "export_max_mw": "grid.export_max_mw",
    "sell_cny_per_mwh": "grid.sell_cny_per_mwh",
    "demand_charge_cny_per_mw": "grid.demand_charge_cny_per_mw",
    "peak_to_date_mw": "grid.peak_to_date_mw",
    "declared_demand_mw": "grid.declared_demand_mw",
    "emission_t_per_mwh": "grid.emission_t_per_mwh",
    "voll_cny_per_mwh": "case.voll_cny_per_mwh",
    "carbon_price_cny_per_t": "case.carbon_price_cny_per_t",
    "load_peak_mw": "load.inflexible_peak_mw",
    "pv_capacity_mw": "pv.total_capacity_mw",
    "pv_derate": "pv.derate",
    "battery_power_mw": "battery.total_power_mw",
    "battery_energy_mwh": "battery.total_energy_mwh",
    "battery_soc_initial": "battery.soc_initial",
    "green_premium_cny_per_mwh": "green_contracts.premium_cny_per_mwh",
    "dr_peak_shaving_price_cny_per_mwh": "demand_response.peak_shaving.price_cny_per_mwh",
    "dr_valley_filling_price_cny_per_mwh": "demand_response.valley_filling.price_cny_per_mwh",
    "dr_shortfall_penalty_factor": "demand_response.shortfall_penalty_factor",
}
"""Numeric overrides accepted by :func:`materialize`: keyword → path in the data file.

``peak_to_date_mw`` (the month's peak so far, ``--peak-to-date``) and
``declared_demand_mw`` (billing on a declared maximum demand) have no value in
the data file: given, they replace the rule and the metered default."""

OPTIONS = ("green_share_min", "demand_response", "dr_events", "name")
"""Other keywords of :func:`materialize`: the case's green-share target (fraction or
None), whether to include demand-response events at all (bool, default True),
events added to the day (``dr_events``: a list of :class:`vpp.cases.events.EventSpec`,
``KIND,HH:MM-HH:MM,MW[,PRICE]`` texts or ``{kind, window, amount_mw,
price_cny_per_mwh}`` objects), the case name."""

Asset = dict[str, Any]


# ---------------------------------------------------------------------------
# The data file
# ---------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _data_text() -> str:
    return resources.files("vpp.cases").joinpath(DATA_FILE).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _parsed_data() -> dict[str, Any]:
    return yaml.safe_load(_data_text())


def load_template_data() -> dict[str, Any]:
    """The raw data file (numbers still wrapped as ``{value, source}``); a fresh copy."""
    return copy.deepcopy(_parsed_data())


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
        or None), ``demand_response`` (bool, default True: the calendar's event
        of the day and any added), ``dr_events`` (events added to the day, see
        :data:`OPTIONS`) and ``name``.
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
    added: list[EventSpec] = []
    raw_events = overrides.get("dr_events") or []
    if isinstance(raw_events, (str, Mapping)) or not isinstance(raw_events, (list, tuple)):
        problems.append(Problem("dr_events", f"expected a list of events, got {raw_events!r}"))
        raw_events = []
    for i, ev in enumerate(raw_events):
        try:
            added.append(as_event(ev))
        except ValueError as exc:
            problems.append(Problem(f"dr_events[{i}]", str(exc)))
    if problems:
        raise CaseError(problems, step=STEP)
    overrides = {**overrides, "dr_events": added} if added else {k: v for k, v in overrides.items() if k != "dr_events"}

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
        self.ts.as_unit("ns")  # the series are computed in nanoseconds: a day beyond their range fails here, by name
        self.hours = _hours_of_day(self.ts)
        self.month = self.day.month
        self.workday = is_working_day(self.day)

    def src(self, path: str) -> str:
        """The source label of the data file's number at ``path``."""
        return self.sources[path]["source"]

    @cached_property
    def data_key(self) -> str:
        """A fingerprint of the data (with its overrides): past days computed from it are cached under it."""
        return hashlib.sha1(json.dumps(self.d, sort_keys=True, default=str).encode()).hexdigest()

    def past(self, day: date) -> _Day:
        """The same data on another day (a past day of the month or of a baseline)."""
        return _Day(self.d, self.sources, day, self.step_minutes)

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
    loads, _ = _district_load(x, load_history)
    pv = _PV(x, weather)
    assets = [
        *loads,
        *pv.assets(),
        *_batteries(x),
        _curtailable_load(x),
        _shiftable_load(x),
        _ev_fleet(x),
        *_thermal_storage(x),
    ]
    _critical_loads(x, assets)
    assets += _green_contracts(x, tariff, pv, import_floor_mw(assets, x.steps))
    events = _demand_response(x, overrides.get("dr_events") or []) if overrides.get("demand_response", True) else []
    peak = _peak_to_date(x)
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
        "grid": _grid(x, tariff, peak),
        "assets": assets,
        "demand_response": events,
        "regulation": _regulation(x, assets),
        "meta": _provenance(x, tariff, peak, events, overrides),
    }


# ---------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Tariff:
    """The day's buy prices [CNY/MWh] and the two-part tariff they came from."""

    two_part: TwoPartTariff
    buy_cny_per_mwh: np.ndarray
    periods: list[str]

    @property
    def tou(self) -> TouTariff:
        return self.two_part.tou


def _tariff(x: _Day) -> _Tariff:
    """The day's buy prices: (market energy + network energy) × the TOU ratio + the fixed parts (``tariff``)."""
    t = x.d["tariff"]
    two_part = TwoPartTariff(
        get_tariff(t["name"]), dict(t["floating"]), dict(t["fixed"]), float(x.d["grid"]["demand_charge_cny_per_mw"])
    )
    x.series_sources["prices"] = (
        f"{t['name']}, {t['tariff_class']}: energy {two_part.energy_flat_cny_per_mwh:g} CNY/MWh × the TOU ratio "
        f"+ fixed {two_part.fixed_adder_cny_per_mwh:g} CNY/MWh; {t['source']}"
    )
    return _Tariff(two_part, two_part.prices(x.ts), two_part.tou.periods(x.ts))


def firm_capacity_mw(transformers: float, transformer_mva: float, overload_factor: float, power_factor: float) -> float:
    """Firm (N-1) capacity of a substation [MW]: what it carries with one transformer out.

    ``(transformers − 1) × transformer_mva × overload_factor × power_factor``
    (one transformer's rating for a two-transformer substation); a single
    transformer has no firm capacity.
    """
    return max(transformers - 1, 0) * transformer_mva * overload_factor * power_factor


def _network(x: _Day) -> list[dict[str, Any]]:
    """The substations at firm (N-1) capacity (``network``, :func:`firm_capacity_mw`)."""
    nodes = []
    for n in x.d["network"]["nodes"]:
        cap = firm_capacity_mw(n["transformers"], n["transformer_mva"], n["overload_factor"], n["power_factor"])
        p = f"network.nodes[{n['id']}]"
        x.derive(
            f"{p}.capacity_mw",
            cap,
            f"firm (N-1): ({n['transformers']:g} − 1) × {n['transformer_mva']:g} MVA × overload {n['overload_factor']:g} "
            f"× power factor {n['power_factor']:g}: {x.src(p + '.transformer_mva')}; {x.src(p + '.overload_factor')}; "
            f"{x.src(p + '.power_factor')}",
        )
        nodes.append(
            {
                "id": n["id"],
                "name": n["name"],
                "parent": n["parent"],
                "capacity_mw": cap,
                "meta": {
                    "source": f"{n['site_source']}; firm (N-1) capacity {x.src(p + '.transformer_mva')}, "
                    f"{x.src(p + '.overload_factor')}, {x.src(p + '.power_factor')}",
                    "sources": {
                        "transformers": x.src(p + ".transformers"),
                        "transformer_mva": x.src(p + ".transformer_mva"),
                        "overload_factor": x.src(p + ".overload_factor"),
                        "power_factor": x.src(p + ".power_factor"),
                        **({"parent": n["parent_source"]} if "parent_source" in n else {}),
                    },
                },
            }
        )
    return nodes


def _place(d: Mapping[str, Any]) -> tuple[float, float, float, float, float, str]:
    """What clear-sky PV depends on: latitude, longitude, altitude, albedo, derate, time zone."""
    loc, pv = d["location"], d["pv"]
    return (loc["latitude_deg"], loc["longitude_deg"], loc["altitude_m"], pv["albedo"], pv["derate"], loc["timezone"])


def _clear_sky_at(
    place: tuple[float, float, float, float, float, str], ts: pd.DatetimeIndex, step_minutes: int,
    tilt: float, azimuth: float,
) -> np.ndarray:
    from forecasts.pv import clear_sky_pv_mw

    lat, lon, alt, albedo, derate, _ = place
    return clear_sky_pv_mw(
        ts, lat, lon, 1.0, tilt, azimuth, derate, altitude_m=alt, albedo=albedo, step_minutes=step_minutes
    )


@lru_cache(maxsize=256)
def _month_clear_sky_per_mw(
    place: tuple[float, float, float, float, float, str], year: int, month: int, step_minutes: int,
    tilt: float, azimuth: float,
) -> np.ndarray:
    """Clear sky × derate [MW per MW installed] over every step of a month, as (days, steps of a day)."""
    start = pd.Timestamp(year=year, month=month, day=1).tz_localize(place[5])
    ts = pd.date_range(start, start + pd.offsets.MonthBegin(1), freq=f"{step_minutes}min", inclusive="left")
    return _clear_sky_at(place, ts, step_minutes, tilt, azimuth).reshape(-1, 1440 // step_minutes)


def _month_clear_sky_mwh_per_mw(
    place: tuple[float, float, float, float, float, str], year: int, month: int, tilt: float, azimuth: float
) -> float:
    """A month's expected PV [MWh per MW installed]: clear sky × derate over every day of it."""
    return float(_month_clear_sky_per_mw(place, year, month, 15, tilt, azimuth).sum() * 0.25)


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



def _critical_loads(x: _Day, assets: list[Asset]) -> None:
    """The share of each load kept on through an outage (``critical_load``; model.md §5.5 ``critical_fraction``).

    Every fixed load takes the sum of the kinds' shares; the interruptible plant its own share.
    """
    cl = x.d["critical_load"]
    kinds = ", ".join(f"{kind} {share:g} {x.src(f'critical_load.kinds.{kind}').split(']')[0]}]"
                      for kind, share in cl["kinds"].items())
    district = x.derive("critical_load.district_fraction", float(sum(cl["kinds"].values())),
                        f"sum of the shares by kind of load: {kinds}")
    for a in assets:
        if a["type"] in ("load", "curtailable_load"):
            share, source = ((district, f"[assumed] {district:g}: {kinds}") if a["type"] == "load"
                             else (cl["plant_fraction"], x.src("critical_load.plant_fraction")))
            a["critical_fraction"] = share
            a["meta"]["sources"]["critical_fraction"] = source


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
        """Expected PV [MW per MW installed] for the day: the weather chain with a forecast, else
        :meth:`clear_sky_per_mw`."""
        from forecasts.pv import PVArray, pv_from_weather_mw

        if self.weather is None:
            return self.clear_sky_per_mw(tilt, azimuth)
        if (tilt, azimuth) not in self._cache:
            x, pv, loc = self.x, self.pv, self.x.d["location"]
            unit = PVArray("unit", 1.0, tilt, azimuth)
            self._cache[(tilt, azimuth)] = pv_from_weather_mw(
                x.ts, self.weather, [unit], loc["latitude_deg"], loc["longitude_deg"], altitude_m=loc["altitude_m"],
                albedo=pv["albedo"], system=self.system, step_minutes=x.step_minutes,
            )["unit"].to_numpy()
        return self._cache[(tilt, azimuth)]

    def clear_sky_per_mw(self, tilt: float, azimuth: float) -> np.ndarray:
        """The climatological expectation [MW per MW installed]: clear sky × derate, whatever the weather."""
        x = self.x
        return _month_clear_sky_per_mw(_place(x.d), x.day.year, x.month, x.step_minutes, tilt, azimuth)[x.day.day - 1]

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
        "min_reduction_mw": cl["min_reduction_mw"],
        "cost_cny_per_mwh": cl["cost_cny_per_mwh"],
        "start_cny": cl["start_cny"],
        "min_duration_steps": max(1, math.ceil(cl["min_duration_minutes"] / x.step_minutes - 1e-9)),
        "max_events": int(cl["max_events"]),
        "meta": {
            "source": x.src("curtailable_load.demand_mw"),
            "sources": _field_sources(
                x, "curtailable_load",
                ("demand_mw", "max_reduction_mw", "min_reduction_mw", "cost_cny_per_mwh", "start_cny",
                 "min_duration_minutes", "max_events"),
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


def _thermal_storage(x: _Day) -> list[Asset]:
    """The Yujiapu ice store / heat store in its season (``thermal_storage``), none outside it."""
    th, month = x.d["thermal_storage"], x.month
    season = next((s for s in ("cooling", "heating") if month in th[s]["months"]), None)
    if season is None:
        x.derive(
            "thermal_storage.season", "none",
            f"{month=} is in neither the cooling nor the heating months: the store is idle and left out",
        )
        return []
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
    return [asset]


def _wind_mean_mw(x: _Day, c: Mapping[str, Any], p: str) -> float:
    """A contract's mean wind power [MW]: its annual energy less its PV's yield, over the year's hours."""
    gc = x.d["green_contracts"]
    if c["wind_mw"] <= 0:
        return 0.0
    if "annual_energy_gwh" not in c:
        raise _fail(p, "a contract with wind_mw > 0 needs annual_energy_gwh to set its mean wind power")
    pv_mwh = c["pv_mw"] * gc["pv_yield_kwh_per_kwp"]  # MW × kWh/kW = MWh
    wind_mean = min(max((c["annual_energy_gwh"] * 1000 - pv_mwh) / 8760, 0.0), c["wind_mw"])
    x.derive(
        f"{p}.wind_mean_mw",
        wind_mean,
        f"({x.src(p + '.annual_energy_gwh')} − PV {c['pv_mw']:g} MW × {x.src('green_contracts.pv_yield_kwh_per_kwp')}) "
        f"/ 8760 h; {c['wind_profile']}",
    )
    return wind_mean


def _green_contracts(x: _Day, tariff: _Tariff, pv: _PV, floor_mw: np.ndarray) -> list[Asset]:
    """The district's monthly green-power contracts (``green_contracts``), settled as Tianjin settles them.

    The month's volume of each contract becomes the day's delivery in the
    generator's expected shape (clear sky × derate for PV, the annual mean for
    wind); the settled energy is min(generation, delivery) within ``floor_mw``,
    the least the district imports (:mod:`vpp.cases.green`); the model gets a
    non-optional contract that takes exactly that, priced at the delivery-weighted
    grid price plus the premium.
    """
    gc = x.d["green_contracts"]
    tilt, azimuth = gc["pv_tilt_deg"], gc["pv_azimuth_deg"]
    generation_per_mw, expected_per_mw = pv.per_mw(tilt, azimuth), pv.clear_sky_per_mw(tilt, azimuth)
    month_per_mw = _month_clear_sky_mwh_per_mw(_place(x.d), x.day.year, x.month, tilt, azimuth)
    month_hours = calendar.monthrange(x.day.year, x.month)[1] * 24
    rows, generation, delivery = [], [], []
    for c in gc["contracts"]:
        p = f"green_contracts.contracts[{c['id']}]"
        wind_mean = _wind_mean_mw(x, c, p)
        monthly = c["monthly_mwh"]
        if not isinstance(monthly, list) or len(monthly) != 12:
            raise _fail(f"{p}.monthly_mwh", f"expected 12 monthly volumes [MWh], January to December, got {monthly!r}")
        expected_month = c["pv_mw"] * month_per_mw + wind_mean * month_hours
        generation.append(generation_per_mw * c["pv_mw"] + wind_mean)
        delivery.append(delivery_profile_mw(monthly[x.month - 1], expected_per_mw * c["pv_mw"] + wind_mean, expected_month))
        rows.append((c, p, wind_mean, monthly[x.month - 1], expected_month))
    settled = settled_mw(generation, delivery, floor_mw)
    x.derive(
        "green_contracts.import_floor_mw",
        float(floor_mw.min()),
        "the least net import of the day whatever the dispatch (loads + the plant's unsheddable part − all PV − every "
        "battery at full discharge; vpp.cases.green.import_floor_mw), its minimum over the day: the consumption green "
        "energy is settled against",
    )
    assets = []
    for (c, p, wind_mean, volume, expected_month), gen, due, got in zip(rows, generation, delivery, settled, strict=True):
        available = _series(got)
        price = settlement_price_cny_per_mwh(tariff.buy_cny_per_mwh, gc["premium_cny_per_mwh"], np.asarray(available))
        assets.append(
            {
                "id": c["id"],
                "type": "green_contract",
                "name": c["name"],
                "available_mw": available,
                "price_cny_per_mwh": round(price, 6),
                "min_take": 1.0,
                "optional": False,
                "meta": {
                    "source": c["source"],
                    "sources": {
                        "pv_mw": x.src(p + ".pv_mw"),
                        "wind_mw": x.src(p + ".wind_mw"),
                        **({"annual_energy_gwh": x.src(p + ".annual_energy_gwh")} if "annual_energy_gwh" in c else {}),
                        "monthly_mwh": x.src(p + ".monthly_mwh"),
                        "premium_cny_per_mwh": x.src("green_contracts.premium_cny_per_mwh"),
                        "settlement": x.d["green_contracts"]["settlement_source"],
                        "price": gc["energy_basis"],
                        "pv_derate": x.src("pv.derate"),
                    },
                    "settlement": "min(generation, delivery profile, consumption): available_mw is the settled energy, "
                    "taken whole (min_take 1, not optional)",
                    "pv_mw": c["pv_mw"],
                    "wind_mean_mw": wind_mean,
                    "contract_mwh_month": volume,
                    "expected_mwh_month": expected_month,
                    "delivery_mwh": float(due.sum() * x.dt_h),
                    "generation_mwh": float(gen.sum() * x.dt_h),
                    "settled_mwh": float(np.sum(available) * x.dt_h),
                    "derate": x.d["pv"]["derate"],
                },
            }
        )
    return assets


# ---------------------------------------------------------------------------
# Past days: the month's peak so far and the baselines of the events
# ---------------------------------------------------------------------------

_PAST: dict[tuple[Any, ...], Any] = {}
_PAST_SIZE = 4096


def _remember(key: tuple[Any, ...], compute: Any) -> Any:
    """``compute()`` once per key (the oldest entries go beyond :data:`_PAST_SIZE`)."""
    if key not in _PAST:
        if len(_PAST) >= _PAST_SIZE:
            del _PAST[next(iter(_PAST))]
        _PAST[key] = compute()
    return _PAST[key]


@lru_cache(maxsize=1)
def _history_days() -> dict[date, tuple[np.ndarray, np.ndarray]]:
    """The shipped history by local day: 96 quarter-hours of load and PV [MW] for every whole day it holds."""
    path = resources.files("forecasts.data").joinpath(HISTORY_FILE)
    with resources.as_file(path) as file:
        frame = pd.read_csv(file, skiprows=1, usecols=["timestamp", "load_mw", "pv_mw"])
    days = frame["timestamp"].str.slice(0, 10)  # local dates: the timestamps carry +08:00
    out = {}
    for text, rows in frame.groupby(days, sort=True):
        if len(rows) == 96:
            out[date.fromisoformat(text)] = (rows["load_mw"].to_numpy(float), rows["pv_mw"].to_numpy(float))
    return out


@lru_cache(maxsize=1)
def _history_basis() -> tuple[float, float]:
    """The inflexible peak [MW] and PV capacity [MW] the shipped history was made for (the data file's)."""
    d, _ = template_data()
    return float(d["load"]["inflexible_peak_mw"]), float(d["pv"]["total_capacity_mw"])


def _quarter_hours_to_steps(values: np.ndarray, step_minutes: int) -> np.ndarray:
    """96 quarter-hour means as the means over steps of ``step_minutes`` (which divides 1440)."""
    minutes = np.repeat(np.asarray(values, dtype=float), 15)
    return minutes.reshape(-1, step_minutes).mean(axis=1)


def past_load_pv_mw(x: _Day, day: date) -> tuple[np.ndarray, np.ndarray, bool]:
    """The district's inflexible load and PV [MW per step of ``x``] on ``day``, and whether they are metered.

    Metered: the shipped history's day, scaled to the case's load peak and PV
    capacity. Otherwise the documented profile: the load of
    :func:`forecasts.load.district_load_mw` and the PV fleet at clear sky × derate.
    """

    def compute() -> tuple[np.ndarray, np.ndarray, bool]:
        peak, capacity = x.d["load"]["inflexible_peak_mw"], x.d["pv"]["total_capacity_mw"]
        held = _history_days().get(day)
        if held is not None:
            base_peak, base_capacity = _history_basis()
            load = _quarter_hours_to_steps(held[0], x.step_minutes) * peak / base_peak
            pv = _quarter_hours_to_steps(held[1], x.step_minutes) * capacity / base_capacity
            return load, pv, True
        from forecasts.load import district_load_mw

        past = x.past(day)
        load = district_load_mw(past.ts, peak, timezone=past.tz, step_minutes=past.step_minutes)
        place = _place(x.d)
        pv = sum(
            (a.capacity_mw * _month_clear_sky_per_mw(place, day.year, day.month, x.step_minutes, a.tilt_deg,
                                                     a.azimuth_deg)[day.day - 1]
             for a in pv_fleet(x.d)),
            np.zeros(past.steps),
        )
        return load, pv, False

    return _remember(("load_pv", x.data_key, day, x.step_minutes), compute)


def metered_net_import_mw(x: _Day, day: date) -> tuple[np.ndarray, bool]:
    """The district's metered net import on past ``day`` [MW per step], and whether its load and PV were metered.

    The inflexible load and PV of :func:`past_load_pv_mw`, plus the flexible
    assets as they usually run (the history does not meter them): the
    template's own optimum of that day with the district at the supply point,
    no network limits, no event, no demand charge and no green contract.
    """

    def compute() -> tuple[np.ndarray, bool]:
        from models import SolveOptions, extract, optimize

        load, pv, metered = past_load_pv_mw(x, day)
        past = x.past(day)
        flexible = [*_batteries(past), _curtailable_load(past), _shiftable_load(past), _ev_fleet(past),
                    *_thermal_storage(past)]
        data = {
            "name": f"{TEMPLATE}-usual-{day.isoformat()}",
            "start": past.start.isoformat(),
            "step_minutes": past.step_minutes,
            "steps": past.steps,
            "voll_cny_per_mwh": past.d["case"]["voll_cny_per_mwh"],
            "grid": {"import_max_mw": 1e5, "buy_cny_per_mwh": _series(_tariff(past).buy_cny_per_mwh)},
            "assets": [
                {"id": "inflexible-load", "type": "load", "demand_mw": _series(load)},
                {"id": "pv", "type": "pv", "available_mw": _series(pv)},
                *({k: v for k, v in a.items() if k not in ("node", "meta")} for a in flexible),
            ],
        }
        built, report = optimize(load_case(data), SolveOptions(mip_gap=1e-6, time_limit_s=60.0, threads=1))
        if str(report.status) not in ("optimal", "feasible"):
            raise _fail("demand_response.baseline", f"the usual operation of {day.isoformat()} has no solution ({report.status})")
        sol = extract(built)
        return np.asarray(sol.import_mw - sol.export_mw, dtype=float), metered

    return _remember(("usual", x.data_key, day, x.step_minutes), compute)


@dataclass(frozen=True)
class _Peak:
    """The month's peak so far [MW] and where it came from."""

    value_mw: float
    source: str
    given: bool = False
    on: date | None = None
    metered_days: int = 0
    profile_days: int = 0

    def as_meta(self) -> dict[str, Any]:
        return {"value_mw": self.value_mw, "source": self.source, "given": self.given,
                "on": self.on.isoformat() if self.on else None,
                "metered_days": self.metered_days, "profile_days": self.profile_days}


def _peak_to_date(x: _Day) -> _Peak:
    """The month's peak of net import before the day (``grid.peak_to_date_rule``), or the one given."""
    grid = x.d["grid"]
    if "peak_to_date_mw" in grid:
        return _Peak(float(grid["peak_to_date_mw"]), x.src("grid.peak_to_date_mw"), given=True)
    if x.day.day == 1:
        return _Peak(0.0, "the first day of the month: no peak yet in this billing period")
    plant = np.broadcast_to(np.asarray(x.d["curtailable_load"]["demand_mw"], dtype=float), (x.steps,))
    best, on, metered = -math.inf, None, 0
    for k in range(1, x.day.day):
        d = x.day.replace(day=k)
        load, pv, held = past_load_pv_mw(x, d)
        value = float(np.max(load - pv + plant))
        metered += held
        if value > best:
            best, on = value, d
    profile = x.day.day - 1 - metered
    where = (
        f"metered (the shipped history, {HISTORY_FILE}, SYNTHETIC)" if not profile
        else "the documented profile (no metered history for these days)" if not metered
        else f"metered for {metered} days, the documented profile for {profile}"
    )
    source = (
        f"the month's maximum of load − PV + the plant's {x.d['curtailable_load']['demand_mw']:g} MW over "
        f"{x.day.replace(day=1).isoformat()}…{(x.day - timedelta(days=1)).isoformat()}, {where}; reached on {on}"
    )
    return _Peak(best, source, on=on, metered_days=metered, profile_days=profile)


# ---------------------------------------------------------------------------
# Demand response: the calendar, the events of the day and their baselines
# ---------------------------------------------------------------------------


def _calendar(x: _Day) -> list[tuple[date, EventSpec, str, int]]:
    """The days events are called (``demand_response.calendar``): (day, event, reason, index in the list)."""
    from vpp.cases.days import parse_date

    dr = x.d["demand_response"]
    out = []
    for i, entry in enumerate(dr["calendar"]):
        where = f"demand_response.calendar[{i}]"
        try:
            day = parse_date(entry["date"])
            kind = entry["kind"]
            if kind not in dr or kind not in ("peak_shaving", "valley_filling"):
                raise ValueError(f"kind: expected peak_shaving or valley_filling, got {kind!r}")
            start, end = parse_window(entry["window"])
        except (KeyError, TypeError, ValueError) as exc:
            raise _fail(where, f"expected {{date: YYYY-MM-DD, kind, window: HH:MM-HH:MM, reason}}: {exc}") from None
        out.append((day, EventSpec(kind, start, end, float(dr[kind]["amount_mw"])), str(entry.get("reason", "")), i))
    return out


def _demand_response(x: _Day, added: list[EventSpec]) -> list[dict[str, Any]]:
    """The day's events: the calendar's (``demand_response``) and those added (``dr_events``)."""
    cal = _calendar(x)
    todays = [
        (spec, f"on the calendar: {reason}", f"dr-{spec.kind.replace('_', '-')}-{x.day.isoformat()}",
         f"demand_response.calendar[{i}]", True)
        for day, spec, reason, i in cal if day == x.day
    ]
    todays += [(spec, "added for the day (dr_events)", f"dr-added-{k + 1}", f"dr_events[{k}]", False)
               for k, spec in enumerate(added)]
    event_days = {day for day, *_ in cal}
    return [_event(x, spec, how, event_id, where, event_days, listed) for spec, how, event_id, where, listed in todays]


def _event(
    x: _Day, spec: EventSpec, how: str, event_id: str, where: str, event_days: set[date], listed: bool
) -> dict[str, Any]:
    """One event of the day over its window, against a baseline from metered history (:func:`_baseline`).

    ``listed``: the event is the calendar's (its amount is the data file's), else added with its own."""
    dr, steps = x.d["demand_response"], x.steps
    s0 = min(_step_of_hour(spec.start_hour, x.step_minutes, steps), steps - 1)
    s1 = max(_step_of_hour(spec.end_hour, x.step_minutes, steps), s0 + 1)
    energy = spec.amount_mw * (s1 - s0) * x.dt_h
    if not dr["event_energy_min_mwh"] - 1e-9 <= energy <= dr["event_energy_max_mwh"] + 1e-9:
        raise _fail(
            where,
            f"the event's {energy:g} MWh ({spec.amount_mw:g} MW over {spec.window}) is outside the Tianjin DR range "
            f"for aggregators [{dr['event_energy_min_mwh']:g}, {dr['event_energy_max_mwh']:g}] MWh",
        )
    price = float(spec.price_cny_per_mwh if spec.price_cny_per_mwh is not None else dr[spec.kind]["price_cny_per_mwh"])
    penalty = dr["shortfall_penalty_factor"] * price
    baseline, days, metered = _baseline(x, slice(s0, s1), event_days)
    amount_key = "reduction_mw" if spec.kind == "peak_shaving" else "increase_mw"
    rule = dr["baseline"]["rule"]
    price_source = "[override] given with the event" if spec.price_cny_per_mwh is not None else x.src(
        f"demand_response.{spec.kind}.price_cny_per_mwh")
    return {
        "id": event_id,
        "name": dr[spec.kind]["name"],
        "kind": spec.kind,
        "start_step": s0,
        "end_step": s1,
        "baseline_mw": _series(baseline),
        amount_key: spec.amount_mw,
        "price_cny_per_mwh": price,
        "shortfall_penalty_cny_per_mwh": penalty,
        "optional": bool(dr["optional"]),
        "meta": {
            "source": f"{how}; {dr['calendar_source']}" if listed else f"{how} [override]",
            "sources": {
                "amount_mw": x.src(f"demand_response.{spec.kind}.amount_mw") if listed else "[override] given with the event",
                "price_cny_per_mwh": price_source,
                "shortfall_penalty_cny_per_mwh": x.src("demand_response.shortfall_penalty_factor"),
                "event_energy_limits_mwh": x.src("demand_response.event_energy_min_mwh"),
                "baseline": x.src(
                    "demand_response.baseline.working_days" if rule == "recent_mean" else "demand_response.baseline.top_days"
                ),
                "practice": dr["practice_source"],
            },
            "how": how,
            "window_local": spec.window,
            "event_energy_mwh": energy,
            "baseline_rule": rule,
            "baseline_days": [d.isoformat() for d in days],
            "baseline_metered_days": int(sum(metered)),
            "baseline": dr["baseline"]["metered"],
        },
    }


def _baseline(x: _Day, window: slice, event_days: set[date]) -> tuple[np.ndarray, list[date], list[bool]]:
    """The event's baseline (``demand_response.baseline``): past days of the day's kind that had no event,
    by the rule of :mod:`vpp.cases.baseline`, over :func:`metered_net_import_mw`."""
    from forecasts.load import is_working_day

    b = x.d["demand_response"]["baseline"]
    rule = b["rule"]
    if rule not in BASELINE_RULES:
        raise _fail("demand_response.baseline.rule", f"expected one of {list(BASELINE_RULES)}, got {rule!r}")
    working = x.workday.working

    def is_normal(d: date) -> bool:
        return is_working_day(d).working == working and d not in event_days

    metered: dict[date, bool] = {}

    def profile(d: date) -> np.ndarray:
        net, metered[d] = metered_net_import_mw(x, d)
        return net

    top = int(b["top_days"]) if rule == "top_of_recent" else None
    count = int(b["top_candidates"] if top else b["working_days"] if working else b["non_working_days"])
    try:
        base, days = baseline_mw(
            x.day, profile, is_normal, rule, count=count, window=window, top=top,
            skip_days=int(b["top_skip_days"]) if top else 0, lookback_days=int(b["lookback_days"]),
        )
    except ValueError as exc:
        raise _fail("demand_response.baseline", str(exc)) from None
    return base, days, [metered[d] for d in days]


def _regulation(x: _Day, assets: list[Asset]) -> dict[str, Any]:
    """The North China (京津唐) frequency-regulation market (``regulation``, model.md §5.4).

    Marks the batteries at ``regulation.sites`` as regulating, with the performance
    index that scales their mileage payment, and returns the case's ``regulation``
    block: the band is offered in blocks of ``block_hours`` (a whole number of steps).
    """
    rg = x.d["regulation"]
    low, high = rg["mileage_offer_range_cny_per_mw"]
    if not low <= rg["mileage_price_cny_per_mw"] <= high:
        raise _fail(
            "regulation.mileage_price_cny_per_mw",
            f"expected a price within the 京津唐 offer range [{low:g}, {high:g}] CNY/MW, "
            f"got {rg['mileage_price_cny_per_mw']:g}",
        )
    batteries = {a["node"]: a for a in assets if a["type"] == "battery"}
    bad = sorted(set(rg["sites"]) - set(batteries))
    if bad:
        raise _fail("regulation.sites", f"no battery at {bad}: expected some of {sorted(batteries)}")
    for node in rg["sites"]:
        battery = batteries[node]
        battery["regulation"] = True
        battery["regulation_performance"] = rg["performance_index"]
        battery["meta"]["sources"]["regulation"] = rg["sites_source"]
        battery["meta"]["sources"]["regulation_performance"] = x.src("regulation.performance_index")
    block_steps = x.derive(
        "regulation.block_steps",
        max(1, round(rg["block_hours"] * 60 / x.step_minutes)),
        f"block of {rg['block_hours']:g} h in steps of {x.step_minutes} min: {x.src('regulation.block_hours')}",
    )
    return {
        "capacity_price_cny_per_mw_h": rg["capacity_price_cny_per_mw_h"],
        "mileage_price_cny_per_mw": rg["mileage_price_cny_per_mw"],
        "mileage_mw_per_mw_h": rg["mileage_mw_per_mw_h"],
        "deployment_fraction": rg["deployment_fraction"],
        "duration_h": rg["duration_h"],
        "block_steps": block_steps,
        "min_offer_mw": rg["min_offer_mw"],
    }


GRID_FIELDS = ("import_max_mw", "export_max_mw", "sell_cny_per_mwh", "demand_charge_cny_per_mw", "emission_t_per_mwh")


def _grid(x: _Day, tariff: _Tariff, peak: _Peak) -> dict[str, Any]:
    """The State Grid supply point (``grid``): the day's buy prices, the demand charge and the month's peak so far."""
    grid = x.d["grid"]
    declared = grid.get("declared_demand_mw")
    buy_source = f"{tariff.tou.name}, {x.d['tariff']['tariff_class']}: {x.d['tariff']['source']}; {x.d['tariff']['floating_source']}"
    return {
        "name": x.d["network"]["root_name"],
        **{f: grid[f] for f in GRID_FIELDS[:2]},
        "buy_cny_per_mwh": _series(tariff.buy_cny_per_mwh),
        **{f: grid[f] for f in GRID_FIELDS[2:4]},
        "peak_to_date_mw": round(peak.value_mw, 6),
        **({"declared_demand_mw": declared} if declared is not None else {}),
        "emission_t_per_mwh": grid["emission_t_per_mwh"],
        "meta": {
            "source": buy_source,
            "sources": {
                "buy_cny_per_mwh": buy_source,
                **_field_sources(x, "grid", GRID_FIELDS),
                "demand_basis": x.src("grid.declared_demand_mw") if declared is not None else grid["demand_basis_source"],
                "peak_to_date_mw": peak.source if peak.given else f"[assumed] {grid['peak_to_date_rule']}",
            },
            "peak_to_date": peak.as_meta(),
        },
    }


def _emission_factor(x: _Day) -> dict[str, Any]:
    """The emission factor chosen for grid energy, with its source and the alternatives (``meta.emission_factor``)."""
    grid = x.d["grid"]
    return {
        "value_t_per_mwh": grid["emission_t_per_mwh"],
        "source": x.src("grid.emission_t_per_mwh"),
        "basis": grid["emission_factor_basis"],
        "alternatives": {
            k: {"value_t_per_mwh": v, "source": x.src(f"grid.emission_factor_alternatives.{k}")}
            for k, v in grid["emission_factor_alternatives"].items()
        },
    }


def _provenance(
    x: _Day, tariff: _Tariff, peak: _Peak, events: list[dict[str, Any]], overrides: Mapping[str, Any]
) -> dict[str, Any]:
    """The case's ``meta``: the day, the calendar, the tariff, where each number and series came from."""
    t, tp = tariff.tou, tariff.two_part
    prices = tp.period_prices_cny_per_mwh()
    month_periods = t.month_periods(x.month)
    emission = _emission_factor(x)
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
            "class": x.d["tariff"]["tariff_class"],
            "source": x.d["tariff"]["source"],
            "class_source": x.d["tariff"]["class_source"],
            "floating_source": x.d["tariff"]["floating_source"],
            "floating_cny_per_mwh": dict(tp.floating_cny_per_mwh),
            "fixed_cny_per_mwh": dict(tp.fixed_cny_per_mwh),
            "energy_flat_cny_per_mwh": tp.energy_flat_cny_per_mwh,
            "fixed_adder_cny_per_mwh": tp.fixed_adder_cny_per_mwh,
            "period_prices_cny_per_mwh": {p: prices[p] for p in month_periods},
            "month_periods": month_periods,
            "periods": tariff.periods,
            "demand_charge_cny_per_mw": tp.demand_charge_cny_per_mw,
            "demand_basis": "declared" if x.d["grid"].get("declared_demand_mw") is not None else x.d["grid"]["demand_basis"],
        },
        "peak_to_date": peak.as_meta(),
        "demand_response": {
            "events": [e["id"] for e in events],
            "calendar_days": [d.isoformat() for d, *_ in _calendar(x) if d.year == x.day.year],
            "source": x.d["demand_response"]["calendar_source"],
        },
        "emission_factor": emission,
        "series_sources": x.series_sources,
        "sources": x.sources,
        "derived": x.derived,
        "overrides": {
            k: [e.as_dict() for e in overrides[k]] if k == "dr_events" else overrides[k] for k in sorted(overrides)
        },
        "labels": LABELS,
        "assumptions": _assumptions(x, tariff, peak),
        "notes": _notes(x, tariff, peak, events, emission),
    }


def _notes(
    x: _Day, tariff: _Tariff, peak: _Peak, events: list[dict[str, Any]], emission: Mapping[str, Any]
) -> list[str]:
    """One line each for what a grid operator asks first: the tariff, the peak so far, the events, the emissions."""
    tp = tariff.two_part
    prices = tp.period_prices_cny_per_mwh()
    grid = x.d["grid"]
    declared = grid.get("declared_demand_mw")
    basis = f"declared {declared:g} MW (above 105 % at twice the rate)" if declared is not None else "metered maximum demand"
    lines = [
        f"tariff: {x.d['tariff']['tariff_class']}: energy {tp.energy_flat_cny_per_mwh:g} CNY/MWh × the time-of-use ratio "
        f"+ fixed {tp.fixed_adder_cny_per_mwh:g} CNY/MWh ("
        + ", ".join(f"{p.replace('_', ' ')} {prices[p]:g}" for p in tariff.tou.month_periods(x.month))
        + f" CNY/MWh); maximum demand {tp.demand_charge_cny_per_mw / 1000:g} CNY/kW·month on the {basis}",
        f"peak so far this month: {peak.value_mw:.1f} MW ({'given' if peak.given else peak.source})",
    ]
    if events:
        for e in events:
            amount = e.get("reduction_mw") or e.get("increase_mw")
            m = e["meta"]
            lines.append(
                f"demand response: {e['id']}, {e['kind'].replace('_', ' ')} {m['window_local']}, {amount:g} MW at "
                f"{e['price_cny_per_mwh']:g} CNY/MWh ({m['how']}); baseline {m['baseline_rule']} of "
                f"{', '.join(m['baseline_days'])} ({m['baseline_metered_days']} of them metered)"
            )
    else:
        called = [d for d, *_ in _calendar(x) if d.year == x.day.year]
        lines.append(
            f"demand response: no event called on {x.day.isoformat()} ({len(called)} days on the {x.day.year} calendar)"
        )
    lines.append(
        f"emission factor: {emission['value_t_per_mwh']:g} tCO2/MWh, {emission['basis']} ({emission['source']})"
    )
    return lines


def _assumptions(x: _Day, tariff: _Tariff, peak: _Peak) -> list[str]:
    """One line for each thing assumed about the day: the tariff's days in force, the holiday calendar, the peak so far."""
    notes = []
    note = tariff.tou.note(x.day)
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
    if peak.profile_days:
        notes.append(
            f"no metered history for {peak.profile_days} of the month's {x.day.day - 1} earlier days: the month's peak "
            f"so far ({peak.value_mw:.1f} MW) takes the documented profile for them; give the metered one with "
            "--peak-to-date MW (peak_to_date_mw)"
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
