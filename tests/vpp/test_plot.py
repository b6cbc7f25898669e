"""dispatch.png (and typical_day.png, drawn by the same function): legends beside the data, the shared palette."""

from __future__ import annotations

import datetime as dt

import matplotlib.pyplot as plt
import pytest
from matplotlib.colors import to_hex
from matplotlib.lines import Line2D

from vpp.dispatch import run_day_ahead
from vpp.palette import SERIES, STATIC_FILE, javascript, storage_colours
from vpp.plot import dispatch_figure


@pytest.fixture(scope="module")
def figure():
    result = run_day_ahead("teda-east", dt.date(2026, 7, 15))
    fig = dispatch_figure(result)
    fig.canvas.draw()
    yield result, fig
    plt.close(fig)


def test_every_legend_is_beside_its_panel_not_over_the_data(figure) -> None:
    _, fig = figure
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        legend = ax.get_legend()
        assert legend is not None
        assert legend.get_window_extent(renderer).x0 >= ax.get_window_extent(renderer).x1, ax.get_ylabel()


def test_colours_and_labels_are_the_palettes(figure) -> None:
    result, fig = figure
    balance, band, storage, prices = fig.axes  # the batteries regulate on this day: their band's panel is second
    by_label = {label: colour for label, colour in SERIES.values()}
    for handle, text in zip(balance.get_legend().legend_handles, balance.get_legend().get_texts(), strict=True):
        label = text.get_text()
        if label.startswith("DR "):
            continue
        colour = handle.get_color() if isinstance(handle, Line2D) else handle.get_facecolor()
        assert to_hex(colour) == by_label[label], label
    expected = storage_colours((a.id, a.type) for a in result.case.assets)
    lines = {line.get_label().split(" ")[0]: line for line in storage.get_lines()}
    assert set(lines) == set(expected)
    for asset, line in lines.items():
        assert to_hex(line.get_color()) == expected[asset], asset
    assert lines["yujiapu-ice-storage"].get_linestyle() == "--"
    assert storage.get_ylabel() == "storage level\n[% of capacity]"
    assert to_hex(prices.get_lines()[0].get_color()) == SERIES["buy"][1]
    texts = [t.get_text() for t in band.get_legend().get_texts()]
    assert texts[:3] == [SERIES[k][0] for k in ("regulation", "battery_net", "power_limit")]
    assert to_hex(band.collections[0].get_facecolor()[0]) == SERIES["regulation"][1]
    assert to_hex(band.get_lines()[0].get_color()) == SERIES["battery_net"][1]


def test_the_pages_palette_file_is_generated_from_the_module() -> None:
    assert STATIC_FILE.read_text(encoding="utf-8") == javascript(), "run: python -m vpp.palette"
