"""A storage sizing case solvable by hand, shared by the sizing tests.

One node (the root), a 10 MW load, 24 one-hour steps priced 100 CNY/MWh
except 18:00 (500), 19:00 (400) and 20:00 (300), one battery site at the root
with efficiencies 1, the whole SoC range usable, starting and ending empty, a
wear cost of 1 CNY per MWh discharged (so that cycling at equal prices is not
free). Each MWh of energy capacity is charged at 100 and discharged against
the load: the first 10 MWh at 500, the next 10 at 400, the next 10 at 300,
worth 399, 299 and 199 CNY a day (power at least 10 MW to discharge a block
within its hour). With an annualised capital cost of 250 CNY per MWh-day (91,250 CNY per
MWh-year) and power free, the optimum is 20 MWh: the third block earns less
than it costs. Annual figures over 365 such days:

- operating cost without storage 365·10·(21·100 + 500 + 400 + 300) = 12,045,000 CNY;
- saving at 20 MWh 365·(10·399 + 10·299) = 2,547,700 CNY;
- capital 20·91,250 = 1,825,000 CNY; total 12,045,000 − 2,547,700 + 1,825,000 = 11,322,300 CNY;
- the last MWh (19 → 20) saves 299 CNY a day = 109,135 CNY a year.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from vpp.case import load_case
from vpp.sizing.economics import crf

PRICES = [100.0] * 18 + [500.0, 400.0, 300.0] + [100.0] * 3
LOAD_MW = 10.0
RATE, LIFE = 0.08, 10
#: energy cost [CNY/kWh] whose annualised cost is 91,250 CNY per MWh-year at 8 % over 10 years
ENERGY_CNY_PER_KWH = 91.25 / crf(RATE, LIFE)
HAND_ECONOMICS = {
    "power_cny_per_kw": 0.0, "energy_cny_per_kwh": ENERGY_CNY_PER_KWH, "om_fraction_per_year": 0.0,
    "lifetime_years": LIFE, "discount_rate": RATE, "availability": 1.0, "calendar_fade_per_year": 0.0,
    "cycle_life": 0.0, "augmentation_cny_per_kwh": 0.0,
}
HAND_BATTERY = {
    "charge_efficiency": 1.0, "discharge_efficiency": 1.0, "soc_min": 0.0, "soc_max": 1.0,
    "soc_initial": 0.0, "degradation_cny_per_mwh": 1.0,
}


def hand_case_data(start: str = "2025-01-01T00:00:00+08:00") -> dict:
    return {
        "name": "hand",
        "start": start,
        "step_minutes": 60,
        "steps": 24,
        "grid": {"import_max_mw": 100, "buy_cny_per_mwh": PRICES},
        "assets": [{"id": "load", "type": "load", "demand_mw": LOAD_MW}],
    }


def hand_series(days: int, year: int = 2025, load: list[float] | None = None) -> pd.DataFrame:
    """``days`` days of hourly steps from 1 January: load and prices as the hand case (or ``load`` per day)."""
    idx = pd.date_range(pd.Timestamp(dt.datetime(year, 1, 1)).tz_localize("Asia/Shanghai"), periods=24 * days, freq="1h")
    per_day = load or [LOAD_MW] * days
    return pd.DataFrame({"timestamp": idx, "load_mw": np.repeat(per_day, 24), "buy_cny_per_mwh": PRICES * days})


@pytest.fixture
def hand_case():
    return load_case(hand_case_data())
