// The page's frequency-regulation panel: the VPP's bid per block, its revenue, what it is worth against the
// day without it, and the regulating batteries' net power with the band around it (as on dispatch.png).
// app.js calls window.vppRegulation(schedule) after drawing a schedule; the panel hides when nothing regulates.
"use strict";
(function () {
  const P = window.VPP_PALETTE;
  const colour = (role) => P.series[role].colour;
  const label = (role) => P.series[role].label;
  let chart = null;

  const fmt = (v, d) => (v == null ? "–" : Number(v).toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d }));
  const clock = (iso) => iso.slice(11, 16);
  function span(from, to) {  // "HH:MM–HH:MM", the end of the day as 24:00
    const end = clock(to) === "00:00" && to.slice(0, 10) > from.slice(0, 10) ? "24:00" : clock(to);
    return `${clock(from)}–${end}`;
  }
  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text != null) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }

  // the headline: what is offered, what it earns, and the comparison with the day without regulation
  function lines(r) {
    const out = [];
    out.push(`Offered in ${r.blocks_offered} of ${r.blocks.length} blocks of ${r.block_minutes} min, up to ${fmt(r.max_offer_mw, 2)} MW ` +
             `(${fmt(r.offer_mw_h, 1)} MW·h); expected loss following the signal ${fmt(r.expected_loss_mwh, 2)} MWh.`);
    const rev = r.revenue_cny;
    out.push(`Revenue ${fmt(rev.total, 0)} CNY: capacity ${fmt(rev.capacity, 0)}, mileage ${fmt(rev.mileage, 0)}.`);
    const c = r.comparison || {};
    if (c.net_value_cny != null) {
      out.push(`Cost with regulation ${fmt(c.with_regulation.objective_cny, 0)} CNY, without ${fmt(c.without_regulation.objective_cny, 0)} CNY: ` +
               `net value ${fmt(c.net_value_cny, 0)} CNY, energy margin given up ${fmt(c.energy_margin_given_up_cny, 0)} CNY.`);
    } else if (c.note) {
      out.push(c.note);
    }
    return out;
  }

  function bidTable(r) {
    const table = el("table"); table.id = "regulation-bid";
    const ids = r.batteries.map((b) => b.id);
    const head = table.createTHead().insertRow();
    for (const h of ["block", ...ids.map((id) => `${id} [MW]`), "total [MW]", "capacity [CNY/MW·h]", "mileage [CNY/MW]", "revenue [CNY]"]) {
      head.appendChild(el("th", h));
    }
    const body = table.createTBody();
    for (const b of r.blocks) {
      const tr = body.insertRow();
      if (!(b.total_mw > 1e-6)) tr.className = "muted";
      const when = tr.insertCell(); when.textContent = span(b.from, b.to); when.style.whiteSpace = "nowrap";
      const cells = [...ids.map((id) => fmt(b.offer_mw[id], 2)), fmt(b.total_mw, 2), fmt(b.capacity_price_cny_per_mw_h, 1),
                     fmt(b.mileage_price_cny_per_mw, 1), fmt(b.capacity_revenue_cny + b.mileage_revenue_cny, 0)];
      for (const v of cells) { const td = tr.insertCell(); td.textContent = v; td.className = "num"; }
    }
    return table;
  }

  // the demand-response windows [start, end) shaded as on the page's other charts (x = k: the start of step k)
  function shade(windows) {
    return { hooks: { drawClear: [(u) => {
      const ctx = u.ctx; ctx.save(); ctx.fillStyle = colour("demand_response"); ctx.globalAlpha = 0.13;
      for (const [a, b] of windows) {
        const x0 = u.valToPos(a, "x", true); const x1 = u.valToPos(b, "x", true);
        ctx.fillRect(x0, u.bbox.top, x1 - x0, u.bbox.height);
      }
      ctx.restore();
    }] } };
  }

  // net power of the regulating batteries (discharge +) and the band ± their total offer, per step
  function bandChart(host, sched, stepMinutes, windows) {
    const n = sched.timestamps.length;
    const regulating = new Set(sched.series.filter((s) => s.quantity === "regulation_mw").map((s) => s.asset));
    const total = (q) => {
      const out = new Array(n).fill(0);
      for (const s of sched.series) if (regulating.has(s.asset) && s.quantity === q) s.values.forEach((v, i) => { out[i] += v || 0; });
      return out;
    };
    const net = total("injection_mw"); const band = total("regulation_mw");
    const held = (a) => [...a, a[a.length - 1]];
    const [h, m] = clock(sched.timestamps[n - 1]).split(":").map(Number);
    const last = (h * 60 + m + stepMinutes) % 1440;  // the end of the last step
    const labels = [...sched.timestamps.map(clock), `${String(Math.floor(last / 60)).padStart(2, "0")}:${String(last % 60).padStart(2, "0")}`];
    const stepped = uPlot.paths.stepped({ align: 1 });
    const value = (u, v) => (v == null ? "" : v.toFixed(2));
    host.innerHTML = "";
    chart = new uPlot({
      width: Math.max(host.clientWidth - 4, 300), height: 200, plugins: [shade(windows)],
      scales: { x: { time: false, range: () => [0, n] } },
      axes: [{ stroke: "#8a9aab", grid: { stroke: "#2a3643", width: 1 }, values: (u, ticks) => ticks.map((i) => labels[Math.round(i)] || "") },
             { stroke: "#8a9aab", grid: { stroke: "#2a3643", width: 1 }, size: 60 }],
      series: [
        { label: "time", value: (u, v) => (v == null ? "" : labels[Math.round(v)]) },
        { label: label("regulation") + " upper", stroke: colour("regulation"), width: 1, paths: stepped, points: { show: false }, value },
        { label: label("regulation") + " lower", stroke: colour("regulation"), width: 1, paths: stepped, points: { show: false }, value },
        { label: label("battery_net"), stroke: colour("battery_net"), width: 2, paths: stepped, points: { show: false }, value },
      ],
      bands: [{ series: [1, 2], fill: colour("regulation") + "55" }],
    }, [Array.from({ length: n + 1 }, (_, i) => i), held(net.map((v, i) => v + band[i])), held(net.map((v, i) => v - band[i])), held(net)], host);
  }

  window.vppRegulation = function (schedule) {
    const panel = document.getElementById("regulation");
    const r = schedule.summary.regulation;
    if (chart) { chart.destroy(); chart = null; }
    if (!r) { panel.hidden = true; panel.innerHTML = ""; return; }
    panel.hidden = false;
    panel.innerHTML = "";
    panel.appendChild(el("h3", "Frequency regulation"));
    for (const line of lines(r)) panel.appendChild(el("p", line, "regulation-line"));
    const host = el("div", null, "chart"); host.id = "chart-regulation";
    panel.appendChild(el("p", `${label("battery_net")} [MW, + discharge] and the ${label("regulation")}`, "muted legend-note"));
    panel.appendChild(host);
    panel.appendChild(bidTable(r));
    const windows = (schedule.summary.demand_response || []).map((e) => e.window_steps);
    bandChart(host, schedule.schedule, schedule.summary.step_minutes, windows);
  };
})();
