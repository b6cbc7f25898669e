"""time_vs_size.png reads at a glance: every arm its own colour and marker, tick labels apart, the legend aside."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from benchmarks import report

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"


@pytest.mark.parametrize("suite", ["quick", "full"])
def test_time_vs_size_is_readable(suite: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    table = pd.read_csv(RESULTS / suite / "bench.csv")
    ok = table[table["status"].isin(["optimal", "feasible"])]
    figures = []
    monkeypatch.setattr(plt, "close", figures.append)  # keep the figure to look at it
    path = report.time_vs_size(ok, tmp_path / "time_vs_size.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    (fig,) = figures
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    panels = [ax for ax in fig.axes if ax.axison]
    assert len(panels) == ok["axis"].nunique()
    for ax in panels:
        for axis in (ax.xaxis, ax.yaxis):
            labels = [t for t in axis.get_ticklabels() if t.get_text() and t.get_visible()]
            assert labels, (ax.get_title(), "no tick labels")
            assert all("^" not in t.get_text() and "times" not in t.get_text() for t in labels)  # plain numbers
            boxes = sorted((t.get_window_extent(renderer) for t in labels), key=lambda b: (b.x0, b.y0))
            for a, b in zip(boxes, boxes[1:], strict=False):
                assert not a.overlaps(b), (ax.get_title(), [t.get_text() for t in labels])
        # every point is marked, and no two arms share both colour and marker
        styles = {(line.get_color(), line.get_marker()) for line in ax.get_lines()}
        assert all(marker not in ("None", "", None) for _, marker in styles)
    legend = fig.legends[0]
    arms = [t.get_text() for t in legend.get_texts() if not t.get_text().startswith("hollow")]
    assert arms == sorted(set(ok["arm"]))
    pairs = {(h.get_color(), h.get_marker()) for h in legend.legend_handles[: len(arms)]}
    assert len(pairs) == len(arms)
    box = legend.get_window_extent(renderer)
    assert all(not box.overlaps(ax.get_window_extent(renderer)) for ax in panels)
