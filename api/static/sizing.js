// The page's sizing panel: a finished sizing job (POST /v1/sizing) read from GET /v1/jobs/{id}, shown as
// the recommended size and the plan's, the saving by bill line, the typical days against the full year, the
// break-even capital cost, the CO2 effect, the tornado and NPV against size.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const token = () => localStorage.getItem("vpp.token") || "";
  const fmt = (v, d) => (v == null ? "–" : Number(v).toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d }));
  const mcny = (v) => (v == null ? "–" : fmt(v / 1e6, 1) + " M CNY");
  const pct = (v) => (v == null ? "–" : fmt(100 * v, 1) + " %");
  const years = (v) => (v == null ? "–" : fmt(v, 1) + " yr");
  const size = (p, e) => `${fmt(p, 2)} MW / ${fmt(e, 2)} MWh`;
  const COLOURS = ["#3fa7ff", "#5bd68f", "#f2b701", "#e377c2", "#17becf", "#bcbd22"];
  let chart = null;

  function say(text, kind) { const el = $("sizing-status"); el.textContent = text; el.className = kind || "muted"; }

  function rows(table, data) {
    table.innerHTML = "";
    const body = table.createTBody();
    for (const [k, v] of data) { const r = body.insertRow(); r.insertCell().textContent = k; const c = r.insertCell(); c.textContent = v; c.className = "num"; }
  }

  function tornado(t) {
    const table = $("sizing-tornado");
    table.innerHTML = "";
    if (!t || !t.bars) return;
    const head = table.createTHead().insertRow();
    for (const h of ["input", "low", "NPV low", "", "NPV high", "high"]) { const th = document.createElement("th"); th.textContent = h; head.appendChild(th); }
    const lo = Math.min(t.npv_cny, ...t.bars.map((b) => Math.min(b.npv_low_cny, b.npv_high_cny)));
    const hi = Math.max(t.npv_cny, ...t.bars.map((b) => Math.max(b.npv_low_cny, b.npv_high_cny)));
    const x = (v) => (100 * (v - lo)) / (hi - lo || 1);
    const body = table.createTBody();
    for (const b of t.bars) {
      const r = body.insertRow();
      r.insertCell().textContent = b.input.replace(/_/g, " ");
      r.insertCell().textContent = b.low;
      const l = r.insertCell(); l.textContent = mcny(b.npv_low_cny); l.className = "num";
      const bar = r.insertCell(); bar.className = "tornado-bar";
      const a = Math.min(b.npv_low_cny, b.npv_high_cny), z = Math.max(b.npv_low_cny, b.npv_high_cny);
      const span = document.createElement("div");
      span.style.cssText = `position:relative;height:12px;width:260px;background:#1c2530`;
      const fill = document.createElement("div");
      fill.style.cssText = `position:absolute;top:0;height:12px;left:${x(a)}%;width:${Math.max(x(z) - x(a), 0.5)}%;background:#3fa7ff`;
      const mid = document.createElement("div");
      mid.style.cssText = `position:absolute;top:-2px;height:16px;left:${x(t.npv_cny)}%;width:2px;background:#e6edf3`;
      span.append(fill, mid); bar.appendChild(span);
      const h = r.insertCell(); h.textContent = mcny(b.npv_high_cny); h.className = "num";
      r.insertCell().textContent = b.high;
    }
  }

  function curve(s) {
    const el = $("chart-sizing");
    if (chart) { chart.destroy(); chart = null; }
    el.innerHTML = "";
    const pts = (s.npv_against_size || []).filter((c) => c.on_grid && c.npv_cny != null);
    if (!pts.length) return;
    const powers = [...new Set(pts.map((c) => c.power_mw))].sort((a, b) => a - b);
    const xs = [...new Set(pts.map((c) => c.energy_mwh))].sort((a, b) => a - b);
    const plan = s.plan, rec = s.recommended;
    const marks = [plan && plan.energy_mwh, rec && rec.energy_mwh].filter((v) => v != null && !xs.includes(v));
    const x = [...xs, ...marks].sort((a, b) => a - b);
    const at = (e, pick) => { const c = pick.find((q) => q.energy_mwh === e); return c ? c.npv_cny / 1e6 : null; };
    const data = [x, ...powers.map((p) => x.map((e) => at(e, pts.filter((c) => c.power_mw === p))))];
    const series = [{}, ...powers.map((p, i) => ({ label: `${fmt(p, 1)} MW`, stroke: COLOURS[i % COLOURS.length], width: 2, spanGaps: true }))];
    if (plan && plan.npv_cny != null) {
      data.push(x.map((e) => (e === plan.energy_mwh ? plan.npv_cny / 1e6 : null)));
      series.push({ label: `the plan ${size(plan.power_mw, plan.energy_mwh)}`, stroke: "#ffffff", width: 0, points: { show: true, size: 10, fill: "#ffffff" } });
    }
    if (rec && rec.npv_cny != null) {
      data.push(x.map((e) => (e === rec.energy_mwh ? rec.npv_cny / 1e6 : null)));
      series.push({ label: "recommended", stroke: "#ff5c5c", width: 0, points: { show: true, size: 12, fill: "#ff5c5c" } });
    }
    const axis = { stroke: "#8a9aab", grid: { stroke: "#2a3643", width: 1 } };
    chart = new uPlot({ width: Math.max(el.clientWidth - 4, 320), height: 280, series,
                        scales: { x: { time: false } },
                        axes: [Object.assign({ label: "storage energy, all sites [MWh]" }, axis), Object.assign({ label: "NPV [M CNY]", size: 60 }, axis)] },
                      data, el);
  }

  function show(s) {
    const r = s.recommended, be = r.break_even_capital_cost, co2 = s.co2, plan = s.plan;
    const list = [
      ["recommended", `${size(r.power_mw, r.energy_mwh)} (${r.method})`],
      ["NPV / IRR", `${mcny(r.npv_cny)} / ${pct(r.irr)}`],
      ["payback simple / discounted", `${years(r.simple_payback_years)} / ${years(r.discounted_payback_years)}`],
      ["break-even capital cost", be ? `×${fmt(be.factor, 2)} of the assumed` + (be.cny_per_wh == null ? "" : ` (${fmt(be.cny_per_wh, 2)} CNY/Wh)`) : "–"],
      ["augmentations", (r.augmentations || []).map((a) => `year ${a.year}: ${mcny(a.cost_cny)}`).join(", ") || "none"],
    ];
    if (plan) list.push(["the plan " + size(plan.power_mw, plan.energy_mwh), `NPV ${mcny(plan.npv_cny)}, IRR ${pct(plan.irr)}, payback ${years(plan.simple_payback_years)}`]);
    const src = (s.saving_by_source || {}).recommended;
    if (src) {
      const lines = Object.entries(src.lines).filter(([, v]) => Math.abs(v.cny_per_year) >= 5e4);
      list.push(["saving by source", lines.map(([k, v]) => `${k.replace(/_/g, " ")} ${mcny(v.cny_per_year)}`).join(", ") || "–"]);
    }
    for (const c of ((s.typical_vs_full_year || {}).sizes || [])) {
      const d = c.figures.saving_cny_per_year;
      list.push([`saving of the ${c.size}: typical days / full year`, `${mcny(d.typical_days)} / ${mcny(d.full_year)} (${pct(d.difference_fraction)})`]);
    }
    if (co2) list.push(["CO2 with storage", `${fmt(co2.change_t_per_year, 0)} t/yr at ${fmt(co2.emission_factor_t_per_mwh, 3)} t/MWh`
                        + (co2.hourly_profile ? `; ${fmt(co2.hourly_profile.change_t_per_year, 0)} t/yr at the hourly factors` : "")]);
    rows($("sizing-table"), list);
    tornado(s.tornado);
    curve(s);
  }

  async function load(ev) {
    ev.preventDefault();
    const id = $("sizing-job").value.trim();
    if (!id) { say("Give the id of a sizing job.", "error"); return; }
    $("sizing-show").disabled = true;
    try {
      for (let i = 0; i < 3600; i++) {
        const res = await fetch("/v1/jobs/" + encodeURIComponent(id), { headers: { Authorization: "Bearer " + token() } });
        const body = await res.json().catch(() => null);
        if (res.status !== 200) { say(`${res.status}: ${(body && body.message) || "refused"}`, "error"); return; }
        if (body.kind !== "sizing") { say(`job ${id} is a ${body.kind} job, not a sizing study`, "error"); return; }
        if (body.status === "failed") { say("Failed: " + body.reason, "error"); return; }
        if (body.status === "done") {
          const s = body.result;
          say(`${s.case} ${s.year}: ${size(s.recommended.power_mw, s.recommended.energy_mwh)}, NPV ${mcny(s.recommended.npv_cny)}`);
          show(s);
          return;
        }
        say(`Job ${body.status}…`);
        await new Promise((r) => setTimeout(r, 1000));
      }
    } finally { $("sizing-show").disabled = false; }
  }

  $("sizing-form").addEventListener("submit", load);
})();
