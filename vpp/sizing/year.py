"""A year of days: the day cases, the candidate storage sites, and the day-by-day simulation.

A *plan* is the list of days to solve and how they are chained:

- the full year (:func:`year_plan`, :func:`series_plan`): every day of the
  year, split into months (``chunk="month"``, the default) or kept as one
  chain (``chunk="none"``). Within a chunk each day starts from the storage
  level the previous day ended with; the first day of a chunk starts from the
  site's ``soc_initial`` (0.5 by default). Every day ends at or above its
  ``soc_final_min`` (the case's rule, 0.5 for TEDA), so a month's first day
  usually starts where a chained run would have started it; the benchmark
  measures the difference. Months are what lets a single year run on several
  Dask workers at once; serial and Dask runs solve the same chunks, so they
  give the same table.
- typical days (:mod:`vpp.sizing.typical`): the typical days of each month, in
  one chunk per month, each starting from ``soc_initial`` and ending at or
  above ``soc_final_min`` (the same rule as a simulated day).

**The month's maximum demand.** A case with a maximum-demand charge
(``grid.demand_charge_cny_per_mw``, the two-part tariff of model.md §3) pays
on each day only for raising the month's peak so far, ``grid.peak_to_date_mw``
(P̂). The simulation carries P̂ from day to day: 0 on the first day of a month
(and of a chunk), then the running maximum of the solved days' imports,
so the days' demand terms add up to the month's charge on its peak
(Σ_months c·peak_m: :func:`vpp.sizing.study.annual_table` recomputes it from
the days' imports and reports the difference). The typical days of a month
are solved in the order of their peak net load, the month's peak day first,
with P̂ carried the same way; their demand terms are counted once, not by the
days' weights.

Where the days come from:

- a built-in template (``teda-east``) materialised for every date of the year
  (the date gives the tariff period, critical peak, working day, clear-sky PV,
  the demand-response events of the calendar's days and the green contracts'
  settled deliveries); when a year of 15-minute history is given (for TEDA
  2025 the shipped SYNTHETIC year of ``forecasts/data``), its ``load_mw`` and
  ``pv_mw`` replace the template's load and PV totals for that day, shared
  over the case's load and PV assets in the template's own proportions. An
  event's baseline is the district's metered history *with its storage*: an
  event day is materialised again for each size simulated (the template's
  ``battery_power_mw`` and ``battery_energy_mwh``), so the batteries' usual
  operation is in the baseline and the event pays only for what is added;
- any canonical one-day case plus a table of 15-minute (the case's step)
  series for the year: ``load_mw``, ``pv_mw`` and ``buy_cny_per_mwh``, any of
  them (:func:`series_plan`).

A *site* is a node of the network (or the root) where storage may go; a size
is a power [MW] and an energy [MWh] per site, within the site's limits
(:func:`candidate_sites`). :func:`with_storage` puts those batteries into a
day's case, with their auxiliaries (a constant load per MW of power) and the
wear price of a MWh discharged the economics give.

Each day is solved by a :class:`models.resolve.Resolver` per chunk (the
default, ``RunSettings(in_place=True)``): the days of one shape change one
HiGHS model of the linear relaxation in place and start from the previous
day's basis; the relaxation's integer decisions (the regulation offer flags,
the batch process's start, the interruptible plant's blocks, an event's join)
are rounded, or branched on from the same model, until a schedule is within the
day's MIP gap of a proven bound, and only a day that this does not settle
goes to HiGHS's MIP solver. Every day keeps the guarantee of a day built and
solved afresh (``in_place=False``): its cost within ``mip_gap`` of its optimum.
"""

from __future__ import annotations

import calendar as _calendar
import datetime as dt
import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vpp.case import Battery, Case, Load
from vpp.errors import CaseError, Problem, VPPError

STEP = "preparing the sizing year"


@dataclass(frozen=True)
class Site:
    """A candidate storage site: a node, the battery id used there, its technical template and size limits.

    ``power_max_mw`` and ``energy_max_mwh``: the most the site holds, the least
    of its limits; ``limits`` names each limit with its value and source.
    ``auxiliary_mw_per_mw``: the auxiliaries' constant draw per MW of power.
    """

    id: str
    node: str
    battery_id: str
    template: Battery
    power_max_mw: float
    energy_max_mwh: float
    auxiliary_mw_per_mw: float = 0.0
    limits: tuple[tuple[str, float, str], ...] = ()


