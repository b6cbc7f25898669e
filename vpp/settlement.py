"""Settlement of the virtual power plant with its participants, as practised in China.

For each solved day (a folder ``vpp dispatch`` wrote, or a schedule the service stored):

1. **Each participant's response** in each demand-response window it was called
   for (the events the plant joined), against *its own* baseline: the mean, step
   by step, of its metered consumption on earlier days of the same kind (working
   day or not) without an event, by the rule of :data:`RULES_FILE` (Jiangsu's 5
   most recent days, or Beijing's top 5 of 10). A participant's consumption is
   ``−Σ injection`` over its assets [MW] (its load less its own PV and battery).
   History comes from a meter file (``timestamp, participant, consumption_mw``)
   and from the other days being settled (their *schedules* stand in for meter
   readings, and say so). Where fewer than ``min_days`` qualifying days exist, the
   **stand-in** is the participant's consumption on the day itself with none of
   the plant's assets flexible (the no-VPP run of :mod:`vpp.coalitions`, solved),
   the same counterfactual the template's event baseline is built from; each row
   names which baseline it used.
2. **The effective response** (:func:`effective_response`): with the response
   ratio ``ρ = actual / commitment`` (window means [MW]), 0 below the lower
   fraction, the actual response between the two, ``upper × commitment`` above.
   The commitment is the participant's scheduled response (the day-ahead plan
   the aggregator called it for) unless a commitments file gives it.
3. **Money** [CNY, to the fen]: the event's revenue, after the aggregator's
   share, is shared in proportion to effective response; the event's penalty
   (recomputed from the meters when the day's meter readings are given) is
   passed on in proportion to shortfall ``max(0, commitment − actual)``; the
   regulation revenue (§5.4) is shared by each battery's band (capacity payment)
   and band × mileage × performance index (mileage payment). Every pot is split
   in whole fen by largest remainder (:func:`apportion`), so the shares and the
   aggregator's part add up to the pot exactly.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from vpp.case import Case, load_case, read_case
from vpp.errors import CaseError, Problem

RULES_FILE = Path(__file__).with_name("settlement_rules.yaml")

#: Where each rule lives in the rules file: (section, key, kind).
_RULE_KEYS: dict[str, tuple[str, str, str]] = {
    "method": ("baseline", "method", "choice"),
    "days": ("baseline", "days", "count"),
    "pool_days": ("baseline", "pool_days", "count"),
    "min_lag_days": ("baseline", "min_lag_days", "count"),
    "lookback_days": ("baseline", "lookback_days", "count"),
    "min_days": ("baseline", "min_days", "count"),
    "same_kind_of_day": ("baseline", "same_kind_of_day", "flag"),
    "lower_fraction": ("effective_response", "lower_fraction", "fraction"),
    "upper_fraction": ("effective_response", "upper_fraction", "number"),
    "aggregator_share": ("sharing", "aggregator_share", "fraction"),
    "penalty_pass_through": ("sharing", "penalty_pass_through", "fraction"),
    "rounding_cny": ("money", "rounding_cny", "number"),
}
_METHODS = ("recent", "top")


@dataclass(frozen=True)
class Rules:
    """The settlement rules (see ``settlement_rules.yaml``); ``sources[name]`` is each value's label."""

    name: str
    method: str
    days: int
    pool_days: int
    min_lag_days: int
    lookback_days: int
    min_days: int
    same_kind_of_day: bool
    lower_fraction: float
    upper_fraction: float
    aggregator_share: float
    penalty_pass_through: float
    rounding_cny: float
    sources: dict[str, str] = field(default_factory=dict)
    regulation_note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, **{k: {"value": getattr(self, k), "source": self.sources.get(k, "")} for k in _RULE_KEYS},
                "regulation": self.regulation_note}

    def describe_baseline(self) -> str:
        if self.method == "recent":
            what = f"mean of the {self.days} most recent"
        else:
            what = f"mean of the top {self.days} (by window consumption) of the {self.pool_days} most recent"
        kind = " days of the same kind (working or not)" if self.same_kind_of_day else " days"
        return f"{what}{kind} without an event, {self.min_lag_days}–{self.lookback_days} days before"


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in extra.items():
        out[k] = _merge(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), Mapping) and "value" not in v else v
    return out


