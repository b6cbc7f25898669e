"""The settlement's files: the tables, and one statement per participant (CSV, one-page HTML, PDF).

:func:`write_settlement` puts in a folder

- ``settlement.csv``: one row per participant (and the aggregator): each pot kind and the net [CNY];
- ``responses.csv``: one row per day, event and participant: baseline, response, effective response, shares;
- ``regulation.csv``: one row per day and regulating participant: band, mileage, shares;
- ``settlement.json``: all of it, with the rules and their labels and every pot's split;
- ``statements/<participant>.csv`` and ``.html`` (and ``.pdf`` with WeasyPrint, which lays out the
  HTML without a browser): what the participant earned and why, on one page.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import pandas as pd

from vpp.results import _clean
from vpp.settlement import AGGREGATOR, Settlement


def pdf_available() -> bool:
    """Whether WeasyPrint (and the Pango library it needs) can be loaded."""
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


def safe_name(participant: str) -> str:
    """A file name for a participant's statement (letters, digits, ``-_.``; others become ``_``)."""
    name = re.sub(r"[^\w.-]", "_", participant, flags=re.ASCII).strip(".") or "participant"
    return name[:120]


def _money(v: float) -> str:
    return f"{v:,.2f}"


def _num(v: Any, digits: int = 2) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "–"
    return f"{v:,.{digits}f}"


def statement_rows(s: Settlement, participant: str) -> list[dict[str, Any]]:
    """The participant's statement lines: one per event it was settled in, one per day it regulated."""
    lines = []
    for r in s.responses:
        if r["participant"] != participant or not r["joined"]:
            continue
        lines.append({"date": r["date"], "item": f"demand response {r['event']} {r['window']}",
                      "baseline_mwh": r["baseline_mwh"], "consumption_mwh": r["consumption_mwh"],
                      "commitment_mw": r["commitment_mw"], "response_mw": r["response_mw"], "ratio": r["ratio"],
                      "region": r["region"], "effective_mwh": r["effective_mwh"], "shortfall_mwh": r["shortfall_mwh"],
                      "amount_cny": r["dr_revenue_cny"] + r["dr_penalty_cny"], "revenue_cny": r["dr_revenue_cny"],
                      "penalty_cny": r["dr_penalty_cny"], "baseline": r["baseline_source"]})
    for r in s.regulation:
        if r["participant"] != participant:
            continue
        lines.append({"date": r["date"], "item": "frequency regulation", "band_mwh": r["band_mwh"],
                      "mileage_mw": r["mileage_mw"], "amount_cny": r["capacity_share_cny"] + r["mileage_share_cny"],
                      "capacity_cny": r["capacity_share_cny"], "mileage_cny": r["mileage_share_cny"]})
    return sorted(lines, key=lambda x: (x["date"], x["item"]))


_CSS = """
@page { size: A4; margin: 14mm 13mm; }
body { font-family: "DejaVu Sans", Arial, "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif; font-size: 9pt; color: #1b1f24; margin: 0; }
h1 { font-size: 14pt; margin: 0 0 2mm; } h2 { font-size: 10.5pt; margin: 5mm 0 1.5mm; }
.muted { color: #5b6570; } .total { font-size: 13pt; font-weight: bold; }
table { border-collapse: collapse; width: 100%; } th, td { padding: 1.2mm 1.6mm; border-bottom: 0.3pt solid #c9d0d8; }
th { text-align: left; background: #eef2f6; font-weight: 600; } td.num, th.num { text-align: right; white-space: nowrap; }
.box { border: 0.6pt solid #9aa7b4; padding: 2.5mm 3mm; margin: 3mm 0; }
.small { font-size: 7.5pt; } li { margin: 0.6mm 0; }
"""