@dataclass(frozen=True)
class DayItem:
    """What is needed to make one day's case, cheap to send to a worker.

    ``overrides``: keywords of the template's ``materialize`` (a size's batteries for an event's baseline).
    ``role``: what the day stands for in a typical-day plan (``typical``, ``peak``, ``event``), else ``day``.
    """

    index: int
    date: str
    weight: float
    base: Case | str  # a case, or a template name materialised for ``date``
    load_mw: np.ndarray | None = None
    pv_mw: np.ndarray | None = None
    buy_cny_per_mwh: np.ndarray | None = None
    overrides: tuple[tuple[str, float], ...] = ()
    role: str = "day"


@dataclass
class Day:
    """A day ready to solve (or the reason it could not be made)."""

    index: int
    date: str
    weight: float
    case: Case | None
    error: str | None = None
    item: DayItem | None = field(default=None, repr=False)


@dataclass
class Plan:
    """The days to solve, in chunks; ``chain``: whether a chunk's days follow one another's storage level.

    Within a chunk the month's peak so far is carried from day to day (reset when the month changes).
    """

    kind: str  # "year" or "typical"
    chunks: list[list[DayItem]]
    chain: bool
    dates: list[str]  # every calendar day the plan stands for
    assignment: list[int] | None = None  # typical days: calendar day → typical day index
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def days(self) -> list[DayItem]:
        return [d for c in self.chunks for d in c]


# ---------------------------------------------------------------------------
# Sites and sizes
# ---------------------------------------------------------------------------


def candidate_sites(
    case: Case,
    site_ids: list[str] | None,
    defaults: dict[str, Any],
    limits: dict[str, dict[str, tuple[float, str]]] | None = None,
    wear_cny_per_mwh: float | None = None,
) -> list[Site]:
    """The sites to size: the nodes of the case's batteries by default, or the named nodes.

    A site's technical parameters come from the case's battery there (the
    first, when it has several), else from the defaults' ``battery`` section.
    Its power is at most its branch's firm capacity (the grid's import limit
    at the root) × ``power_max_fraction_of_branch`` and at most the site's
    ``power_max_mw`` (``limits``: space, connection); its energy at most that
    power × ``duration_max_h`` and at most the site's ``energy_max_mwh``
    (space and fire spacing). ``wear_cny_per_mwh``: the price of a MWh
    discharged in the dispatch (the economics' augmentation cost), in place of
    the case's own degradation cost.
    """
    root = case.network.root
    nodes = {n.id: n for n in case.network.nodes}
    batteries = [a for a in case.assets if a.type == "battery"]
    if site_ids is None:
        site_ids = list(dict.fromkeys(case.node_of(b) for b in batteries))
        if not site_ids:
            raise CaseError(
                [Problem("sites", "no candidate site: the case has no battery; name the sites (node ids) to size")],
                step=STEP,
            )
    problems = []
    for s in site_ids:
        if s != root and s not in nodes:
            problems.append(Problem("sites", f"unknown site {s!r}: expected a node of the case {sorted(nodes)} or the root {root!r}"))
    if len(set(site_ids)) != len(site_ids):
        problems.append(Problem("sites", f"a site is named twice: {site_ids}"))
    if problems:
        raise CaseError(problems, step=STEP)
    tech = defaults["battery"]
    frac = float(defaults["sizing"]["power_max_fraction_of_branch"])
    dmax = float(defaults["sizing"]["duration_max_h"])
    aux = float(tech.get("auxiliary_mw_per_mw", 0.0))
    out = []
    for s in site_ids:
        here = [b for b in batteries if case.node_of(b) == s]
        update: dict[str, Any] = {"meta": None}
        if wear_cny_per_mwh is not None:
            update["degradation_cny_per_mwh"] = float(wear_cny_per_mwh)
        if here:
            template = here[0].model_copy(update={**update, "soc_final_min": here[0].final_min})
        else:
            template = Battery(
                id=f"bess-{s}", node=None if s == root else s, power_mw=1.0, energy_mwh=1.0,
                **{k: float(tech[k]) for k in ("charge_efficiency", "discharge_efficiency", "soc_min", "soc_max", "soc_initial", "degradation_cny_per_mwh")},
            )
            template = template.model_copy(update={**update, "soc_final_min": template.final_min})
        cap = nodes[s].capacity_mw if s in nodes else case.grid.import_max_mw
        if cap is None:
            cap = case.grid.import_max_mw
        cap = float(np.min(cap)) if np.ndim(cap) else float(cap)
        where = "the grid's import limit" if s not in nodes or nodes[s].capacity_mw is None else "the branch's firm capacity"
        found: list[tuple[str, float, str]] = [
            ("power_max_mw", frac * cap, f"{where} {cap:g} MW × power_max_fraction_of_branch {frac:g}"),
        ]
        own = (limits or {}).get(s, {})
        if "power_max_mw" in own:
            found.append(("power_max_mw", *own["power_max_mw"]))
        pmax = min(v for k, v, _ in found if k == "power_max_mw")
        found.append(("energy_max_mwh", pmax * dmax, f"the site's power {pmax:g} MW × duration_max_h {dmax:g}"))
        if "energy_max_mwh" in own:
            found.append(("energy_max_mwh", *own["energy_max_mwh"]))
        emax = min(v for k, v, _ in found if k == "energy_max_mwh")
        out.append(Site(id=s, node=s, battery_id=template.id, template=template, power_max_mw=pmax, energy_max_mwh=emax,
                        auxiliary_mw_per_mw=aux, limits=tuple(found)))
    return out


