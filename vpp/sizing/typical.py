"""Typical days chosen within each month by ``tsam``, with their weights.

The maximum-demand charge is billed per month on the month's peak (model.md
§3), so the typical days are chosen month by month and every month of the
year keeps days of its own, the winter critical-peak months included:

- each month's **event days** (a demand-response event on the calendar) are
  kept as they are, weight 1: they are few and unlike the others;
- each month's **demand days** are kept as they are, weight 1: the days that
  can set the month's maximum demand once storage cuts it. The highest day
  of net load (load − PV, without storage) sets it for a shallow cut; for a
  deep cut it is the day with the most energy above the cut level (a broad
  peak empties the storage before a high narrow one does). So for each
  depth a storage may cut (``depths_mw``: the study takes ¼, ½ and all of
  the sites' total power) the day with the most energy above the month's
  peak less that depth is kept too (:func:`demand_days`). On TEDA east,
  keeping only the highest day put five months' peaks 4–12 MW lower than the
  full year could hold them (a broad-peak day emptied the storage first) and
  overstated the maximum-demand saving by 9 %;
- the month's other days are clustered on four per-step profiles — the total
  fixed load [MW], the total PV available [MW], the buy price [CNY/MWh] and
  the net load above the month's deepest cut [MW] (weighted as much as the
  other three, :data:`WEIGHTS`) — with tsam's hierarchical clustering and
  *medoid* representation: each typical day is a real day of the month (the
  member closest to its cluster's centre), so it keeps everything else of
  its date (the tariff period, the flexible loads), and its weight is the
  number of days its cluster holds. A day whose net load stands above the
  cut must keep energy back for it and earns less arbitrage: the last
  profile keeps such days apart from those that need not. On TEDA east with
  one cluster a month (K = 12) the typical days still overstated the
  arbitrage by 10 % against the full year (a month's medoid an easy day); at
  K = 36 the saving is within 2 %.

``K`` typical days are shared over the months in proportion to their other
days (largest remainders, at least one each), so ``K`` is at least the number
of months. The days of a month map to the month's own typical days: a month's
weights add up to its days, its demand charge is charged on the peak of its
own days (one peak shared by them in the co-optimisation, the billing key of
:func:`models.sizing.co_optimise`), and in a simulation its days are solved in
the order of their peak net load after the demand days, carrying the month's
peak so far (:func:`vpp.sizing.year.solve_chunk`): the demand days first, the
hardest to hold at the deepest cut first, so that no day of large weight
spends its storage holding a level that a later day of the month raises.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from vpp.errors import CaseError, Problem
from vpp.sizing.year import Day, DayItem, Plan

STEP = "choosing typical days"


def day_features(days: list[Day]) -> pd.DataFrame:
    """Per-step load, PV and price of every day, on a regular index (what tsam clusters)."""
    first = next((d.case for d in days if d.case is not None), None)
    if first is None:
        raise CaseError([Problem("days", "no day of the year could be made")], step=STEP)
    missing = [d.date for d in days if d.case is None]
    if missing:
        raise CaseError([Problem("days", f"{len(missing)} day(s) could not be made, e.g. {missing[0]}: {next(d.error for d in days if d.case is None)}")], step=STEP)
    rows = []
    for d in days:
        c = d.case
        load = sum((c.series(a.demand_mw) for a in c.assets if a.type == "load"), np.zeros(c.steps))
        pv = sum((c.series(a.available_mw) for a in c.assets if a.type == "pv"), np.zeros(c.steps))
        price = c.series(c.grid.buy_cny_per_mwh)
        rows.append(np.column_stack([load, pv, price]))
    data = np.vstack(rows)
    idx = pd.date_range("2001-01-01", periods=len(data), freq=pd.Timedelta(minutes=first.step_minutes))
    return pd.DataFrame(data, index=idx, columns=["load_mw", "pv_mw", "buy_cny_per_mwh"])


def shares(k: int, sizes: list[int]) -> list[int]:
    """``k`` shared over groups of ``sizes`` in proportion, at least one each (none for an empty group), largest remainders.

    No group gets more than its size.
    """
    live = [i for i, n in enumerate(sizes) if n > 0]
    out = [0] * len(sizes)
    if not live:
        return out
    for i in live:
        out[i] = 1
    left = min(k, sum(sizes)) - len(live)
    while left > 0:
        total = sum(sizes[i] for i in live)
        want = {i: max(k, len(live)) * sizes[i] / total - out[i] for i in live if out[i] < sizes[i]}
        if not want:
            break
        i = max(want, key=lambda j: (want[j], -j))
        out[i] += 1
        left -= 1
    return out


WEIGHTS = {"load_mw": 1.0, "pv_mw": 1.0, "buy_cny_per_mwh": 1.0, "above_cut_mw": 3.0}
"""What each feature weighs in the clustering: the net load above the month's deepest cut as much as the other three."""