def statement_html(s: Settlement, participant: str, title: str) -> str:
    """One page a participant reads: the net amount, each event and regulation day, and how it was worked out."""
    e = html.escape
    lines = statement_rows(s, participant)
    totals = s.totals().set_index("participant").loc[participant]
    dates = sorted({d["date"] for d in s.days})
    period = dates[0] if len(dates) == 1 else f"{dates[0]} to {dates[-1]}"
    dr = [x for x in lines if x["item"].startswith("demand response")]
    reg = [x for x in lines if x["item"] == "frequency regulation"]
    r = s.rules
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{e(title)}: {e(participant)}</title>",
             f"<style>{_CSS}</style></head><body>",
             f"<h1>Settlement statement: {e(participant)}</h1>",
             f"<div class='muted'>{e(title)} · {e(period)} · assets: {e(', '.join(s.participants.get(participant, [])))}</div>",
             "<div class='box'><span class='total'>Net for the period: "
             f"{_money(totals['net_cny'])} CNY</span><br>",
             f"demand-response revenue {_money(totals['dr_revenue_cny'])} · penalties {_money(totals['dr_penalty_cny'])} · "
             f"regulation capacity {_money(totals['regulation_capacity_cny'])} · "
             f"regulation mileage {_money(totals['regulation_mileage_cny'])} CNY</div>"]
    parts.append("<h2>Demand-response events</h2>")
    if dr:
        parts.append("<table><tr><th>date</th><th>event</th><th class='num'>baseline MWh</th><th class='num'>used MWh</th>"
                     "<th class='num'>committed MW</th><th class='num'>response MW</th><th class='num'>ratio</th>"
                     "<th>rule</th><th class='num'>effective MWh</th><th class='num'>short MWh</th>"
                     "<th class='num'>CNY</th></tr>")
        for x in dr:
            ratio = "–" if x["ratio"] is None else f"{100 * x['ratio']:.0f} %"
            parts.append(f"<tr><td>{e(x['date'])}</td><td>{e(x['item'][16:])}</td><td class='num'>{_num(x['baseline_mwh'])}</td>"
                         f"<td class='num'>{_num(x['consumption_mwh'])}</td><td class='num'>{_num(x['commitment_mw'])}</td>"
                         f"<td class='num'>{_num(x['response_mw'])}</td><td class='num'>{ratio}</td><td>{e(x['region'])}</td>"
                         f"<td class='num'>{_num(x['effective_mwh'])}</td><td class='num'>{_num(x['shortfall_mwh'])}</td>"
                         f"<td class='num'>{_money(x['amount_cny'])}</td></tr>")
        parts.append("</table>")
        baselines = sorted({x["baseline"] for x in dr})
        parts.append("<div class='small muted'><b>Baselines used:</b><ul>" +
                     "".join(f"<li>{e(b)}</li>" for b in baselines) + "</ul></div>")
    else:
        parts.append("<p class='muted'>No event in the period called on this participant's assets.</p>")
    if reg:
        parts.append("<h2>Frequency regulation</h2><table><tr><th>date</th><th class='num'>band MW·h</th>"
                     "<th class='num'>mileage MW</th><th class='num'>capacity CNY</th><th class='num'>mileage CNY</th></tr>")
        for x in reg:
            parts.append(f"<tr><td>{e(x['date'])}</td><td class='num'>{_num(x['band_mwh'])}</td>"
                         f"<td class='num'>{_num(x['mileage_mw'])}</td><td class='num'>{_money(x['capacity_cny'])}</td>"
                         f"<td class='num'>{_money(x['mileage_cny'])}</td></tr>")
        parts.append("</table>")
    src = r.sources
    parts.append("<h2>How it was worked out</h2><ul class='small'>")
    parts.append(f"<li><b>Baseline</b>: {e(r.describe_baseline())}; with fewer than {r.min_days} such days, a stand-in "
                 f"(named above). <span class='muted'>{e(src.get('method', ''))}</span></li>")
    parts.append(f"<li><b>Response</b>: baseline − consumption in the window (mean MW); ratio = response / commitment. "
                 f"Below {100 * r.lower_fraction:.0f} % nothing is paid, above {100 * r.upper_fraction:.0f} % the "
                 f"commitment × {r.upper_fraction:g} is paid. <span class='muted'>{e(src.get('lower_fraction', ''))}; "
                 f"{e(src.get('upper_fraction', ''))}</span></li>")
    parts.append(f"<li><b>Sharing</b>: the aggregator keeps {100 * r.aggregator_share:.0f} % of each revenue; the rest is "
                 "shared in proportion to effective response (regulation: to band, and band × mileage × performance); "
                 f"{100 * r.penalty_pass_through:.0f} % of each penalty is passed on in proportion to shortfall. Amounts "
                 "are in fen and add up exactly. <span class='muted'>"
                 f"{e(src.get('aggregator_share', ''))}</span></li>")
    consumption = sorted({d["consumption"] for d in s.days})
    parts.append(f"<li><b>Consumption</b>: {e('; '.join(consumption))}.</li></ul>")
    parts.append("</body></html>")
    return "".join(parts)


def write_settlement(s: Settlement, out_dir: str | Path, pdf: bool = False, title: str | None = None) -> dict[str, Path]:
    """Write the settlement's files (see the module docstring) into ``out_dir``; their paths by name."""
    out = Path(out_dir)
    (out / "statements").mkdir(parents=True, exist_ok=True)
    paths = {name: out / name for name in ("settlement.csv", "responses.csv", "regulation.csv", "settlement.json")}
    s.totals().to_csv(paths["settlement.csv"], index=False)
    responses = pd.DataFrame(s.responses)
    responses.to_csv(paths["responses.csv"], index=False, float_format="%.6f")
    pd.DataFrame(s.regulation, columns=["date", "participant", "band_mwh", "mileage_mw", "capacity_cny", "mileage_cny",
                                        "capacity_share_cny", "mileage_share_cny"]).to_csv(
        paths["regulation.csv"], index=False, float_format="%.6f")
    paths["settlement.json"].write_text(json.dumps(_clean(s.to_dict()), indent=2, ensure_ascii=False) + "\n",
                                        encoding="utf-8")
    title = title or (f"Virtual power plant {s.days[0]['case']}" if s.days else "Virtual power plant")
    used: set[str] = set()
    for p in [p for p in s.participants if p != AGGREGATOR]:
        name = safe_name(p)
        while name in used:
            name += "_"
        used.add(name)
        base = out / "statements" / name
        pd.DataFrame(statement_rows(s, p)).to_csv(base.with_suffix(".csv"), index=False, float_format="%.6f")
        page = statement_html(s, p, title)
        base.with_suffix(".html").write_text(page, encoding="utf-8")
        paths[f"statements/{name}.html"] = base.with_suffix(".html")
        if pdf:
            from weasyprint import HTML

            HTML(string=page).write_pdf(base.with_suffix(".pdf"))
            paths[f"statements/{name}.pdf"] = base.with_suffix(".pdf")
    return paths

