"""Reading stored schedules back: the per-step table and the 96-point wide CSV.

The schedule's series are stored as one list of values per element and
quantity (see :func:`api.kinds.schedule_series`); the tidy table and the
wide curve are rebuilt from them with :func:`vpp.results.curve_table`, so
``curve.csv`` here is the same file ``vpp dispatch`` writes.
"""

from __future__ import annotations

import io
from typing import Any

import pandas as pd

from vpp.results import curve_table, schedule_from_series


def tidy_table(series: dict[str, Any]) -> pd.DataFrame:
    """The tidy per-step table (``timestamp, step, asset, type, node, quantity, unit, value``) of stored series."""
    return schedule_from_series(series)


def curve_csv(series: dict[str, Any]) -> str:
    """The wide curve as CSV text: one row per step, local time, one column per ``<element>.<quantity>``."""
    wide = curve_table(tidy_table(series))
    wide["timestamp"] = [t.isoformat() for t in wide["timestamp"]]
    buffer = io.StringIO()
    wide.to_csv(buffer, index=False, float_format="%.9g")
    return buffer.getvalue()