def _unknown_keys(data: Mapping[str, Any], defaults: Mapping[str, Any], prefix: str = "") -> list[Problem]:
    out = []
    for k, v in data.items():
        path = f"{prefix}{k}"
        if k not in defaults:
            close = difflib.get_close_matches(str(k), [str(d) for d in defaults], n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f" (expected one of: {', '.join(map(str, defaults))})"
            out.append(Problem(path, f"unknown key {k!r}{hint}"))
        elif isinstance(defaults[k], Mapping) and "value" not in defaults[k]:  # a section
            if isinstance(v, Mapping):
                out += _unknown_keys(v, defaults[k], path + ".")
            else:
                out.append(Problem(path, f"expected a section (a mapping of {', '.join(defaults[k])}), got {v!r}"))
    return out


def load_rules(path: str | Path | None = None, overrides: Mapping[str, Any] | None = None) -> Rules:
    """The settlement rules: the package's file, with the keys of ``path`` (YAML) or ``overrides`` over it.

    A value may be a bare number or ``{value: ..., source: "..."}``; a bare one is labelled
    ``[given] <file>`` (``[given] request`` for ``overrides``). Every problem is reported with its
    key (:class:`CaseError`).
    """
    given: Any = overrides
    label, step = "[given] request", "reading the settlement rules"
    if path is not None:
        p = Path(path)
        label, step = f"[given] {p.name}", f"reading the settlement rules {p.name}"
        try:
            given = yaml.safe_load(p.read_text(encoding="utf-8"))
        except OSError as exc:
            raise CaseError([Problem("", f"cannot read {str(p)!r}: {exc.strerror or exc}")], step=step) from None
        except yaml.YAMLError as exc:
            raise CaseError([Problem("", f"not valid YAML: {str(exc).splitlines()[0]}")], step=step) from None
    return rules_from(given or {}, label, step)


def rules_from(given: Any, label: str, step: str = "reading the settlement rules") -> Rules:
    """The rules with the mapping ``given`` over the package's defaults (bare values labelled ``label``)."""
    defaults = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))
    if not isinstance(given, Mapping):
        raise CaseError([Problem("", f"expected a mapping of sections, got {type(given).__name__}")], step=step)
    problems = _unknown_keys(given, defaults)
    if problems:
        raise CaseError(problems, step=step)
    data = _merge(defaults, _label_bare(given, defaults, label))
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name, (section, key, kind) in _RULE_KEYS.items():
        item = data[section][key]
        value, source = (item.get("value"), str(item.get("source", ""))) if isinstance(item, Mapping) else (item, "")
        problem = _check_rule(value, kind)
        if problem:
            problems.append(Problem(f"{section}.{key}", problem))
        values[name], sources[name] = value, source
    if not problems:
        problems += _cross_checks(values)
    if problems:
        raise CaseError(problems, step=step)
    return Rules(name=str(data.get("name", "")), sources=sources,
                 regulation_note=str(data["sharing"].get("regulation", "")), **values)