def binding_limits(site: Site) -> dict[str, str]:
    """Which limit sets the site's power and energy: ``{"power_max_mw": source, "energy_max_mwh": source}``."""
    out = {}
    for key, best in (("power_max_mw", site.power_max_mw), ("energy_max_mwh", site.energy_max_mwh)):
        out[key] = next(src for k, v, src in site.limits if k == key and v == best)
    return out


def with_storage(
    case: Case, sites: list[Site], sizes: dict[str, tuple[float, float]], soc_initial: dict[str, float] | None = None
) -> Case:
    """``case`` with each site's battery replaced by the given (power [MW], energy [MWh]); none where either is 0.

    A battery's auxiliaries (cooling, control, the transformer's no-load losses)
    are a constant load of ``auxiliary_mw_per_mw`` × its power at its node,
    ``aux-<battery id>``, whatever it does.
    """
    ids = {s.battery_id for s in sites}
    assets = [a for a in case.assets if a.id not in ids and a.id not in {f"aux-{i}" for i in ids}]
    for s in sites:
        p, e = sizes.get(s.id, (0.0, 0.0))
        if p > 0 and e > 0:
            update: dict[str, Any] = {"power_mw": float(p), "energy_mwh": float(e)}
            if soc_initial and s.id in soc_initial:
                update["soc_initial"] = soc_initial[s.id]
            assets.append(s.template.model_copy(update=update))
            if s.auxiliary_mw_per_mw > 0:
                assets.append(Load(id=f"aux-{s.battery_id}", node=s.template.node, demand_mw=s.auxiliary_mw_per_mw * float(p),
                                   name=f"auxiliaries of {s.battery_id}"))
    return case.model_copy(update={"assets": assets})


def lean(case: Case) -> Case:
    """The case without its provenance text (``meta``), which the solver never reads: smaller to send."""
    return case.model_copy(
        update={
            "meta": None,
            "assets": [a.model_copy(update={"meta": None}) for a in case.assets],
            "network": case.network.model_copy(update={"nodes": [n.model_copy(update={"meta": None}) for n in case.network.nodes]}),
        }
    )


# ---------------------------------------------------------------------------
# Series
# ---------------------------------------------------------------------------


def _spread(total: np.ndarray, parts: list[np.ndarray]) -> list[np.ndarray]:
    """Share a total [MW] over parts in their own proportions, step by step (equal shares where they sum to 0)."""
    stack = np.vstack(parts)
    s = stack.sum(axis=0)
    energy = stack.sum(axis=1)
    fallback = energy / energy.sum() if energy.sum() > 0 else np.full(len(parts), 1.0 / len(parts))
    shares = np.where(s > 0, stack / np.where(s > 0, s, 1.0), fallback[:, None])
    return list(shares * total[None, :])


def apply_series(case: Case, load_mw: np.ndarray | None, pv_mw: np.ndarray | None, buy: np.ndarray | None) -> Case:
    """Replace the totals of the case's ``load`` demand and ``pv`` availability, and the buy price."""
    assets = list(case.assets)
    for kind, total, field_name in (("load", load_mw, "demand_mw"), ("pv", pv_mw, "available_mw")):
        if total is None:
            continue
        idx = [i for i, a in enumerate(assets) if a.type == kind]
        if not idx:
            raise CaseError([Problem(f"series.{kind}", f"the series has {kind} totals but the case has no {kind!r} asset")], step=STEP)
        parts = _spread(np.asarray(total, dtype=float), [case.series(getattr(assets[i], field_name)) for i in idx])
        for i, v in zip(idx, parts, strict=True):
            assets[i] = assets[i].model_copy(update={field_name: [float(x) for x in v]})
    update: dict[str, Any] = {"assets": assets}
    if buy is not None:
        update["grid"] = case.grid.model_copy(update={"buy_cny_per_mwh": [float(x) for x in buy]})
    return case.model_copy(update=update)


SERIES_COLUMNS = ("load_mw", "pv_mw", "buy_cny_per_mwh")


