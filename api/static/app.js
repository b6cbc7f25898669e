// The scheduling service's page: token kept in localStorage, schedules requested and drawn with uPlot.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const TOKEN_KEY = "vpp.token";
  // colours and labels shared with dispatch.png (vpp/palette.py → palette.js)
  const P = window.VPP_PALETTE;
  const colour = (role) => P.series[role].colour;
  const label = (role) => P.series[role].label;
  const costLabel = (term) => P.cost_terms[term] || term.replace(/_/g, " ");
  let current = null;  // the schedule shown
  let charts = [];

  function token() { return localStorage.getItem(TOKEN_KEY) || ""; }
  function showToken() {
    $("token-state").textContent = token() ? "token saved in this browser" : "no token";
    $("token").value = token();
  }
  function status(text, kind) { const el = $("status"); el.textContent = text; el.className = kind || "muted"; }

  async function api(path, options) {
    const opts = Object.assign({ headers: {} }, options || {});
    opts.headers = Object.assign({ Authorization: "Bearer " + token() }, opts.headers);
    const res = await fetch(path, opts);
    const type = res.headers.get("content-type") || "";
    const body = type.includes("json") ? await res.json() : await res.text();
    return { res, body };
  }

  function fail(body, res) {
    const msg = (body && body.message) || ("HTTP " + res.status);
    status(`${res.status}: ${msg}`, "error");
    const list = $("problems"); list.innerHTML = "";
    for (const p of (body && body.problems) || []) {
      const li = document.createElement("li"); li.textContent = `${p.path}: ${p.message}`; list.appendChild(li);
    }
  }

  function tomorrow() {
    const d = new Date(Date.now() + 8 * 3600e3 + 86400e3);  // Asia/Shanghai
    return d.toISOString().slice(0, 10);
  }

  async function request(ev) {
    ev.preventDefault();
    if (!token()) { status("Enter and save a token first.", "error"); return; }
    $("problems").innerHTML = "";
    const body = { options: { mip_gap: parseFloat($("mip-gap").value), time_limit_s: parseFloat($("time-limit").value) } };
    if ($("case").value === "file") {
      const file = $("case-file").files[0];
      if (!file) { status("Choose a case file.", "error"); return; }
      try { body.case = JSON.parse(await file.text()); } catch (e) { status("The file is not JSON: " + e.message, "error"); return; }
    } else {
      body.template = $("case").value; body.date = $("date").value;
      const k = parseInt($("scenarios").value, 10);
      if (k > 0) body.scenarios = { count: k, risk_weight: parseFloat($("risk-weight").value) || 0 };
    }
    if (window.VPP_OUTAGE) window.VPP_OUTAGE.extend(body);  // outage.js: a known outage, a backup reserve
    $("request").disabled = true;
    status("Solving…");
    try {
      let { res, body: out } = await api("/v1/schedules", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      if (res.status === 202) out = await follow(out.job_id);
      else if (res.status !== 201) { fail(out, res); return; }
      if (out) await show(out.id);
    } catch (e) { status("Request failed: " + e.message, "error"); }
    finally { $("request").disabled = false; }
  }

  async function follow(jobId) {
    for (let i = 0; i < 3600; i++) {
      const { res, body } = await api("/v1/jobs/" + jobId);
      if (res.status !== 200) { fail(body, res); return null; }
      if (body.status === "done") return { id: body.schedule_id };
      if (body.status === "failed") { status("No schedule: " + body.reason, "error"); return null; }
      status(`Job ${body.status}…`);
      await new Promise((r) => setTimeout(r, 1000));
    }
    return null;
  }

  async function show(id) {
    const { res, body } = await api("/v1/schedules/" + id);
    if (res.status !== 200) { fail(body, res); return; }
    current = body;
    window.dispatchEvent(new CustomEvent("vpp:schedule", { detail: { id: body.id, case: body.case, date: body.date } }));
    const s = body.summary;
    status(`Schedule ${body.id}: ${s.status}`, s.unserved.length ? "error" : "ok");
    $("result").hidden = false;
    $("result-title").textContent = `${body.case} · ${body.date} · ${s.steps} × ${s.step_minutes} min`;
    $("assumptions").textContent = "";  // the case's, once it is in (loadCaseNodes)
    fillNodes(body);
    draw();
    summaryTable(s);
    if (window.vppRegulation) window.vppRegulation(body);  // api/static/regulation.js
    refreshRecent();
  }

  // ---- series helpers -------------------------------------------------------------------
  function series(sched, pred) { return sched.series.filter(pred); }
  function sum(list, n) {
    const out = new Array(n).fill(0);
    for (const s of list) s.values.forEach((v, i) => { out[i] += v || 0; });
    return out;
  }
  const pos = (a) => a.map((v) => Math.max(v, 0));
  const neg = (a) => a.map((v) => Math.max(-v, 0));

  function fillNodes(body) {
    const sel = $("node"); const was = sel.value; sel.innerHTML = "";
    const add = (v, t) => { const o = document.createElement("option"); o.value = v; o.textContent = t; sel.appendChild(o); };
    add("", "district (all)");
    for (const s of series(body.schedule, (x) => x.type === "node" && x.quantity === "unserved_mw")) add(s.asset, s.asset);
    if ([...sel.options].some((o) => o.value === was)) sel.value = was;
  }

  // Supply and demand at a node (or the whole district): stacked areas up and down, in dispatch.png's order.
  function balance(sched, node) {
    const n = sched.timestamps.length;
    const at = (type, q) => series(sched, (s) => s.type === type && s.quantity === q && (!node || s.node === node));
    const part = (role, values, name) => [name || label(role), colour(role), values];
    const supply = []; const demand = [];
    supply.push(part("pv", sum(at("pv", "power_mw"), n)));
    supply.push(part("battery_discharge", sum(at("battery", "discharge_mw"), n)));
    for (const t of ["load", "curtailable_load", "shiftable_load", "flexible_load", "thermal_storage"]) {
      demand.push(part(t, sum(at(t, "consumption_mw"), n)));
    }
    demand.push(part("battery_charge", sum(at("battery", "charge_mw"), n)));
    const unserved = (pred) => sum(series(sched, (s) => s.type === "node" && s.quantity === "unserved_mw" && pred(s)), n);
    if (!node) {
      const grid = (q) => sum(series(sched, (s) => s.asset === "grid" && s.quantity === q), n);
      const green = grid("green_mw"); const imp = grid("import_mw");
      supply.push(part("grid", imp.map((v, i) => v - green[i])));
      supply.push(part("green", green));
      demand.push(part("export", grid("export_mw")));
      supply.push(part("unserved", unserved(() => true)));
    } else {
      // net flow into the node: children's flows (upwards) minus its own branch flow (upwards)
      const own = sum(series(sched, (s) => s.type === "node" && s.quantity === "flow_mw" && s.asset === node), n);
      const children = sum(series(sched, (s) => s.type === "node" && s.quantity === "flow_mw" && childOf(s.asset, node)), n);
      const net = own.map((v, i) => children[i] - v);
      supply.push(part("grid", pos(net), "from the network"));
      demand.push(part("export", neg(net), "to the network"));
      supply.push(part("unserved", unserved((s) => s.asset === node)));
    }
    return { supply: supply.filter((x) => x[2].some((v) => v > 1e-9)), demand: demand.filter((x) => x[2].some((v) => v > 1e-9)) };
  }
  function childOf(child, parent) {
    return ((current && current.case_nodes) || {})[child] === parent;
  }

  function drWindows() {
    return ((current && current.summary.demand_response) || []).map((e) => e.window_steps);
  }
  // x is time in steps: x = k is the start of step k, x = n the end of the day; a window [a, b) spans x = a to x = b
  const shade = {
    hooks: { drawClear: [(u) => {
      const ctx = u.ctx; ctx.save(); ctx.fillStyle = colour("demand_response"); ctx.globalAlpha = 0.13;
      for (const [a, b] of drWindows()) {
        const x0 = u.valToPos(a, "x", true); const x1 = u.valToPos(b, "x", true);
        ctx.fillRect(x0, u.bbox.top, x1 - x0, u.bbox.height);
      }
      ctx.restore();
    }] },
  };

  // n + 1 labels, one per step boundary: each step's start, then the end of the last step
  function timeLabels(sched) {
    const labels = sched.timestamps.map((t) => t.slice(11, 16));
    const [h, m] = labels[labels.length - 1].split(":").map(Number);
    const end = (h * 60 + m + current.summary.step_minutes) % 1440;
    labels.push(`${String(Math.floor(end / 60)).padStart(2, "0")}:${String(end % 60).padStart(2, "0")}`);
    return labels;
  }
  // a step's value (power, price) drawn from the step's start, the last one held to the end of the day
  const held = (values) => [...values, values[values.length - 1]];
  // end-of-step levels (state of charge, thermal level) drawn at the step's end, after the initial level
  const ends = (values, initial) => [initial == null ? null : initial, ...values];

  function makeChart(el, labels, lines, opts) {
    el.innerHTML = "";
    const n = labels.length - 1;  // steps; x runs over the n + 1 step boundaries 0 … n
    const x = Array.from({ length: n + 1 }, (_, i) => i);
    const width = Math.max(el.clientWidth - 4, 300);
    const axisStroke = "#8a9aab"; const grid = { stroke: "#2a3643", width: 1 };
    const chart = new uPlot({
      width, height: (opts && opts.height) || 220,
      plugins: [shade],
      scales: { x: { time: false, range: () => [0, n] }, ...((opts && opts.range) ? { y: { range: () => opts.range } } : {}) },
      axes: [
        { stroke: axisStroke, grid, values: (u, ticks) => ticks.map((i) => labels[Math.round(i)] || "") },
        { stroke: axisStroke, grid, size: 60 },
      ],
      legend: { live: true },
      series: [{ label: "time", value: (u, v) => (v == null ? "" : labels[Math.round(v)]) }, ...lines.map((l) => l.opts)],
    }, [x, ...lines.map((l) => l.data)], el);
    charts.push(chart);
    return chart;
  }

  function stacked(parts, sign) {
    // cumulative sums, drawn from the outermost band inwards so each band shows its own share
    const out = []; let acc = null;
    for (const [label, color, values] of parts) {
      acc = acc ? acc.map((v, i) => v + values[i]) : values.slice();
      out.push({ opts: { label, stroke: color, fill: color + "cc", width: 1, points: { show: false }, value: (u, v, si, i) => (i == null ? "" : (sign * values[Math.min(i, values.length - 1)]).toFixed(1)) },
                 data: held(acc.map((v) => sign * v)) });
    }
    return out.reverse();
  }

  function draw() {
    charts.forEach((c) => c.destroy()); charts = [];
    if (window.vppUncertainty) window.vppUncertainty.render($("uncertainty"), current.summary, makeChart);
    const sched = current.schedule; const labels = timeLabels(sched);
    const b = balance(sched, $("node").value);
    makeChart($("chart-balance"), labels, [...stacked(b.supply, 1), ...stacked(b.demand, -1)], { height: 300 });
    // every store as a share of its capacity [%], as in dispatch.png; the legend also gives MWh (MWh_th)
    const levels = series(sched, (s) => s.quantity === "soc_mwh" || s.quantity === "level_mwh_th");
    const stores = (current && current.case_stores) || {};
    const batteries = levels.filter((s) => s.quantity === "soc_mwh").map((s) => s.asset);
    const storage = levels.map((s) => {
      const store = stores[s.asset]; const thermal = s.quantity === "level_mwh_th";
      const unit = thermal ? "MWh_th" : "MWh";
      const pct = (v) => (v == null || !store || !(store.capacity > 0) ? null : 100 * v / store.capacity);
      const mwh = ends(s.values, store ? store.initial : null);
      return {
        opts: { label: s.asset + (thermal ? " (thermal)" : ""), dash: thermal ? [6, 4] : undefined, width: 2, points: { show: false },
                stroke: thermal ? colour("thermal_storage") : P.batteries[batteries.indexOf(s.asset) % P.batteries.length],
                value: (u, v, si, i) => (v == null || i == null ? "" : `${v.toFixed(0)} % (${mwh[i].toFixed(1)} ${unit})`) },
        data: mwh.map(pct) };
    });
    makeChart($("chart-storage"), labels, storage, { range: [0, 100] });
    const price = series(sched, (s) => s.asset === "grid" && (s.quantity === "buy_cny_per_mwh" || s.quantity === "sell_cny_per_mwh"))
      .filter((s) => s.values.some((v) => v)).map((s) => ({
        opts: { label: label(s.quantity === "buy_cny_per_mwh" ? "buy" : "sell"), stroke: colour(s.quantity === "buy_cny_per_mwh" ? "buy" : "sell"), width: 2, points: { show: false }, paths: uPlot.paths.stepped({ align: 1 }) },
        data: held(s.values) }));
    makeChart($("chart-prices"), labels, price);
  }

  // a time span of the day: "HH:MM–HH:MM", the end of the day as 24:00 (a whole day reads 00:00–24:00)
  function span(from, to) {
    const day = (iso) => iso.slice(0, 10); const clock = (iso) => iso.slice(11, 16);
    const end = clock(to) === "00:00" && day(to) > day(from) ? "24:00" : clock(to);
    return `${clock(from)}–${end}`;
  }

  function summaryTable(s) {
    const rows = [];
    const fmt = (v, d) => (v == null ? "–" : Number(v).toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d }));
    rows.push(["status", `${s.status} (gap ${s.mip_gap == null ? "–" : Number(s.mip_gap).toExponential(1)})`]);
    rows.push(["total cost [CNY]", fmt(s.objective_cny, 0)]);
    // the day as the bill reads it (energy, maximum demand, demand response, deviations, green premium, ...)
    const bill = s.bill_cny || {};
    for (const [k, v] of Object.entries(bill)) {
      if (k !== "total_cny" && Math.abs(v) > 0.5) rows.push([`  ${P.bill[k] || costLabel(k.replace(/_cny$/, ""))} [CNY]`, fmt(v, 0)]);
    }
    if (!s.bill_cny) for (const [k, v] of Object.entries(s.cost_cny)) if (k !== "total" && Math.abs(v) > 0.5) rows.push([`  ${costLabel(k)} [CNY]`, fmt(v, 0)]);
    if (s.emission_factor) rows.push(["emission factor", s.emission_factor]);
    const e = s.energy_mwh;
    rows.push(["consumption [MWh]", fmt(e.consumption_mwh, 1)]);
    rows.push(["import / export [MWh]", `${fmt(e.import_mwh, 1)} / ${fmt(e.export_mwh, 1)}`]);
    rows.push(["PV used / available [MWh]", `${fmt(e.pv_used_mwh, 1)} / ${fmt(e.pv_available_mwh, 1)}`]);
    rows.push(["storage charge / discharge [MWh]", `${fmt(e.battery_charge_mwh, 1)} / ${fmt(e.battery_discharge_mwh, 1)}`]);
    rows.push(["unserved [MWh]", fmt(e.unserved_mwh, 3)]);
    rows.push(["emissions [tCO2]", fmt(s.emissions_t, 1)]);
    rows.push(["renewable share", s.renewable_share == null ? "–" : (100 * s.renewable_share).toFixed(1) + " %"]);
    rows.push(["peak import [MW]", fmt(s.peak_import_mw, 1)]);
    for (const ev of s.demand_response) rows.push([`DR ${ev.id} ${span(ev.from, ev.to)}`, `${ev.joined ? "joined" : "not joined"}, ${fmt(ev.delivered_mwh, 1)} of ${fmt(ev.requested_mwh, 1)} MWh`]);
    rows.push(["solve time [s]", fmt(s.build_seconds + s.handover_seconds + s.solve_seconds, 3)]);
    const table = $("summary"); table.innerHTML = "";
    for (const [k, v] of rows) {
      const tr = table.insertRow(); tr.insertCell().textContent = k; const td = tr.insertCell(); td.textContent = v; td.className = "num";
    }
    // what went unmet, with its times from the summary's periods; then any other message
    const lines = (s.unserved || []).map((u) => {
      const when = u.periods.map((p) => span(p.from, p.to)).join(", ");
      if (u.kind === "unserved_electric") return `unserved energy at node ${u.where}: ${fmt(u.energy_mwh, 3)} MWh (max ${fmt(u.max_mw, 3)} MW) during ${when}`;
      if (u.kind === "unserved_thermal") return `unserved thermal demand at ${u.where}: ${fmt(u.energy_mwh_th, 3)} MWh_th during ${when}`;
      return `demand-response shortfall in event ${u.where}: ${fmt(u.energy_mwh, 3)} MWh during ${when}`;
    });
    const msgs = $("messages"); msgs.innerHTML = "";
    for (const m of [...lines, ...s.messages.slice((s.unserved || []).length)]) {
      const li = document.createElement("li"); li.textContent = m; msgs.appendChild(li);
    }
  }

  async function downloadCsv(ev) {
    ev.preventDefault();
    if (!current) return;
    const res = await fetch(`/v1/schedules/${current.id}/curve.csv`, { headers: { Authorization: "Bearer " + token() } });
    if (!res.ok) { status(`CSV: HTTP ${res.status}`, "error"); return; }
    const blob = await res.blob();
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob); a.download = `${current.case}-${current.date}-curve.csv`;
    document.body.appendChild(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  }

  async function refreshRecent() {
    if (!token()) return;
    const { res, body } = await api("/v1/schedules?limit=10");
    if (res.status !== 200) return;
    const tbody = $("recent").tBodies[0]; tbody.innerHTML = "";
    for (const it of body.items) {
      const tr = tbody.insertRow();
      [String(it.created_at).slice(0, 19).replace("T", " "), it.case, it.date, it.status, Math.round(it.objective_cny).toLocaleString("en-US")]
        .forEach((v) => { tr.insertCell().textContent = v; });
      tr.addEventListener("click", () => show(it.id));
    }
  }

  async function loadCaseNodes() {
    if (!current) return;
    const { res, body } = await api(`/v1/schedules/${current.id}/case`);
    if (res.status !== 200) return;
    if (body.network) {
      const root = body.network.root || "grid";
      current.case_nodes = {};
      for (const n of body.network.nodes || []) current.case_nodes[n.id] = n.parent || root;
    }
    current.case_stores = {};  // each store's capacity and level at the start of the day [MWh, MWh_th]
    for (const a of body.assets || []) {
      if (a.type === "battery") current.case_stores[a.id] = { capacity: a.energy_mwh, initial: a.soc_initial == null ? null : a.soc_initial * a.energy_mwh };
      if (a.type === "thermal_storage") current.case_stores[a.id] = { capacity: a.capacity_mwh_th, initial: a.level_initial == null ? null : a.level_initial * a.capacity_mwh_th };
    }
    const notes = (body.meta && body.meta.assumptions) || [];
    $("assumptions").textContent = notes.length ? "Assumed: " + notes.join("; ") : "";
  }

  $("token-form").addEventListener("submit", (ev) => { ev.preventDefault(); localStorage.setItem(TOKEN_KEY, $("token").value.trim()); showToken(); refreshRecent(); });
  $("request-form").addEventListener("submit", request);
  $("case").addEventListener("change", () => { const f = $("case").value === "file"; $("file-label").hidden = !f; $("date-label").hidden = f; $("date").required = !f; $("scenarios-label").hidden = f; $("risk-label").hidden = f; });
  $("node").addEventListener("change", () => current && draw());
  $("csv").addEventListener("click", downloadCsv);
  window.addEventListener("resize", () => current && draw());
  const origShow = show;
  show = async function (id) { await origShow(id); await loadCaseNodes(); if (current) draw(); if (current && window.VPP_OUTAGE) window.VPP_OUTAGE.show(current); };  // eslint-disable-line no-func-assign
  $("date").value = tomorrow();
  showToken();
  refreshRecent();
})();
