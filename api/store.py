"""Reading stored schedules back: the per-step table and the 96-point wide CSV.

The schedule's series are stored as one list of values per element and
quantity (see :func:`api.kinds.schedule_series`); the tidy table and the
wide curve are rebuilt from them with :func:`vpp.results.curve_table`, so
``curve.csv`` here is the same file ``vpp dispatch`` writes.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd

from vpp.results import curve_table


def tidy_table(series: dict[str, Any]) -> pd.DataFrame:
    """The tidy per-step table (``timestamp, step, asset, type, node, quantity, unit, value``)."""
    stamps = pd.to_datetime(pd.Series(series["timestamps"]), format="ISO8601")
    n = len(stamps)
    frames = []
    for item in series["series"]:
        values = np.array([np.nan if v is None else v for v in item["values"]], dtype=float)
        frame = pd.DataFrame({"timestamp": stamps, "step": np.arange(n), "asset": item["asset"],
                              "type": item["type"], "node": item["node"], "quantity": item["quantity"],
                              "unit": item["unit"], "value": values})
        frames.append(frame[~np.isnan(values)])
    if not frames:
        return pd.DataFrame(columns=["timestamp", "step", "asset", "type", "node", "quantity", "unit", "value"])
    return pd.concat(frames, ignore_index=True)


def curve_csv(series: dict[str, Any]) -> str:
    """The wide curve as CSV text: one row per step, local time, one column per ``<element>.<quantity>``."""
    wide = curve_table(tidy_table(series))
    wide["timestamp"] = [t.isoformat() for t in wide["timestamp"]]
    buffer = io.StringIO()
    wide.to_csv(buffer, index=False, float_format="%.9g")
    return buffer.getvalue()