def read_year_series(source: str | Path | pd.DataFrame) -> pd.DataFrame:
    """A table of 15-minute series (CSV, CSV.gz or Parquet; or a DataFrame) indexed by its time-zone-aware timestamps.

    A ``timestamp`` column (or a DatetimeIndex) with UTC offsets; any of the
    columns :data:`SERIES_COLUMNS`; lines starting with ``#`` are comments.
    """
    name = "the series DataFrame"
    if isinstance(source, pd.DataFrame):
        frame = source.copy()
        if isinstance(frame.index, pd.DatetimeIndex):
            frame = frame.reset_index(names="timestamp")
    else:
        path = Path(source)
        name = path.name
        if not path.is_file():
            raise CaseError([Problem("series", f"no such file: {str(path)!r}")], step=STEP)
        try:
            if path.suffix.lower() == ".parquet":
                frame = pd.read_parquet(path)
                if isinstance(frame.index, pd.DatetimeIndex):
                    frame = frame.reset_index(names="timestamp")
            else:
                frame = pd.read_csv(path, comment="#")
        except (OSError, ValueError) as exc:
            raise CaseError([Problem("series", f"cannot read {name}: {exc}")], step=STEP) from None
    if "timestamp" not in frame.columns:
        raise CaseError([Problem("series", f"{name}: expected a 'timestamp' column, got columns {list(frame.columns)}")], step=STEP)
    ts = frame["timestamp"]
    if not pd.api.types.is_datetime64_any_dtype(ts):
        if ts.astype(str).str.contains(r"(?:[+-]\d\d:?\d\d|Z)$", regex=True).all():
            ts = pd.to_datetime(ts, utc=False, format="ISO8601")
        else:
            ts = pd.to_datetime(ts, errors="coerce")
    if getattr(ts.dt, "tz", None) is None:
        raise CaseError(
            [Problem("series.timestamp", f"{name}: time zone missing: expected timestamps with their UTC offset, e.g. 2025-01-01T00:00:00+08:00")],
            step=STEP,
        )
    cols = [c for c in SERIES_COLUMNS if c in frame.columns]
    if not cols:
        raise CaseError([Problem("series", f"{name}: expected some of the columns {list(SERIES_COLUMNS)}, got {list(frame.columns)}")], step=STEP)
    out = frame[cols].astype(float)
    out.index = pd.DatetimeIndex(ts)
    bad = [c for c in cols if not np.isfinite(out[c].to_numpy()).all()]
    if bad:
        raise CaseError([Problem(f"series.{bad[0]}", f"{name}: missing or non-finite values in {bad}")], step=STEP)
    neg = [c for c in ("load_mw", "pv_mw") if c in cols and (out[c] < 0).any()]
    if neg:
        raise CaseError([Problem(f"series.{neg[0]}", f"{name}: expected values >= 0 in {neg}")], step=STEP)
    return out


def _check_grid(frame: pd.DataFrame, step_minutes: int, steps: int, name: str = "series") -> None:
    idx = frame.index
    if len(idx) == 0 or len(idx) % steps:
        raise CaseError(
            [Problem(name, f"expected whole days of {steps} steps of {step_minutes} min, got {len(idx)} rows ({len(idx) / steps:.2f} days)")],
            step=STEP,
        )
    diffs = np.diff(idx.as_unit("ns").asi8) if len(idx) > 1 else np.array([])
    want = pd.Timedelta(minutes=step_minutes).value
    if diffs.size and not (diffs == want).all():
        k = int(np.flatnonzero(diffs != want)[0])
        raise CaseError(
            [Problem(f"{name}.timestamp", f"expected a step of {step_minutes} min throughout; row {k + 1} ({idx[k + 1].isoformat()}) follows {idx[k].isoformat()}")],
            step=STEP,
        )


# ---------------------------------------------------------------------------
# Plans
# ---------------------------------------------------------------------------


def _chunks(items: list[DayItem], chunk: str) -> list[list[DayItem]]:
    if chunk == "none":
        return [items]
    if chunk == "month":
        out: dict[str, list[DayItem]] = {}
        for d in items:
            out.setdefault(d.date[:7], []).append(d)
        return list(out.values())
    raise CaseError([Problem("chunk", f"expected 'month' or 'none', got {chunk!r}")], step=STEP)


def year_dates(year: int) -> list[dt.date]:
    if isinstance(year, bool) or not isinstance(year, int) or not 1900 <= year <= 2200:
        raise CaseError([Problem("year", f"expected a year between 1900 and 2200, e.g. 2025, got {year!r}")], step=STEP)
    start = dt.date(year, 1, 1)
    return [start + dt.timedelta(days=k) for k in range(366 if _calendar.isleap(year) else 365)]