def _label_bare(given: Mapping[str, Any], defaults: Mapping[str, Any], label: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in given.items():
        d = defaults.get(k)
        if isinstance(d, Mapping) and "value" in d and not isinstance(v, Mapping):
            out[k] = {"value": v, "source": label}
        elif isinstance(v, Mapping) and isinstance(d, Mapping) and "value" not in d:
            out[k] = _label_bare(v, d, label)
        else:
            out[k] = v
    return out


def _check_rule(value: Any, kind: str) -> str | None:
    if kind == "choice":
        return None if value in _METHODS else f"expected one of {', '.join(_METHODS)}, got {value!r}"
    if kind == "flag":
        return None if isinstance(value, bool) else f"expected true or false, got {value!r}"
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return f"expected a number, got {value!r}"
    if kind == "count" and (value != int(value) or value < 1):
        return f"expected a whole number >= 1, got {value!r}"
    if kind == "fraction" and not 0 <= value <= 1:
        return f"expected a fraction between 0 and 1, got {value!r}"
    if kind == "number" and value <= 0:
        return f"expected a number > 0, got {value!r}"
    return None


def _cross_checks(v: dict[str, Any]) -> list[Problem]:
    out = []
    for k in ("days", "pool_days", "min_lag_days", "lookback_days", "min_days"):
        v[k] = int(v[k])
    if v["upper_fraction"] < 1:
        out.append(Problem("effective_response.upper_fraction",
                           f"expected >= 1 (a response up to the commitment is always paid), got {v['upper_fraction']:g}"))
    if v["lower_fraction"] > 1:
        out.append(Problem("effective_response.lower_fraction", f"expected <= 1, got {v['lower_fraction']:g}"))
    if v["min_days"] > v["days"]:
        out.append(Problem("baseline.min_days", f"expected <= baseline.days ({v['days']}), got {v['min_days']}"))
    if v["method"] == "top" and v["pool_days"] < v["days"]:
        out.append(Problem("baseline.pool_days", f"expected >= baseline.days ({v['days']}), got {v['pool_days']}"))
    if v["lookback_days"] < v["min_lag_days"]:
        out.append(Problem("baseline.lookback_days",
                           f"expected >= baseline.min_lag_days ({v['min_lag_days']}), got {v['lookback_days']}"))
    return out


# ---------------------------------------------------------------------------
# The effective-response rule and the apportionment of money
# ---------------------------------------------------------------------------


#: Responses and commitments smaller than this [MW] are solver round-off, settled as 0.
ROUND_OFF_MW = 1e-6


def _round_off(mw: float) -> float:
    return 0.0 if abs(mw) < ROUND_OFF_MW else mw


def effective_response(actual_mw: float, commitment_mw: float, lower: float, upper: float) -> tuple[float, str]:
    """The response paid [MW] and the region of the rule: ``below``, ``within``, ``above`` (or ``no commitment``).

    ``ρ = actual / commitment``: ρ < ``lower`` → 0; ``lower ≤ ρ ≤ upper`` → the actual response;
    ρ > ``upper`` → ``upper × commitment``.
    """
    if commitment_mw <= 0:
        return 0.0, "no commitment"
    ratio = actual_mw / commitment_mw
    if ratio < lower:
        return 0.0, "below"
    if ratio > upper:
        return upper * commitment_mw, "above"
    return actual_mw, "within"


def apportion(total: int, weights: Mapping[str, float]) -> dict[str, int]:
    """Split a whole number of units (fen) in proportion to ``weights`` ≥ 0, exactly, by largest remainder.

    Each gets the floor of its exact share, and the units left over go one each to the largest
    remainders (ties: in the order of ``weights``). Empty when every weight is 0.
    """
    names = [k for k, w in weights.items() if w > 0]
    if not names or total == 0:
        return {}
    w = np.array([weights[k] for k in names], dtype=float)
    sign = 1 if total > 0 else -1
    exact = abs(total) * w / w.sum()
    base = np.floor(exact).astype(np.int64)
    left = abs(total) - int(base.sum())
    order = sorted(range(len(names)), key=lambda i: (-(exact[i] - base[i]), i))
    for i in order[:left]:
        base[i] += 1
    return {k: sign * int(b) for k, b in zip(names, base, strict=True) if b}


# ---------------------------------------------------------------------------
# Solved days and meter readings
# ---------------------------------------------------------------------------


@dataclass
class SolvedDay:
    """One solved day: the case, its tidy schedule, its summary, where it came from."""

    case: Case
    schedule: pd.DataFrame
    summary: dict[str, Any]
    source: str

    @property
    def date(self) -> dt.date:
        return self.case.start.date()

    def consumption_mw(self) -> dict[str, np.ndarray]:
        """Each participant's consumption per step [MW]: ``−Σ injection_mw`` over its assets."""
        rows = self.schedule[self.schedule["quantity"] == "injection_mw"]
        inj = {a: np.zeros(self.case.steps) for a in rows["asset"].unique()}
        for asset, group in rows.groupby("asset"):
            inj[asset][group["step"].to_numpy(dtype=int)] = group["value"].to_numpy(dtype=float)
        out: dict[str, np.ndarray] = {}
        for a in self.case.assets:
            values = inj.get(a.id)
            out.setdefault(a.owner, np.zeros(self.case.steps))
            if values is not None:
                out[a.owner] = out[a.owner] - values
        return out

    def series(self, asset: str, quantity: str) -> np.ndarray:
        """An element's quantity per step (NaN where the table has no row)."""
        rows = self.schedule[(self.schedule["asset"] == asset) & (self.schedule["quantity"] == quantity)]
        out = np.full(self.case.steps, np.nan)
        out[rows["step"].to_numpy(dtype=int)] = rows["value"].to_numpy(dtype=float)
        return out


def _check_deterministic(day: SolvedDay) -> None:
    if "scenario" in day.schedule.columns or day.case.scenarios:
        raise CaseError([Problem("case.scenarios", "a stochastic day has one schedule per scenario: settle the "
                                 "realised day (a deterministic schedule, or meter readings)")],
                        step=f"settling {day.source}")


def read_solved_day(folder: str | Path) -> SolvedDay:
    """A folder ``vpp dispatch`` wrote: ``case.json``, ``schedule.csv`` and ``summary.json``."""
    f = Path(folder)
    step = f"reading the solved day in {f}"
    missing = [n for n in ("case.json", "schedule.csv", "summary.json") if not (f / n).is_file()]
    if missing:
        raise CaseError([Problem(n, "missing: expected the files vpp dispatch writes (case.json, schedule.csv, "
                                 "summary.json)") for n in missing], step=step)
    case = read_case(f / "case.json")
    try:
        schedule = pd.read_csv(f / "schedule.csv")
        summary = json.loads((f / "summary.json").read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:
        raise CaseError([Problem("", f"cannot read: {exc}")], step=step) from None
    need = {"step", "asset", "quantity", "value"}
    if not need <= set(schedule.columns):
        raise CaseError([Problem("schedule.csv", f"expected the columns {sorted(need)}, "
                                 f"missing {sorted(need - set(schedule.columns))}")], step=step)
    day = SolvedDay(case, schedule, summary, str(f))
    _check_deterministic(day)
    return day


def solved_day_from_json(case: Mapping[str, Any], series: Mapping[str, Any], summary: Mapping[str, Any],
                         source: str) -> SolvedDay:
    """A stored schedule (the service's case, per-step series and summary) as a solved day."""
    from vpp.results import schedule_from_series

    day = SolvedDay(load_case(dict(case)), schedule_from_series(dict(series)), dict(summary), source)
    _check_deterministic(day)
    return day


def solved_days_in(folder: str | Path) -> list[Path]:
    """The day folders under ``folder``: itself when it holds ``case.json``, else its sub-folders that do."""
    f = Path(folder)
    if (f / "case.json").is_file():
        return [f]
    days = sorted(p.parent for p in f.glob("*/case.json"))
    if not days:
        raise CaseError([Problem(str(f), "no solved day here: expected case.json, schedule.csv and summary.json "
                                 "(a folder vpp dispatch wrote), or sub-folders that hold them")],
                        step="finding the solved days")
    return days


def read_meter(path: str | Path) -> pd.DataFrame:
    """Meter readings: CSV with ``timestamp`` (with its UTC offset), ``participant``, ``consumption_mw`` [MW]."""
    p = Path(path)
    step = f"reading the meter readings {p.name}"
    try:
        table = pd.read_csv(p, dtype={"participant": str})
    except (OSError, ValueError) as exc:
        raise CaseError([Problem("", f"cannot read: {exc}")], step=step) from None
    need = ["timestamp", "participant", "consumption_mw"]
    missing = [c for c in need if c not in table.columns]
    if missing:
        raise CaseError([Problem(c, "missing column: expected timestamp, participant, consumption_mw") for c in missing],
                        step=step)
    try:
        stamps = pd.to_datetime(table["timestamp"], format="ISO8601")
    except (ValueError, TypeError) as exc:
        raise CaseError([Problem("timestamp", f"expected ISO 8601 times with their UTC offset: {exc}")], step=step) from None
    if stamps.dt.tz is None:
        raise CaseError([Problem("timestamp", "time zone missing: expected e.g. 2026-07-15T20:00:00+08:00")], step=step)
    values = pd.to_numeric(table["consumption_mw"], errors="coerce")
    bad = np.flatnonzero(~np.isfinite(values.to_numpy(dtype=float)))
    if bad.size:
        raise CaseError([Problem(f"consumption_mw[row {int(bad[0]) + 2}]",
                                 f"expected a number [MW], got {table['consumption_mw'].iloc[bad[0]]!r}")], step=step)
    return pd.DataFrame({"timestamp": stamps, "participant": table["participant"].astype(str), "consumption_mw": values})


def read_commitments(path: str | Path) -> dict[tuple[str, str, str], float]:
    """Commitments: CSV with ``date`` (YYYY-MM-DD), ``event``, ``participant``, ``commitment_mw`` [MW] ≥ 0."""
    p = Path(path)
    step = f"reading the commitments {p.name}"
    try:
        table = pd.read_csv(p, dtype=str)
    except (OSError, ValueError) as exc:
        raise CaseError([Problem("", f"cannot read: {exc}")], step=step) from None
    need = ["date", "event", "participant", "commitment_mw"]
    missing = [c for c in need if c not in table.columns]
    if missing:
        raise CaseError([Problem(c, f"missing column: expected {', '.join(need)}") for c in missing], step=step)
    out, problems = {}, []
    for i, row in table.iterrows():
        try:
            value = float(row["commitment_mw"])
        except (TypeError, ValueError):
            value = math.nan
        if not math.isfinite(value) or value < 0:
            problems.append(Problem(f"commitment_mw[row {int(i) + 2}]", f"expected a number >= 0 [MW], got {row['commitment_mw']!r}"))
            continue
        out[(str(row["date"]), str(row["event"]), str(row["participant"]))] = value
    if problems:
        raise CaseError(problems, step=step)
    return out


# ---------------------------------------------------------------------------
# Baselines from history
# ---------------------------------------------------------------------------


def is_working_day(day: dt.date) -> bool:
    """A working day in mainland China (statutory holidays and adjusted working weekends, chinesecalendar)."""
    try:
        import chinese_calendar

        return bool(chinese_calendar.is_workday(day))
    except (ImportError, NotImplementedError):  # outside the calendar's years: weekdays
        return day.weekday() < 5


@dataclass
class HistoryDay:
    """One day of a participant's consumption history [MW per step] and where it came from."""

    date: dt.date
    consumption_mw: np.ndarray
    source: str  # "meter" or "schedule"
    event_day: bool


class History:
    """Consumption history per participant: meter readings first, then the schedules of other settled days."""

    def __init__(self) -> None:
        self._days: dict[str, dict[dt.date, HistoryDay]] = {}

    def add(self, participant: str, day: HistoryDay) -> None:
        known = self._days.setdefault(participant, {})
        if day.date not in known or (known[day.date].source != "meter" and day.source == "meter"):
            known[day.date] = day
        elif known[day.date].source == "meter" and day.event_day:
            known[day.date].event_day = True

    def days(self, participant: str) -> list[HistoryDay]:
        return sorted(self._days.get(participant, {}).values(), key=lambda d: d.date)

    def add_meter(self, meter: pd.DataFrame, case: Case) -> None:
        """Every whole day of the meter readings on ``case``'s time grid (local clock times of its steps)."""
        tz = case.timestamps.tz
        local = meter["timestamp"].dt.tz_convert(tz)
        offsets = case.timestamps - case.timestamps[0]
        for (participant, date), group in meter.assign(date=local.dt.date).groupby(["participant", "date"]):
            start = pd.Timestamp(dt.datetime.combine(date, case.start.timetz().replace(tzinfo=None))).tz_localize(tz)
            got = dict(zip(local[group.index], group["consumption_mw"].astype(float), strict=True))
            want = [start + o for o in offsets]
            if all(w in got for w in want):
                self.add(participant, HistoryDay(date, np.array([got[w] for w in want]), "meter", False))

    def meter_day(self, participant: str, date: dt.date) -> np.ndarray | None:
        d = self._days.get(participant, {}).get(date)
        return d.consumption_mw if d is not None and d.source == "meter" else None


@dataclass
class Baseline:
    values_mw: np.ndarray | None  # over the event window; None: the stand-in is needed
    days: list[HistoryDay]
    label: str


def history_baseline(history: History, participant: str, date: dt.date, window: slice, steps: int,
                     rules: Rules) -> Baseline:
    """The participant's baseline over ``window`` for an event on ``date``, from its history by ``rules``."""
    kind = is_working_day(date)
    qualifying = [
        d for d in history.days(participant)
        if rules.min_lag_days <= (date - d.date).days <= rules.lookback_days and not d.event_day
        and len(d.consumption_mw) == steps and (not rules.same_kind_of_day or is_working_day(d.date) == kind)
    ]
    qualifying.sort(key=lambda d: d.date, reverse=True)
    if rules.method == "recent":
        chosen = qualifying[: rules.days]
    else:
        pool = qualifying[: rules.pool_days]
        chosen = sorted(pool, key=lambda d: (-float(np.mean(d.consumption_mw[window])), -d.date.toordinal()))[: rules.days]
    if len(chosen) < rules.min_days:
        return Baseline(None, chosen, f"{len(chosen)} qualifying day(s) of history, fewer than {rules.min_days}")
    chosen.sort(key=lambda d: d.date)
    sources = sorted({d.source for d in chosen})
    label = (f"history: {rules.describe_baseline().split(',')[0]} — {len(chosen)} day(s) "
             f"{chosen[0].date.isoformat()}…{chosen[-1].date.isoformat()} ({'/'.join(sources)})")
    if "schedule" in sources:
        label += " [schedule] scheduled consumption stands in for the meter on days without readings"
    return Baseline(np.mean([d.consumption_mw[window] for d in chosen], axis=0), chosen, label)


STAND_IN_LABEL = ("[stand-in] {why}: the participant's consumption on the day itself with none of the plant's "
                  "assets flexible (the no-VPP run, solved), the counterfactual the event's own baseline is built from")


def no_vpp_consumption(day: SolvedDay) -> dict[str, np.ndarray]:
    """Each participant's consumption [MW] on the day with no asset of the plant flexible (one solve)."""
    from models import SolveOptions
    from vpp.coalitions import coalition_case
    from vpp.dispatch import solve_case

    result = solve_case(coalition_case(day.case, []), SolveOptions(mip_gap=1e-6, time_limit_s=60.0, threads=1))
    return SolvedDay(result.case, result.schedule, result.summary, day.source).consumption_mw()


# ---------------------------------------------------------------------------
# Settling days
# ---------------------------------------------------------------------------


@dataclass
class Pot:
    """One amount the plant was paid or charged [fen], and how it was split."""

    date: str
    name: str  # "dr_revenue:<event>", "dr_penalty:<event>", "regulation_capacity", "regulation_mileage"
    total: int  # fen, revenue > 0, penalty < 0
    aggregator: int
    shares: dict[str, int]
    basis: str

    def to_dict(self, unit: float) -> dict[str, Any]:
        return {"date": self.date, "pot": self.name, "total_cny": self.total * unit, "aggregator_cny": self.aggregator * unit,
                "participants_cny": {p: v * unit for p, v in self.shares.items()}, "basis": self.basis,
                "adds_up": self.aggregator + sum(self.shares.values()) == self.total}


@dataclass
class Settlement:
    """The settlement of one or more days: per-event responses, regulation, the pots and their split."""

    rules: Rules
    participants: dict[str, list[str]]  # participant → its assets
    days: list[dict[str, Any]]
    responses: list[dict[str, Any]]
    regulation: list[dict[str, Any]]
    pots: list[Pot]
    seconds: float = 0.0

    @property
    def unit(self) -> float:
        return self.rules.rounding_cny

    def totals(self) -> pd.DataFrame:
        """One row per participant, then the aggregator: each pot kind [CNY] and the net."""
        kinds = ("dr_revenue", "dr_penalty", "regulation_capacity", "regulation_mileage")
        sums = {p: dict.fromkeys(kinds, 0) for p in [*self.participants, AGGREGATOR]}
        for pot in self.pots:
            kind = pot.name.split(":")[0]
            for p, v in pot.shares.items():
                sums[p][kind] += v
            sums[AGGREGATOR][kind] += pot.aggregator
        rows = []
        for p, s in sums.items():
            rows.append({"participant": p, "assets": " ".join(self.participants.get(p, [])),
                         **{f"{k}_cny": round(s[k] * self.unit, 2) for k in kinds},
                         "net_cny": round(sum(s.values()) * self.unit, 2)})
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        total = sum(p.total for p in self.pots)
        return {
            "rules": self.rules.to_dict(),
            "baseline_rule": self.rules.describe_baseline(),
            "days": self.days,
            "participants": self.totals().to_dict(orient="records"),
            "pots": [p.to_dict(self.unit) for p in self.pots],
            "total_cny": total * self.unit,
            "every_pot_adds_up": all(p.aggregator + sum(p.shares.values()) == p.total for p in self.pots),
            "responses": self.responses,
            "regulation": self.regulation,
            "seconds": self.seconds,
        }


AGGREGATOR = "(aggregator)"


def _fen(amount_cny: float, unit: float) -> int:
    return int(round(amount_cny / unit))


def _split(date: str, name: str, total: int, share_of_aggregator: float, weights: Mapping[str, float],
           basis: str) -> Pot:
    """The aggregator takes its share (rounded to the unit), the rest is apportioned by ``weights``."""
    aggregator = int(round(total * share_of_aggregator))
    shares = apportion(total - aggregator, weights)
    if not shares:  # nobody to share with: the aggregator keeps (or bears) it all
        aggregator, basis = total, basis + " (no participant qualified: the aggregator keeps or bears it)"
    return Pot(date, name, total, aggregator, shares, basis)


def _event_money(day: SolvedDay, event: Any, metered_net: np.ndarray | None) -> tuple[bool, float, float, str]:
    """Whether the plant joined ``event``, its revenue and penalty [CNY] and where the penalty came from."""
    report = next((e for e in day.summary.get("demand_response", []) if e.get("id") == event.id), None)
    if report is None:
        raise CaseError([Problem(f"summary.demand_response[{event.id}]", "missing: the summary does not belong "
                                 "to the case (no line for this event)")], step=f"settling {day.source}")
    joined = bool(report["joined"])
    if not joined:
        return False, 0.0, 0.0, "not joined"
    dt_h = day.case.dt_hours
    window = slice(event.start_step, event.end_step)
    revenue = event.price_cny_per_mwh * event.amount_mw * event.length_steps * dt_h
    if metered_net is None:
        shortfall = np.nan_to_num(day.series(event.id, "shortfall_mw")[window])
        where = "schedule"
    else:
        base = day.case.series(event.baseline_mw)[window]
        net = metered_net[window]
        gap = net - (base - event.amount_mw) if event.kind == "peak_shaving" else (base + event.amount_mw) - net
        shortfall = np.maximum(0.0, gap)
        where = "meter readings"
    penalty = event.shortfall_penalty_cny_per_mwh * float(shortfall.sum()) * dt_h
    return True, revenue, penalty, where


def settle_day(
    day: SolvedDay,
    rules: Rules,
    history: History,
    commitments: Mapping[tuple[str, str, str], float] | None = None,
    stand_in: Callable[[SolvedDay], dict[str, np.ndarray]] = no_vpp_consumption,
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]], list[Pot]]:
    """Settle one day against ``history``: (the day's facts, response rows, regulation rows, pots)."""
    case, unit = day.case, rules.rounding_cny
    date = day.date.isoformat()
    dt_h = case.dt_hours
    scheduled = day.consumption_mw()
    participants = list(scheduled)
    metered = {p: history.meter_day(p, day.date) for p in participants}
    has_meter = any(v is not None for v in metered.values())
    actual = {p: metered[p] if metered[p] is not None else scheduled[p] for p in participants}
    net = day.series("grid", "net_import_mw")
    metered_net = net + sum(actual[p] - scheduled[p] for p in participants) if has_meter else None
    responses, pots = [], []
    no_vpp: dict[str, np.ndarray] | None = None
    facts: dict[str, Any] = {"date": date, "source": day.source, "case": case.name, "working_day": is_working_day(day.date),
                             "consumption": "meter readings" if has_meter else
                             "[schedule] the schedule stands in for the meter (no readings for the day)",
                             "events": []}
    for event in case.demand_response:
        joined, revenue, penalty, penalty_from = _event_money(day, event, metered_net)
        window = slice(event.start_step, event.end_step)
        sign = 1.0 if event.kind == "peak_shaving" else -1.0
        hours = event.length_steps * dt_h
        rows = []
        for p in participants:
            base = history_baseline(history, p, day.date, window, case.steps, rules)
            label = base.label
            values = base.values_mw
            if values is None:
                if no_vpp is None:
                    no_vpp = stand_in(day)
                values = no_vpp[p][window]
                label = STAND_IN_LABEL.format(why=base.label)
            planned = _round_off(sign * float(np.mean(values - scheduled[p][window])))
            response = _round_off(sign * float(np.mean(values - actual[p][window])))
            given = (commitments or {}).get((date, event.id, p))
            commitment = given if given is not None else (max(0.0, planned) if joined else 0.0)
            effective, region = effective_response(response, commitment, rules.lower_fraction, rules.upper_fraction)
            shortfall = max(0.0, commitment - response) if commitment > 0 else 0.0
            rows.append({
                "date": date, "event": event.id, "kind": event.kind, "joined": joined,
                "window": f"{case.timestamps[event.start_step]:%H:%M}-"
                          f"{(case.timestamps[event.end_step - 1] + pd.Timedelta(minutes=case.step_minutes)):%H:%M}",
                "participant": p, "baseline_source": label,
                "baseline_mwh": float(values.sum() * dt_h), "consumption_mwh": float(actual[p][window].sum() * dt_h),
                "scheduled_response_mw": planned, "commitment_mw": commitment,
                "commitment_source": "given" if given is not None else "scheduled response",
                "response_mw": response, "ratio": (response / commitment) if commitment > 0 else None,
                "region": region if joined else "event not joined", "effective_mw": effective,
                "effective_mwh": effective * hours, "shortfall_mwh": shortfall * hours,
            })
        if joined:
            rev = _split(date, f"dr_revenue:{event.id}", _fen(revenue, unit), rules.aggregator_share,
                         {r["participant"]: r["effective_mw"] for r in rows}, "effective response [MW]")
            pen_total = -_fen(penalty, unit)
            passed = int(round(pen_total * rules.penalty_pass_through))
            shares = apportion(passed, {r["participant"]: r["shortfall_mwh"] for r in rows})
            basis = "shortfall against commitment [MWh]"
            if not shares:
                basis += " (no participant fell short: the aggregator bears it)"
            pen = Pot(date, f"dr_penalty:{event.id}", pen_total, pen_total - sum(shares.values()), shares, basis)
            pots += [rev] + ([pen] if pen_total else [])
            for r in rows:
                r["dr_revenue_cny"] = rev.shares.get(r["participant"], 0) * unit
                r["dr_penalty_cny"] = pen.shares.get(r["participant"], 0) * unit
        else:
            for r in rows:
                r["dr_revenue_cny"] = r["dr_penalty_cny"] = 0.0
        facts["events"].append({"id": event.id, "kind": event.kind, "joined": joined, "revenue_cny": revenue,
                                "penalty_cny": penalty, "penalty_from": penalty_from})
        responses += rows
    regulation, reg_pots = _settle_regulation(day, rules)
    return facts, responses, regulation, pots + reg_pots


