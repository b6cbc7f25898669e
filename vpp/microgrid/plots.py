"""The outage study's chart (``outage.png``): the survival curve, and the critical energy at risk by start time.

Left: the share of start steps whose critical load is carried through an
outage of each length [h]. Right: the critical energy an outage of the study's
length would leave unserved [MWh], by the local time it starts, with the energy
the batteries could deliver at that time dotted. One line per schedule (without
and with the reserve); colours from :mod:`vpp.palette`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from vpp.palette import colour  # noqa: E402

if TYPE_CHECKING:
    from vpp.microgrid.study import OutageStudy


def _colour(backup_hours: float | None) -> str:
    return colour("grid") if backup_hours is None else colour("battery_discharge")


def plot_study(study: OutageStudy, path: str | Path) -> Path:
    """Draw the study and save it as a PNG at ``path``."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.4), gridspec_kw={"width_ratios": [1, 1.6]})
    for v in study.variants:
        curve = v.curve()
        hours = np.concatenate([[0.0], curve["length_hours"].to_numpy()])
        share = np.concatenate([[1.0], curve["share_survived"].to_numpy()])
        left.step(hours, 100 * share, where="post", color=_colour(v.backup_hours), lw=2, label=v.label)
    left.set_xlim(0, study.hours)
    left.set_ylim(0, 102)
    left.set_xlabel("outage length [h]")
    left.set_ylabel("start times whose critical load is carried [%]")
    left.set_title("survival of an outage starting at any step", fontsize=10)
    left.grid(alpha=0.3)
    ts = study.case.timestamps.tz_localize(None)
    step = pd.Timedelta(minutes=study.case.step_minutes)
    x = mdates.date2num(np.append(ts, ts[-1] + step))
    for v in study.variants:
        c = _colour(v.backup_hours)
        risk = v.starts["critical_at_risk_mwh"].to_numpy()
        right.stairs(risk, x, color=c, lw=2, label=f"{v.label}: critical energy at risk")
        right.stairs(v.starts["battery_mwh"].to_numpy(), x, color=c, lw=1, ls=":",
                     label=f"{v.label}: battery energy at the start")
    right.xaxis.set_major_locator(mdates.HourLocator(byhour=range(0, 24, 3)))
    right.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
    right.set_xlim(x[0], x[-1])
    right.set_ylim(bottom=0)
    right.set_xlabel("outage start (local time)")
    right.set_ylabel("[MWh]")
    right.set_title(f"critical energy an outage of {study.hours:g} h would leave unserved", fontsize=10)
    right.grid(alpha=0.3)
    handles, labels = right.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=8, frameon=False)
    cost = study.reserve_cost_cny
    if cost is not None:
        fig.suptitle(f"{study.case.name} {study.case.start:%Y-%m-%d}: the reserve costs {cost:,.0f} CNY a day",
                     fontsize=11)
    else:
        fig.suptitle(f"{study.case.name} {study.case.start:%Y-%m-%d}", fontsize=11)
    fig.tight_layout(rect=(0, 0.12, 1, 0.95))
    p = Path(path)
    fig.savefig(p, dpi=110)
    plt.close(fig)
    return p