SYNTHETIC_HISTORY = "teda_east_2025_15min.csv.gz"


def shipped_history(template: str, year: int) -> tuple[pd.DataFrame | None, str | None]:
    """The shipped SYNTHETIC history for a template and year, if there is one (TEDA east 2025)."""
    if template != "teda-east":
        return None, None
    from importlib import resources

    ref = resources.files("forecasts.data").joinpath(SYNTHETIC_HISTORY)
    if not ref.is_file():
        return None, None
    with resources.as_file(ref) as path:
        frame = read_year_series(path)
    frame = frame[[c for c in ("load_mw", "pv_mw") if c in frame.columns]]
    if not (frame.index.year == year).any():
        return None, None
    return frame, f"SYNTHETIC TEDA east 2025 history (forecasts/data/{SYNTHETIC_HISTORY}): load_mw and pv_mw, shared over the case's load and PV assets in the template's proportions"


def year_plan(
    template: str,
    year: int,
    *,
    history: pd.DataFrame | None | str = "auto",
    chunk: str = "month",
    step_minutes: int = 15,
) -> Plan:
    """Every day of ``year`` from a built-in template; load and PV from ``history`` where it covers the day.

    ``history="auto"`` uses the shipped SYNTHETIC year when it covers ``year``
    (TEDA east 2025); ``None`` uses the template's own profiles.
    """
    from vpp.cases import template as find_template

    zone = find_template(template, step=STEP).timezone()
    dates = year_dates(year)
    source = None
    if isinstance(history, str) and history == "auto":
        history, source = shipped_history(template, year)
    elif history is not None:
        history = read_year_series(history)
        source = "the given history: " + ", ".join(c for c in SERIES_COLUMNS if c in history.columns)
    steps = 1440 // step_minutes
    items = []
    covered = 0
    for k, d in enumerate(dates):
        load = pv = buy = None
        if history is not None:
            start = pd.Timestamp(d).tz_localize(zone)  # the template's midnight
            sl = history.loc[(history.index >= start) & (history.index < start + pd.Timedelta(days=1))]
            if len(sl) == steps:
                covered += 1
                load = sl["load_mw"].to_numpy() if "load_mw" in sl else None
                pv = sl["pv_mw"].to_numpy() if "pv_mw" in sl else None
                buy = sl["buy_cny_per_mwh"].to_numpy() if "buy_cny_per_mwh" in sl else None
        items.append(DayItem(index=k, date=d.isoformat(), weight=1.0, base=template, load_mw=load, pv_mw=pv, buy_cny_per_mwh=buy))
    provenance = {
        "days_from": f"the {template!r} template materialised for every date of {year} (tariff period, critical peak, working day, clear-sky PV)",
        "load_pv_from": (f"{source} on {covered} of {len(dates)} days; the template's profiles on the others" if source else "the template's own profiles"),
        "chunks": chunk,
    }
    if covered < len(dates):
        provenance["note"] = (
            f"no load and PV history of {year} for {template!r}: every day takes the template's documented profiles "
            "(clear-sky PV × the climatological clear-sky index, the district load profile)"
            if covered == 0 else
            f"the history covers {covered} of the {len(dates)} days of {year}: the others take the template's documented profiles"
        )
    return Plan(kind="year", chunks=_chunks(items, chunk), chain=True, dates=[d.isoformat() for d in dates], provenance=provenance)


def series_plan(base: Case, series: pd.DataFrame | str | Path, *, chunk: str = "month") -> Plan:
    """The days of a year from a canonical one-day case and a table of series at the case's step.

    Each day is ``base`` with its start moved to the day and the totals of
    ``load_mw`` / ``pv_mw`` and the ``buy_cny_per_mwh`` price of the table.
    """
    frame = read_year_series(series)
    _check_grid(frame, base.step_minutes, base.steps)
    n = len(frame) // base.steps
    items = []
    dates = []
    for k in range(n):
        sl = frame.iloc[k * base.steps : (k + 1) * base.steps]
        start = sl.index[0]
        day = base.model_copy(update={"start": start.to_pydatetime()})
        items.append(
            DayItem(
                index=k, date=start.date().isoformat(), weight=1.0, base=lean(day),
                load_mw=sl["load_mw"].to_numpy() if "load_mw" in sl else None,
                pv_mw=sl["pv_mw"].to_numpy() if "pv_mw" in sl else None,
                buy_cny_per_mwh=sl["buy_cny_per_mwh"].to_numpy() if "buy_cny_per_mwh" in sl else None,
            )
        )
        dates.append(start.date().isoformat())
    provenance = {
        "days_from": f"the case {base.name!r} moved to each day",
        "load_pv_from": "the given series: " + ", ".join(frame.columns),
        "chunks": chunk,
    }
    return Plan(kind="year", chunks=_chunks(items, chunk), chain=True, dates=dates, provenance=provenance)


