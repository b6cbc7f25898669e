"""The teda-east template materialises the same cases as when the reference was written.

``data/teda_east_reference.json.gz`` holds the canonical JSON of a few days
(winter, shoulder, a holiday, summer, a year beyond the official calendar,
overrides, a weather forecast; a heat-wave and a cold-snap event day, a
holiday with valley filling, a month's peak read from the metered history,
events and a peak given for the day) as the template wrote them when the day
was recalibrated to how Tianjin bills and pays (model version 2). A later
change that means to change the case writes the file again with
``python -m tests.vpp.test_teda_east_reference`` and says so in its commit.
"""

from __future__ import annotations

import gzip
import json
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from forecasts.weather import read_weather
from vpp.case import load_case
from vpp.cases import materialize

REFERENCE = Path(__file__).parent / "data" / "teda_east_reference.json.gz"
SHIPPED = str(resources.files("forecasts.data").joinpath("teda_east_2025_15min.csv.gz"))
NEW_KEYS = {"assumptions"}  # meta keys added after the reference was taken


def _weather(day: str) -> pd.DataFrame:
    frame = pd.read_csv(SHIPPED, skiprows=1)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"])
    rows = frame.set_index("timestamp").loc[day]
    return read_weather(rows[["ghi_w_per_m2", "temp_air_c", "wind_speed_m_per_s"]].reset_index())


CASES: dict[str, Any] = {
    "2025-01-01": lambda: materialize("teda-east", "2025-01-01"),
    "2025-04-20": lambda: materialize("teda-east", "2025-04-20"),
    "2025-10-01": lambda: materialize("teda-east", "2025-10-01"),
    "2026-07-15": lambda: materialize("teda-east", "2026-07-15"),
    "2030-06-01": lambda: materialize("teda-east", "2030-06-01"),
    "2025-07-15 hourly": lambda: materialize("teda-east", "2025-07-15", step_minutes=60),
    "2025-07-15 overrides": lambda: materialize(
        "teda-east", "2025-07-15", demand_response=False, green_share_min=0.3, battery_power_mw=10
    ),
    "2025-07-15 weather": lambda: materialize("teda-east", "2025-07-15", weather=_weather("2025-07-15")),
    "2026-01-15 cold snap": lambda: materialize("teda-east", "2026-01-15"),
    "2026-07-16 heat wave": lambda: materialize("teda-east", "2026-07-16"),
    "2026-05-02 valley filling": lambda: materialize("teda-east", "2026-05-02"),
    "2025-10-14 metered peak": lambda: materialize("teda-east", "2025-10-14"),
    "2026-07-14 given peak and events": lambda: materialize(
        "teda-east", "2026-07-14", peak_to_date_mw=470.5, declared_demand_mw=450,
        dr_events=["valley_filling,12:00-14:00,6", "peak_shaving,20:00-22:00,8,2000"],
    ),
}


def _json(name: str) -> dict[str, Any]:
    data = json.loads(CASES[name]().to_json())
    for key in NEW_KEYS:
        data["meta"].pop(key, None)
    return data


@pytest.fixture(scope="module")
def reference() -> dict[str, Any]:
    with gzip.open(REFERENCE, "rt", encoding="utf-8") as f:
        return json.load(f)


@pytest.mark.parametrize("name", list(CASES))
def test_same_case_as_the_reference(reference: dict[str, Any], name: str) -> None:
    # Through the schema, so keys added later with their defaults (model version 2) compare equal.
    ours, theirs = load_case(_json(name)), load_case(reference[name])
    assert json.dumps(ours.model_dump(mode="json"), sort_keys=True) == json.dumps(theirs.model_dump(mode="json"), sort_keys=True)


if __name__ == "__main__":
    REFERENCE.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(REFERENCE, "wt", encoding="utf-8") as f:
        json.dump({name: _json(name) for name in CASES}, f, sort_keys=True)
    print(f"wrote {REFERENCE}")
