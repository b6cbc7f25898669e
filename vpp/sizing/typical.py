"""Typical days chosen by ``tsam``, with their weights.

The year's days are clustered on three per-step profiles — the total fixed
load [MW], the total PV available [MW] and the buy price [CNY/MWh] — with
tsam's hierarchical clustering and *medoid* representation: each typical day
is a real day of the year (the member closest to its cluster's centre), so it
keeps everything else of its date (the tariff period, the demand-response
window, the flexible loads), and its weight is the number of days its
cluster holds. Annual figures are weight × the typical day's; monthly figures
map each calendar day to its cluster's typical day.
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


def typical_plan(year: Plan, days: list[Day], k: int) -> Plan:
    """K typical days of ``year`` (its ``days`` made), each a chunk of its own with its weight."""
    n = len(days)
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= n:
        raise CaseError([Problem("typical_days", f"expected a whole number between 1 and the {n} days of the year, got {k!r}")], step=STEP)
    import tsam

    features = day_features(days)
    steps = days[0].case.steps if days[0].case is not None else 96
    hours = steps * days[0].case.dt_hours if days[0].case is not None else 24
    features = features.loc[:, features.std() > 0]  # a constant column carries nothing to cluster on
    if k == n:
        assignment = np.arange(n)
        centres = list(range(n))
    elif features.shape[1] == 0:  # every day alike: k groups of consecutive days, each led by its first
        assignment = np.arange(n) * k // n
        centres = [int(np.flatnonzero(assignment == j)[0]) for j in range(k)]
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = tsam.aggregate(
                features, k, period_duration=hours,
                cluster=tsam.ClusterConfig(method="hierarchical", representation="medoid"),
                preserve_column_means=False,
            )
        assignment = np.asarray(result.cluster_assignments, dtype=int)
        centres = [int(c) for c in result.clustering.cluster_centers]
    by_index = {d.index: d for d in year.days}
    items = []
    for j, centre in enumerate(centres):
        src = by_index[days[centre].index]
        weight = float(np.sum(assignment == j))
        items.append(DayItem(index=j, date=src.date, weight=weight, base=src.base, load_mw=src.load_mw, pv_mw=src.pv_mw, buy_cny_per_mwh=src.buy_cny_per_mwh))
    provenance = dict(year.provenance)
    provenance.update(
        typical_days=len(items),
        clustering="tsam hierarchical clustering, medoid days, on per-step total load, total PV and buy price",
        typical_dates={it.date: it.weight for it in items},
        soc_rule="each typical day starts at soc_initial and ends at or above soc_final_min",
    )
    return Plan(kind="typical", chunks=[[it] for it in items], chain=False, dates=year.dates, assignment=[int(a) for a in assignment], provenance=provenance)