# ---------------------------------------------------------------------------
# Building and solving days (what a worker runs)
# ---------------------------------------------------------------------------


def make_day(item: DayItem) -> Day:
    """The day's case; a day that cannot be made is returned with its reason, never dropped."""
    try:
        if isinstance(item.base, str):
            from vpp.cases import materialize

            case = lean(materialize(item.base, item.date, **dict(item.overrides)))
        else:
            case = item.base
        if item.load_mw is not None or item.pv_mw is not None or item.buy_cny_per_mwh is not None:
            case = apply_series(case, item.load_mw, item.pv_mw, item.buy_cny_per_mwh)
        return Day(item.index, item.date, item.weight, case, item=item)
    except (VPPError, ValueError, KeyError) as exc:
        return Day(item.index, item.date, item.weight, None, error=f"{type(exc).__name__}: {exc}", item=item)


def build_chunk(items: list[DayItem]) -> list[Day]:
    return [make_day(i) for i in items]


@dataclass(frozen=True)
class RunSettings:
    """How each day is solved.

    mip_gap, time_limit_s: of each day [-, s]; attempts: 1 + retries; retry_time_factor: the retry's time limit factor.
    in_place: re-solve the days of a chunk by changing one HiGHS model (:mod:`models.resolve`, the default), else
        build and solve each afresh (:func:`models.optimize.optimize`); either way each day is within ``mip_gap``.
    emission_profile_t_per_mwh: an hourly emission factor (24 values by local hour) for a second CO2 count, or None.
    relax_co_optimisation: co-optimise with the days' own integer decisions relaxed (:func:`models.sizing.co_optimise`).
    """

    mip_gap: float = 1e-4
    time_limit_s: float = 60.0
    attempts: int = 2
    retry_time_factor: float = 4.0
    in_place: bool = True
    emission_profile_t_per_mwh: tuple[float, ...] | None = None
    relax_co_optimisation: bool = True

    def __post_init__(self) -> None:
        if not (0 <= self.mip_gap < 1):
            raise ValueError(f"mip_gap: expected a number in [0, 1), got {self.mip_gap}")
        if not (self.time_limit_s > 0) or not math.isfinite(self.time_limit_s):
            raise ValueError(f"time_limit_s: expected a positive number of seconds, got {self.time_limit_s}")
        if self.attempts < 1:
            raise ValueError(f"attempts: expected >= 1, got {self.attempts}")
        p = self.emission_profile_t_per_mwh
        if p is not None and (len(p) != 24 or not all(math.isfinite(v) and v >= 0 for v in p)):
            raise ValueError(f"emission_profile_t_per_mwh: expected 24 numbers >= 0 (t/MWh by hour), got {list(p)}")


@dataclass(frozen=True)
class Variant:
    """A change to every day of a run, for a sensitivity; the base run changes nothing.

    spread_factor: the buy price's deviation from its daily mean scaled by it (the time-of-use spread, the daily
        mean kept); demand_charge_factor: the maximum-demand charge scaled by it; events: keep the days' events;
        regulation_factor: the regulation prices (capacity and mileage) scaled by it, 0 for no regulation market.
    """

    name: str = "base"
    spread_factor: float = 1.0
    demand_charge_factor: float = 1.0
    events: bool = True
    regulation_factor: float = 1.0

    def apply(self, case: Case) -> Case:
        if self.spread_factor == 1.0 and self.demand_charge_factor == 1.0 and self.events and self.regulation_factor == 1.0:
            return case
        grid = case.grid
        update: dict[str, Any] = {}
        if self.spread_factor != 1.0:
            buy = case.series(grid.buy_cny_per_mwh)
            mean = float(buy.mean())
            update["buy_cny_per_mwh"] = [float(v) for v in mean + self.spread_factor * (buy - mean)]
        if self.demand_charge_factor != 1.0:
            update["demand_charge_cny_per_mw"] = grid.demand_charge_cny_per_mw * self.demand_charge_factor
        out = case.model_copy(update={"grid": grid.model_copy(update=update)}) if update else case
        if not self.events:
            out = out.model_copy(update={"demand_response": []})
        reg = out.regulation
        if self.regulation_factor != 1.0 and reg is not None:
            scaled = None if self.regulation_factor == 0 else reg.model_copy(update={
                k: [float(v) for v in out.series(getattr(reg, k)) * self.regulation_factor]
                for k in ("capacity_price_cny_per_mw_h", "mileage_price_cny_per_mw")})
            out = out.model_copy(update={"regulation": scaled})
        return out


