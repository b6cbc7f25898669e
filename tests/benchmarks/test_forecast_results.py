"""The committed forecast backtests (`python -m benchmarks.forecast_backtests`) and the page that
quotes them: on every measured load series the learned median beats every simple rule, its
P10–P90 interval covers 80 % ± 3 %, and the forecasts page prints the figures the run wrote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.forecast_backtests import DATASETS, rules_table, summary_row, table
from forecasts.rules import LOAD_RULES

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results" / "forecasts"
PAGE = ROOT / "docs" / "guide" / "forecasts.md"
MEASURED_LOAD = [n for n, d in DATASETS.items() if d["kw"]["kind"] == "load" and "measured" in d["what"]]


def _result(name: str) -> dict:
    return json.loads((RESULTS / f"{name}.json").read_text(encoding="utf-8"))


def test_every_dataset_has_its_committed_result() -> None:
    assert {"taylor-load", "victoria-load", "victoria-load-no-temperature"} <= set(MEASURED_LOAD)
    for name in DATASETS:
        assert (RESULTS / f"{name}.json").is_file(), name
        assert (RESULTS / f"{name}.png").is_file(), name


@pytest.mark.parametrize("name", MEASURED_LOAD)
def test_the_learned_load_forecast_beats_every_rule_with_a_calibrated_interval(name: str) -> None:
    doc = _result(name)
    sbs = doc["side_by_side"]
    assert set(sbs) == {"learned", *LOAD_RULES}
    learned = sbs["learned"]["mae"]
    for rule in LOAD_RULES:
        assert learned < sbs[rule]["mae"], (name, rule)
    assert doc["beats_every_rule"] is True
    # Skill against seasonal naive, recomputed from the two MAEs.
    assert sbs["learned"]["skill_vs_seasonal_naive"] == pytest.approx(
        1 - learned / sbs["seasonal_naive"]["mae"]
    )
    assert 0.77 <= doc["coverage_p10_p90"] <= 0.83, doc["coverage_p10_p90"]
    # The backtest never trained on or after the day it forecast.
    for fit in doc["fits"]:
        assert fit["train_end"] < fit["origin"]


def test_the_forecasts_page_quotes_the_summary_the_run_wrote() -> None:
    summary = (RESULTS / "summary.md").read_text(encoding="utf-8")
    page = PAGE.read_text(encoding="utf-8")
    for line in summary.splitlines():
        if line.startswith("| ") and not line.startswith("|---"):
            assert line in page, line


def test_the_summary_is_the_tables_of_the_results() -> None:
    rows = [summary_row(name, _result(name)) for name in DATASETS]
    summary = (RESULTS / "summary.md").read_text(encoding="utf-8")
    assert summary == table(rows) + "\n" + rules_table(rows)