def _clusters(features: pd.DataFrame, members: list[int], k: int, steps: int, hours: float) -> tuple[list[int], list[int]]:
    """Cluster ``members`` (day positions) into ``k``: each member's cluster and each cluster's medoid (positions)."""
    n = len(members)
    if k >= n:
        return list(range(n)), list(members)
    rows = np.concatenate([np.arange(m * steps, (m + 1) * steps) for m in members])
    sub = features.iloc[rows].copy()
    sub.index = pd.date_range("2001-01-01", periods=len(sub), freq=features.index.freq)
    sub = sub.loc[:, sub.std() > 0]  # a constant column carries nothing to cluster on
    if sub.shape[1] == 0:  # every day alike: k groups of consecutive days, each led by its first
        labels = [int(i * k // n) for i in range(n)]
        return labels, [members[labels.index(j)] for j in range(k)]
    import tsam

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = tsam.aggregate(
            sub, k, period_duration=hours,
            cluster=tsam.ClusterConfig(method="hierarchical", representation="medoid"),
            preserve_column_means=False,
            weights={c: w for c, w in WEIGHTS.items() if c in sub.columns},
        )
    labels = [int(a) for a in np.asarray(result.cluster_assignments, dtype=int)]
    centres = [members[int(c)] for c in result.clustering.cluster_centers]
    return labels, centres


def demand_days(net_mw: np.ndarray, step_h: float, depths_mw: tuple[float, ...] = ()) -> dict[int, list[float]]:
    """The days of a month that can set its shaved peak: the day of the largest net load, and for each depth the day
    with the most energy above the month's peak less that depth; ``{row: [the depths it was chosen for]}``.

    ``net_mw``: one row per day, the net load (load − PV) of each step [MW]. A
    storage of power P and energy E holds the month's peak down to a level only
    on days whose net load above it is at most P high and E large: the hardest
    day for a deep cut is the one with the most energy above it, a broad peak,
    not always the highest (depth 0).
    """
    peak = float(net_mw.max())
    out: dict[int, list[float]] = {int(np.argmax(net_mw.max(axis=1))): [0.0]}
    for depth in depths_mw:
        above = np.clip(net_mw - max(peak - depth, 0.0), 0.0, None).sum(axis=1) * step_h
        if above.max() > 0:
            out.setdefault(int(np.argmax(above)), []).append(float(depth))
    return out


def typical_plan(year: Plan, days: list[Day], k: int, depths_mw: tuple[float, ...] = ()) -> Plan:
    """The typical days of ``year`` (its ``days`` made), K clustered ones plus each month's demand and event days.

    ``depths_mw``: how deep below the month's peak a storage may cut it (e.g.
    fractions of the sites' total power): each month keeps, as they are, the
    days that are hardest to hold at those depths (:func:`demand_days`).
    """
    n = len(days)
    months = list(dict.fromkeys(d.date[:7] for d in days))
    if isinstance(k, bool) or not isinstance(k, int) or not len(months) <= k <= n:
        raise CaseError([Problem("typical_days", f"expected a whole number between {len(months)} (one for each of the "
                                 f"{len(months)} months the days cover) and the {n} days, got {k!r}")], step=STEP)
    features = day_features(days)
    first = days[0].case
    steps, hours = first.steps, first.steps * first.dt_hours
    load = features["load_mw"].to_numpy().reshape(n, steps)
    pv = features["pv_mw"].to_numpy().reshape(n, steps)
    peak_net = (load - pv).max(axis=1)
    by_month = {m: [i for i, d in enumerate(days) if d.date[:7] == m] for m in months}
    events = {m: [i for i in by_month[m] if days[i].case.demand_response] for m in months}
    peaks: dict[str, dict[int, list[float]]] = {}
    for m in months:
        others = [i for i in by_month[m] if i not in events[m]]
        found = demand_days(load[others] - pv[others], first.dt_hours, depths_mw) if others else {}
        peaks[m] = {others[r]: v for r, v in found.items()}
    rest = {m: [i for i in by_month[m] if i not in events[m] and i not in peaks[m]] for m in months}
    # the net load above the month's deepest cut: what the storage must hold on each day (clustered on too)
    net = load - pv
    deepest = max(depths_mw, default=0.0)
    cut = np.array([[max(float(net[by_month[d.date[:7]]].max()) - deepest, 0.0)] for d in days])
    above = np.clip(net - cut, 0.0, None)
    features["above_cut_mw"] = above.ravel()

    def hardness(i: int) -> tuple[float, float]:  # energy above the month's deepest cut, then height
        return float(above[i].sum()), float(peak_net[i])
    counts = dict(zip(months, shares(k, [len(rest[m]) for m in months]), strict=True))

    by_index = {d.index: d for d in year.days}
    assignment = np.full(n, -1)
    chunks: list[list[DayItem]] = []
    dates: dict[str, dict[str, object]] = {}
    j = 0
    for m in months:
        hard = sorted(peaks[m], key=lambda i: (*(-v for v in hardness(i)), i))  # the hardest first
        kept: list[tuple[int, float, str, list[int]]] = [(i, 1.0, "peak", [i]) for i in hard]
        others: list[tuple[int, float, str, list[int]]] = [(i, 1.0, "event", [i]) for i in events[m]]
        if rest[m]:
            labels, centres = _clusters(features, rest[m], counts[m], steps, hours)
            for c, centre in enumerate(centres):
                members = [rest[m][p] for p, label in enumerate(labels) if label == c]
                others.append((centre, float(len(members)), "typical", members))
        kept += sorted(others, key=lambda t: (-peak_net[t[0]], t[0]))  # the month's demand days first (module docstring)
        chunk = []
        for position, weight, role, members in kept:
            src = by_index[days[position].index]
            chunk.append(DayItem(index=j, date=src.date, weight=weight, base=src.base, load_mw=src.load_mw, pv_mw=src.pv_mw,
                                 buy_cny_per_mwh=src.buy_cny_per_mwh, overrides=src.overrides, role=role))
            assignment[members] = j
            dates[src.date] = {"weight": weight, "role": role, "month": m}
            j += 1
        chunks.append(chunk)
    provenance = dict(year.provenance)
    provenance.update(
        typical_days=j,
        clustered=k,
        clustering=(f"within each month: its event days and its demand days (demand_days) as they are, weight 1; "
                    f"its other days clustered by tsam (hierarchical, medoids) on per-step total load, total PV and buy price "
                    f"into {k} typical days over the {len(months)} months, shared in proportion to their days"),
        months={m: {"days": len(by_month[m]), "typical": counts[m],
                    "peak_days": {days[i].date: v for i, v in sorted(peaks[m].items())},
                    "event_days": [days[i].date for i in events[m]]} for m in months},
        demand_days=("each month's days that can set its shaved peak, kept as they are: the day of the largest load − PV "
                     "(depth 0) and, for each depth below the month's peak a storage may cut "
                     f"({', '.join(f'{d:g}' for d in depths_mw) or 'none'} MW), the day with the most energy above that "
                     "level (peak_days: each with the depths it was chosen for)"),
        typical_dates=dates,
        soc_rule="each typical day starts at soc_initial and ends at or above soc_final_min",
        demand_charge=("the month's typical days share one peak (the co-optimisation's billing key, the month); "
                       "simulated, they run demand days first (the hardest to hold first), the month's peak so far carried"),
    )
    return Plan(kind="typical", chunks=chunks, chain=False, dates=year.dates, assignment=[int(a) for a in assignment],
                provenance=provenance)