BASE = Variant()

COST_TERMS = (
    "energy", "export", "carbon", "demand", "unserved", "unserved_thermal", "degradation", "curtailment",
    "load_curtailment", "load_curtailment_start", "green_energy", "green_fixed", "dr_revenue", "dr_penalty",
    "regulation_capacity", "regulation_mileage",
)
"""The cost terms of model.md §6 as the model names them; any other term lands in ``cost_other_cny``."""


def _solve_day(case: Case, settings: RunSettings, attempt: int, resolver: Any) -> tuple[dict[str, Any], Any, str]:
    from models import SolveOptions, extract, optimize
    from vpp.results import summarize

    limit = settings.time_limit_s * (settings.retry_time_factor ** (attempt - 1))
    options = SolveOptions(mip_gap=settings.mip_gap, time_limit_s=limit, threads=1)
    if attempt == 1 and resolver is not None:
        built, report, route = resolver.solve(case)
    else:
        built, report = optimize(case, options, "lazy" if attempt == 1 else "spec")
        route = "fresh" if attempt == 1 else "fresh, spec binaries"
    sol = extract(built)
    return summarize(case, report, sol, built.build_seconds), sol, route


def _rebaselined(day: Day, sites: list[Site], sizes: dict[str, tuple[float, float]]) -> Day:
    """An event day of a template materialised again with the size's batteries in its baseline (module docstring)."""
    item = day.item
    if day.case is None or not day.case.demand_response or item is None or not isinstance(item.base, str):
        return day
    p = sum(sizes.get(s.id, (0.0, 0.0))[0] for s in sites)
    e = sum(sizes.get(s.id, (0.0, 0.0))[1] for s in sites)
    ids = {s.battery_id for s in sites}
    own = [a for a in day.case.assets if a.type == "battery" and a.id in ids]
    if abs(sum(float(a.power_mw or 0) for a in own) - p) < 1e-9 and abs(sum(a.energy_mwh for a in own) - e) < 1e-9:
        return day  # the template's own storage: its baseline already
    again = make_day(replace(item, overrides=(*item.overrides, ("battery_power_mw", p), ("battery_energy_mwh", e))))
    return again if again.case is not None else day


def solve_chunk(
    days: list[Day],
    sites: list[Site],
    sizes: dict[str, tuple[float, float]],
    point: int,
    settings: RunSettings,
    chain: bool,
    variant: Variant = BASE,
    starts: dict[int, tuple[dict[str, float], float]] | None = None,
) -> tuple[list[dict[str, Any]], float]:
    """Solve a chunk's days in order, each from the storage level the last one ended at (when ``chain``).

    The month's peak so far (``grid.peak_to_date_mw``) starts at 0 and is
    carried from day to day as the running maximum of the solved imports,
    reset when the month changes (module docstring). ``starts``: a day's
    storage level by site [fraction] and peak so far [MW] to start from
    instead (a day solved again apart from its chunk). A day that fails
    (infeasible, time limit without a schedule, a case that could not be made)
    is tried again with the spec's binaries and a longer time limit, then
    reported with its reason; the next day then starts from the sites'
    ``soc_initial``. Returns the rows and the seconds spent.
    """
    from models import SolveOptions
    from models.resolve import Resolver

    t0 = time.perf_counter()
    rows = []
    level: dict[str, float] | None = None
    peak, month = 0.0, None
    resolver = Resolver(SolveOptions(mip_gap=settings.mip_gap, time_limit_s=settings.time_limit_s, threads=1)) if settings.in_place else None
    for day in days:
        row: dict[str, Any] = {"point": point, "day": day.index, "date": day.date, "weight": day.weight}
        if day.date[:7] != month:
            peak, month = 0.0, day.date[:7]
        start = {s.id: (level or {}).get(s.id, s.template.soc_initial) if chain else s.template.soc_initial for s in sites}
        if starts and day.index in starts:
            start, peak = {**start, **starts[day.index][0]}, starts[day.index][1]
        day = _rebaselined(day, sites, sizes)
        reason = day.error
        summary = sol = None
        attempts = 0
        route = None
        case = None
        if day.case is not None:
            base = variant.apply(day.case)
            if base.grid.demand_charge_cny_per_mw > 0:
                base = base.model_copy(update={"grid": base.grid.model_copy(update={"peak_to_date_mw": peak})})
            case = with_storage(base, sites, sizes, soc_initial=start)
            for attempt in range(1, settings.attempts + 1):
                attempts = attempt
                try:
                    summary, sol, route = _solve_day(case, settings, attempt, resolver)
                    reason = None
                    break
                except (VPPError, ValueError) as exc:
                    reason = f"{type(exc).__name__}: {exc}"
        row["attempts"] = attempts
        if summary is None:
            row.update(status="failed", reason=reason)
            rows.append(row)
            level = None
            continue
        row.update(_row_values(case, summary, sol, sites, sizes, start, settings))
        row["solve_route"] = route
        row["reason"] = None
        rows.append(row)
        peak = max(peak, row["peak_import_mw"]) if case.grid.demand_charge_cny_per_mw > 0 else peak
        level = {s.id: row[f"soc_end_fraction:{s.id}"] for s in sites if f"soc_end_fraction:{s.id}" in row}
    return rows, time.perf_counter() - t0


