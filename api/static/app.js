// The scheduling service's page: token kept in localStorage, schedules requested and drawn with uPlot.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const TOKEN_KEY = "vpp.token";
  const COLORS = { pv: "#f5c542", battery: "#3fa7ff", network: "#7f8c9a", unserved: "#ff4d4d", green: "#5bd68f",
    load: "#c678dd", flexible_load: "#e06c9f", curtailable_load: "#d19a66", shiftable_load: "#56b6c2",
    thermal_storage: "#61afef", charge: "#2b6fb3", export: "#98c379" };
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
    }
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
    const s = body.summary;
    status(`Schedule ${body.id}: ${s.status}`, s.unserved.length ? "error" : "ok");
    $("result").hidden = false;
    $("result-title").textContent = `${body.case} · ${body.date} · ${s.steps} × ${s.step_minutes} min`;
    fillNodes(body);
    draw();
    summaryTable(s);
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

  // Supply and demand at a node (or the whole district): stacked areas up and down.
  function balance(sched, node) {
    const n = sched.timestamps.length;
    const at = (type, q) => series(sched, (s) => s.type === type && s.quantity === q && (!node || s.node === node));
    const supply = []; const demand = [];
    supply.push(["PV", COLORS.pv, sum(at("pv", "power_mw"), n)]);
    supply.push(["storage discharge", COLORS.battery, sum(at("battery", "discharge_mw"), n)]);
    demand.push(["storage charge", COLORS.charge, sum(at("battery", "charge_mw"), n)]);
    for (const t of ["load", "flexible_load", "curtailable_load", "shiftable_load", "thermal_storage"]) {
      const v = sum(at(t, "consumption_mw"), n);
      if (v.some((x) => x > 1e-9)) demand.push([t.replace("_", " "), COLORS[t], v]);
    }
    if (!node) {
      const grid = (q) => sum(series(sched, (s) => s.asset === "grid" && s.quantity === q), n);
      const green = grid("green_mw"); const imp = grid("import_mw");
      supply.push(["grid import", COLORS.network, imp.map((v, i) => v - green[i])]);
      supply.push(["green contracts", COLORS.green, green]);
      demand.push(["export", COLORS.export, grid("export_mw")]);
      supply.push(["unserved", COLORS.unserved, sum(series(sched, (s) => s.type === "node" && s.quantity === "unserved_mw"), n)]);
    } else {
      // net flow into the node: children's flows (upwards) minus its own branch flow (upwards)
      const own = sum(series(sched, (s) => s.type === "node" && s.quantity === "flow_mw" && s.asset === node), n);
      const children = sum(series(sched, (s) => s.type === "node" && s.quantity === "flow_mw" && childOf(s.asset, node)), n);
      const net = own.map((v, i) => children[i] - v);
      supply.push(["from the network", COLORS.network, pos(net)]);
      demand.push(["to the network", COLORS.export, neg(net)]);
      supply.push(["unserved", COLORS.unserved, sum(series(sched, (s) => s.type === "node" && s.quantity === "unserved_mw" && s.asset === node), n)]);
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
      const ctx = u.ctx; ctx.save(); ctx.fillStyle = "rgba(255, 170, 60, 0.13)";
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
      scales: { x: { time: false, range: () => [0, n] } },
      axes: [
        { stroke: axisStroke, grid, values: (u, ticks) => ticks.map((i) => labels[Math.round(i)] || "") },
        { stroke: axisStroke, grid, size: 60 },
        ...((opts && opts.right) ? [{ scale: opts.right, side: 1, stroke: axisStroke, grid: { show: false }, size: 60,
                                      label: opts.rightLabel, labelSize: 16 }] : []),
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
    const sched = current.schedule; const labels = timeLabels(sched);
    const b = balance(sched, $("node").value);
    makeChart($("chart-balance"), labels, [...stacked(b.supply, 1), ...stacked(b.demand, -1)], { height: 300 });
    // batteries [MWh] on the left axis; thermal stores [MWh_th], often far larger, on the right one
    const levels = series(sched, (s) => s.quantity === "soc_mwh" || s.quantity === "level_mwh_th");
    const thermal = levels.some((s) => s.quantity === "level_mwh_th");
    const storage = levels.map((s, i) => ({
      opts: { label: s.asset + (s.quantity === "level_mwh_th" ? " [MWh_th, right]" : ""),
              scale: s.quantity === "level_mwh_th" ? "th" : "y", dash: s.quantity === "level_mwh_th" ? [6, 4] : undefined,
              stroke: ["#3fa7ff", "#5bd68f", "#f5c542", "#c678dd", "#56b6c2", "#e06c9f", "#d19a66"][i % 7], width: 2, points: { show: false } },
      data: ends(s.values, ((current && current.case_levels) || {})[s.asset]) }));
    makeChart($("chart-storage"), labels, storage, thermal ? { right: "th", rightLabel: "MWh_th" } : undefined);
    const price = series(sched, (s) => s.asset === "grid" && (s.quantity === "buy_cny_per_mwh" || s.quantity === "sell_cny_per_mwh"))
      .filter((s) => s.values.some((v) => v)).map((s) => ({
        opts: { label: s.quantity === "buy_cny_per_mwh" ? "buy" : "sell", stroke: s.quantity === "buy_cny_per_mwh" ? "#ff9f43" : "#98c379", width: 2, points: { show: false }, paths: uPlot.paths.stepped({ align: 1 }) },
        data: held(s.values) }));
    makeChart($("chart-prices"), labels, price);
  }

  function summaryTable(s) {
    const rows = [];
    const fmt = (v, d) => (v == null ? "–" : Number(v).toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d }));
    rows.push(["status", `${s.status} (gap ${s.mip_gap == null ? "–" : Number(s.mip_gap).toExponential(1)})`]);
    rows.push(["total cost [CNY]", fmt(s.objective_cny, 0)]);
    for (const [k, v] of Object.entries(s.cost_cny)) if (k !== "total" && Math.abs(v) > 0.5) rows.push([`  ${k} [CNY]`, fmt(v, 0)]);
    const e = s.energy_mwh;
    rows.push(["consumption [MWh]", fmt(e.consumption_mwh, 1)]);
    rows.push(["import / export [MWh]", `${fmt(e.import_mwh, 1)} / ${fmt(e.export_mwh, 1)}`]);
    rows.push(["PV used / available [MWh]", `${fmt(e.pv_used_mwh, 1)} / ${fmt(e.pv_available_mwh, 1)}`]);
    rows.push(["storage charge / discharge [MWh]", `${fmt(e.battery_charge_mwh, 1)} / ${fmt(e.battery_discharge_mwh, 1)}`]);
    rows.push(["unserved [MWh]", fmt(e.unserved_mwh, 3)]);
    rows.push(["emissions [tCO2]", fmt(s.emissions_t, 1)]);
    rows.push(["renewable share", s.renewable_share == null ? "–" : (100 * s.renewable_share).toFixed(1) + " %"]);
    rows.push(["peak import [MW]", fmt(s.peak_import_mw, 1)]);
    for (const ev of s.demand_response) rows.push([`DR ${ev.id} ${ev.from.slice(11, 16)}–${ev.to.slice(11, 16)}`, `${ev.joined ? "joined" : "not joined"}, ${fmt(ev.delivered_mwh, 1)} of ${fmt(ev.requested_mwh, 1)} MWh`]);
    rows.push(["solve time [s]", fmt(s.build_seconds + s.handover_seconds + s.solve_seconds, 3)]);
    const table = $("summary"); table.innerHTML = "";
    for (const [k, v] of rows) {
      const tr = table.insertRow(); tr.insertCell().textContent = k; const td = tr.insertCell(); td.textContent = v; td.className = "num";
    }
    const msgs = $("messages"); msgs.innerHTML = "";
    for (const m of s.messages) { const li = document.createElement("li"); li.textContent = m; msgs.appendChild(li); }
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
    current.case_levels = {};  // the stores' levels at the start of the day [MWh, MWh_th]
    for (const a of body.assets || []) {
      if (a.type === "battery" && a.soc_initial != null) current.case_levels[a.id] = a.soc_initial * a.energy_mwh;
      if (a.type === "thermal_storage" && a.level_initial != null) current.case_levels[a.id] = a.level_initial * a.capacity_mwh_th;
    }
  }

  $("token-form").addEventListener("submit", (ev) => { ev.preventDefault(); localStorage.setItem(TOKEN_KEY, $("token").value.trim()); showToken(); refreshRecent(); });
  $("request-form").addEventListener("submit", request);
  $("case").addEventListener("change", () => { const f = $("case").value === "file"; $("file-label").hidden = !f; $("date-label").hidden = f; $("date").required = !f; });
  $("node").addEventListener("change", () => current && draw());
  $("csv").addEventListener("click", downloadCsv);
  window.addEventListener("resize", () => current && draw());
  const origShow = show;
  show = async function (id) { await origShow(id); await loadCaseNodes(); if (current) draw(); };  // eslint-disable-line no-func-assign
  $("date").value = tomorrow();
  showToken();
  refreshRecent();
})();