def _settle_regulation(day: SolvedDay, rules: Rules) -> tuple[list[dict[str, Any]], list[Pot]]:
    """Each participant's regulation band and mileage, and the two pots split by them (model.md §5.4)."""
    case, unit, date = day.case, rules.rounding_cny, day.date.isoformat()
    reg = case.regulation
    batteries = [a for a in case.assets if a.type == "battery" and a.regulation] if reg is not None else []
    if not batteries:
        return [], []
    dt_h = case.dt_hours
    pc, pm = case.series(reg.capacity_price_cny_per_mw_h), case.series(reg.mileage_price_cny_per_mw)
    by: dict[str, dict[str, float]] = {}
    for b in batteries:
        r = np.nan_to_num(day.series(b.id, "regulation_mw"))
        row = by.setdefault(b.owner, {"band_mwh": 0.0, "mileage_mw": 0.0, "capacity_cny": 0.0, "mileage_cny": 0.0})
        row["band_mwh"] += float(r.sum() * dt_h)
        row["mileage_mw"] += float(r.sum() * dt_h * reg.mileage_mw_per_mw_h * b.regulation_performance)
        row["capacity_cny"] += float((r * pc).sum() * dt_h)
        row["mileage_cny"] += float((r * pm).sum() * dt_h * reg.mileage_mw_per_mw_h * b.regulation_performance)
    cost = day.summary.get("cost_cny", {})
    pots = []
    for term, key, basis in (("regulation_capacity", "capacity_cny", "band [MW·h]"),
                             ("regulation_mileage", "mileage_cny", "band × mileage × performance index K [MW]")):
        total = sum(v[key] for v in by.values())
        paid = -float(cost.get(term, -total))
        if not math.isclose(paid, total, rel_tol=1e-6, abs_tol=0.01):
            raise CaseError([Problem(f"summary.cost_cny.{term}", f"the schedule's regulation bands give {total:.2f} CNY, "
                                     f"the summary {paid:.2f}: the files do not belong together")],
                            step=f"settling {day.source}")
        if _fen(paid, unit):
            pots.append(_split(date, term, _fen(paid, unit), rules.aggregator_share,
                               {p: v[key] for p, v in by.items()}, basis))
    rows = []
    for p, v in by.items():
        rows.append({"date": date, "participant": p, **v,
                     "capacity_share_cny": sum(pot.shares.get(p, 0) for pot in pots if pot.name == "regulation_capacity") * unit,
                     "mileage_share_cny": sum(pot.shares.get(p, 0) for pot in pots if pot.name == "regulation_mileage") * unit})
    return rows, pots


