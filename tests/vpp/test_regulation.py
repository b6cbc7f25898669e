"""Frequency regulation in the product: the TEDA market data, the bid, its revenue, and what it gives up.

The hand cases use Δ = 1 h, prices in CNY/MWh, powers in MW; each optimum is derived in the comments.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from vpp.case import Case
from vpp.cases import materialize, teda_east
from vpp.errors import CaseError

LABEL = re.compile(r"^\[(pub|assumed)[\],]")


@pytest.fixture(scope="module")
def july() -> Case:
    return materialize("teda-east", "2026-07-15")


# ---------------------------------------------------------------------------
# The TEDA market data (vpp/cases/teda_east.yaml, section `regulation`)
# ---------------------------------------------------------------------------


def test_teda_regulation_block_holds_the_north_china_market(july: Case) -> None:
    reg = july.regulation
    assert reg is not None
    assert reg.capacity_price_cny_per_mw_h == 0  # 京津唐 pays on mileage only
    assert reg.mileage_price_cny_per_mw == 6  # the middle of the published 0–12 CNY/MW offer range
    assert reg.mileage_mw_per_mw_h == 3
    assert reg.deployment_fraction == 0.1
    assert reg.duration_h == 0.25
    assert reg.block_steps == 4  # one-hour blocks of 15-minute steps
    assert reg.min_offer_mw == 5
    batteries = [a for a in july.assets if a.type == "battery"]
    assert len(batteries) == 4
    assert all(b.regulation and b.regulation_performance == 2.0 for b in batteries)
    # hourly steps: a block is one step
    assert materialize("teda-east", "2026-07-15", step_minutes=60).regulation.block_steps == 1


def test_each_regulation_number_is_labelled_published_or_assumed(july: Case) -> None:
    sources = july.meta["sources"]
    keys = sorted(k for k in sources if k.startswith("regulation."))
    assert keys == [
        "regulation.block_hours", "regulation.capacity_price_cny_per_mw_h", "regulation.deployment_fraction",
        "regulation.duration_h", "regulation.mileage_mw_per_mw_h", "regulation.mileage_offer_range_cny_per_mw",
        "regulation.mileage_price_cny_per_mw", "regulation.min_offer_mw", "regulation.performance_index",
    ]
    for key in keys:
        assert LABEL.match(sources[key]["source"]), (key, sources[key])
    published = {k for k in keys if sources[k]["source"].startswith("[pub]")}
    assert published == {"regulation.capacity_price_cny_per_mw_h", "regulation.mileage_offer_range_cny_per_mw"}
    assert sources["regulation.mileage_offer_range_cny_per_mw"]["value"] == [0, 12]
    assert "京津唐" in sources["regulation.mileage_offer_range_cny_per_mw"]["source"]
    assert sources["regulation.min_offer_mw"]["value"] == 5
    assert july.meta["derived"]["regulation.block_steps"]["value"] == 4
    for b in (a for a in july.assets if a.type == "battery"):
        assert b.meta["sources"]["regulation_performance"].startswith("[assumed]")
        assert b.meta["sources"]["regulation"].startswith("[assumed]")


def _materialize_with(monkeypatch: pytest.MonkeyPatch, change: Any) -> Case:
    raw = teda_east.load_template_data()
    data = copy.deepcopy(raw)
    change(data["regulation"])
    monkeypatch.setattr(teda_east, "load_template_data", lambda: copy.deepcopy(data))
    return teda_east.materialize("2026-07-15")


def test_a_mileage_price_outside_the_published_range_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(CaseError) as err:
        _materialize_with(monkeypatch, lambda r: r["mileage_price_cny_per_mw"].update(value=13))
    [p] = err.value.problems
    assert p.path == "regulation.mileage_price_cny_per_mw"
    assert p.message == "expected a price within the 京津唐 offer range [0, 12] CNY/MW, got 13"


def test_a_regulation_site_without_a_battery_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(CaseError) as err:
        _materialize_with(monkeypatch, lambda r: r.update(sites=["s110-1", "s110-9"]))
    [p] = err.value.problems
    assert p.path == "regulation.sites"
    assert p.message.startswith("no battery at ['s110-9']: expected some of ['s110-1', 's110-2'")


def test_only_the_listed_sites_regulate(monkeypatch: pytest.MonkeyPatch) -> None:
    c = _materialize_with(monkeypatch, lambda r: r.update(sites=["s35-haijing"]))
    assert {a.id for a in c.assets if a.type == "battery" and a.regulation} == {"bess-s35-haijing"}
