"""The chart of a replayed day (``replay.png``): the declared plan against the realised net import.

One panel per world (the day as it happened, and the day with the outage when
there is one), one colour per strategy: its declared plan D[t] dashed, its
realised net import solid, in local time [MW]; the outage window shaded.
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

from vpp.plot import save_figure  # noqa: E402

if TYPE_CHECKING:
    from vpp.replay import Replay

COLOURS = {"deterministic": "#1f77b4", "stochastic": "#d62728"}


def plot_replay(replay: Replay, path: str | Path) -> Path:
    """Draw the replayed day and save it as a PNG at ``path``."""
    table = replay.table()
    worlds = list(dict.fromkeys(table["world"]))
    fig, axes = plt.subplots(len(worlds), 1, figsize=(13, 4.2 * len(worlds)), sharex=True, squeeze=False,
                             layout="constrained")
    case = replay.case
    ts = case.timestamps.tz_localize(None)
    x = np.append(mdates.date2num(ts), mdates.date2num(ts[-1] + pd.Timedelta(minutes=case.step_minutes)))
    for ax, world in zip(axes[:, 0], worlds, strict=True):
        rows = table[table["world"] == world]
        for strategy, part in rows.groupby("strategy", sort=False):
            c = COLOURS.get(str(strategy), "black")
            for column, style, what in (("declared_mw", "--", "declared plan"), ("net_import_mw", "-", "realised")):
                v = part.sort_values("step")[column].to_numpy(dtype=float)
                ax.step(x, np.append(v, v[-1]), where="post", color=c, ls=style, lw=1.3,
                        label=f"{strategy}: {what}")
        if world == "outage" and replay.settings.outage is not None:
            out = rows[rows["strategy"] == rows["strategy"].iloc[0]].sort_values("step")["unserved_mw"].to_numpy()
            ens = out > 1e-6
            if ens.any():
                ax.fill_between(x[:-1], 0, 1, where=ens, step="post", transform=ax.get_xaxis_transform(),
                                color="grey", alpha=0.15, lw=0, label="energy not served")
        ax.axhline(0, color="black", lw=0.6)
        ax.set_ylabel("net import [MW]")
        ax.set_title(f"{case.name} — {case.start:%Y-%m-%d} — replayed every {replay.settings.every_minutes} min"
                     + (" — the supply point out" if world == "outage" else ""))
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False, borderaxespad=0)
    axes[-1, 0].xaxis.set_major_locator(mdates.HourLocator(byhour=range(0, 24, 3)))
    axes[-1, 0].xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
    return save_figure(fig, path)