def _check_inputs(days: list[SolvedDay], participants: Mapping[str, list[str]], meter: pd.DataFrame | None,
                  commitments: Mapping[tuple[str, str, str], float] | None) -> None:
    """Meter readings and commitments name participants, days and events that are being settled."""
    problems = []
    if meter is not None:
        for name in sorted(set(meter["participant"]) - set(participants)):
            problems.append(Problem(f"meter: participant {name!r}", f"not a participant of the days settled "
                                    f"(expected one of: {', '.join(participants)})"))
    events = {(d.date.isoformat(), e.id) for d in days for e in d.case.demand_response}
    for date, event, participant in sorted(commitments or {}):
        where = f"commitments: {date} {event} {participant}"
        if (date, event) not in events:
            problems.append(Problem(where, "no such event on a day settled (expected a date and event id of the days "
                                    "given)"))
        elif participant not in participants:
            problems.append(Problem(where, f"not a participant of the days settled (expected one of: "
                                    f"{', '.join(participants)})"))
    if problems:
        raise CaseError(problems, step="checking the meter readings and commitments")


def settle(
    days: Iterable[SolvedDay],
    rules: Rules | None = None,
    meter: pd.DataFrame | None = None,
    commitments: Mapping[tuple[str, str, str], float] | None = None,
    stand_in: Callable[[SolvedDay], dict[str, np.ndarray]] = no_vpp_consumption,
) -> Settlement:
    """Settle solved days in date order; each day's schedule is history for the later ones (see the module docstring)."""
    t0 = time.perf_counter()
    rules = rules or load_rules()
    ordered = sorted(days, key=lambda d: d.date)
    if not ordered:
        raise CaseError([Problem("", "no solved day to settle")], step="settling")
    dates = [d.date for d in ordered]
    if len(set(dates)) != len(dates):
        twice = sorted({d.isoformat() for d in dates if dates.count(d) > 1})
        raise CaseError([Problem("schedule", f"the same day given twice: {', '.join(twice)}")], step="settling")
    participants: dict[str, list[str]] = {}
    for day in ordered:
        for a in day.case.assets:
            participants.setdefault(a.owner, [])
            if a.id not in participants[a.owner]:
                participants[a.owner].append(a.id)
    _check_inputs(ordered, participants, meter, commitments)
    history = History()
    if meter is not None:
        history.add_meter(meter, ordered[0].case)
    out_days, responses, regulation, pots = [], [], [], []
    for day in ordered:
        facts, rows, reg, day_pots = settle_day(day, rules, history, commitments, stand_in)
        out_days.append(facts)
        responses += rows
        regulation += reg
        pots += day_pots
        event_day = any(e["joined"] for e in facts["events"])
        for p, values in day.consumption_mw().items():
            history.add(p, HistoryDay(day.date, values, "schedule", event_day))
    return Settlement(rules, participants, out_days, responses, regulation, pots, time.perf_counter() - t0)