def _row_values(case: Case, s: dict[str, Any], sol: Any, sites: list[Site], sizes: dict[str, tuple[float, float]],
                start: dict[str, float], settings: RunSettings) -> dict[str, Any]:
    e = s["energy_mwh"]
    dt_h = case.dt_hours
    buy = case.series(case.grid.buy_cny_per_mwh)
    out: dict[str, Any] = {"status": s["status"], "mip_gap": s["mip_gap"], "objective_cny": s["objective_cny"]}
    for term in COST_TERMS:
        out[f"cost_{term}_cny"] = float(s["cost_cny"].get(term, 0.0))
    other = sum(v for k, v in s["cost_cny"].items() if k not in COST_TERMS and k != "total")
    out["cost_other_cny"] = float(other)
    renewable = (s["renewable_share"] or 0.0) * e["consumption_mwh"]
    grid_energy = np.asarray(sol.import_mw, dtype=float) - np.asarray(sol.green_mw, dtype=float)
    out.update(
        import_mwh=e["import_mwh"], export_mwh=e["export_mwh"], peak_import_mw=s["peak_import_mw"],
        peak_to_date_mw=float(case.grid.peak_to_date_mw), demand_charge_cny_per_mw=float(case.grid.demand_charge_cny_per_mw),
        emissions_t=s["emissions_t"], consumption_mwh=e["consumption_mwh"], renewable_mwh=renewable,
        pv_available_mwh=e["pv_available_mwh"], pv_curtailed_mwh=e["pv_curtailed_mwh"],
        unserved_mwh=e["unserved_mwh"], unserved_thermal_mwh_th=e["unserved_thermal_mwh_th"],
        grid_energy_mwh=float(grid_energy.sum() * dt_h), events=len(case.demand_response),
    )
    profile = settings.emission_profile_t_per_mwh
    if profile is not None:
        hours = np.asarray(case.timestamps.hour, dtype=int)
        out["emissions_profile_t"] = float((np.asarray(profile)[hours] * grid_energy).sum() * dt_h)
    ch = dis = charging = soc0 = soc1 = aux = 0.0
    value = aux_cost = band = band_loss = 0.0  # the storage's own money and regulation band (the bill's breakdown)
    reg = case.regulation
    for site in sites:
        bid = site.battery_id
        p, en = sizes.get(site.id, (0.0, 0.0))
        frac_end = site.template.soc_initial
        if bid in sol.assets and p > 0 and en > 0:
            v = sol.assets[bid]
            ch += float(v["charge_mw"].sum() * dt_h)
            dis += float(v["discharge_mw"].sum() * dt_h)
            charging += float((buy * v["charge_mw"]).sum() * dt_h)
            soc0 += start[site.id] * en
            soc1 += float(v["soc_mwh"][-1])
            lo, hi = site.template.soc_min, site.template.soc_max
            frac_end = min(max(float(v["soc_mwh"][-1]) / en, lo), hi)
            aux += site.auxiliary_mw_per_mw * p * case.steps * dt_h
            value += float((buy * v["discharge_mw"]).sum() * dt_h)
            aux_cost += float(buy.sum() * site.auxiliary_mw_per_mw * p * dt_h)
            if "regulation_mw" in v and reg is not None:
                r = float(np.asarray(v["regulation_mw"]).sum() * dt_h)
                t = site.template
                band += r
                band_loss += reg.deployment_fraction * (1 / t.discharge_efficiency - t.charge_efficiency) * r
        out[f"soc_end_fraction:{site.id}"] = frac_end
    out.update(storage_charge_mwh=ch, storage_discharge_mwh=dis, storage_charging_cost_cny=charging, soc_start_mwh=soc0,
               soc_end_mwh=soc1, storage_auxiliary_mwh=aux, storage_discharge_value_cny=value,
               storage_auxiliary_cost_cny=aux_cost, storage_regulation_mw_h=band, storage_regulation_loss_mwh=band_loss)
    return out
