// The district as a microgrid on the page: the request's known outage and backup reserve, the day's
// islanded steps and reserve, and the outage study of the schedule shown (POST /v1/schedules/{id}/outage).
// app.js calls VPP_OUTAGE.extend(body) when it requests a schedule and VPP_OUTAGE.show(schedule) when it shows one.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const P = window.VPP_PALETTE;
  let schedule = null;  // the schedule shown (as GET /v1/schedules/{id} returns it)
  let study = null;     // its outage study, once run
  let charts = [];

  async function api(path, options) {
    const opts = Object.assign({ headers: {} }, options || {});
    opts.headers = Object.assign({ Authorization: "Bearer " + (localStorage.getItem("vpp.token") || "") }, opts.headers);
    const res = await fetch(path, opts);
    const type = res.headers.get("content-type") || "";
    return { res, body: type.includes("json") ? await res.json() : await res.text() };
  }
  function element(html) { const t = document.createElement("template"); t.innerHTML = html.trim(); return t.content.firstChild; }
  function status(text, kind) { const el = $("outage-status"); el.textContent = text; el.className = kind || "muted"; }
  const fmt = (v, d) => (v == null ? "–" : Number(v).toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d }));

  // ---- the request: two inputs before the form's button ------------------------------------
  const form = $("request-form");
  form.insertBefore(element('<label>Outage <input id="outage" placeholder="HH:MM-HH:MM" size="11" autocomplete="off"></label>'), $("request"));
  form.insertBefore(element('<label>Backup reserve [h] <input id="backup-hours" type="number" step="any" min="0" style="width:5em"></label>'), $("request"));

  function extend(body) {
    const window_ = $("outage").value.trim();
    if (window_) body.outage = window_;
    const hours = $("backup-hours").value;
    if (hours !== "") body.backup_hours = parseFloat(hours);
  }

  // ---- the panel, after the summary ----------------------------------------------------------
  $("result").appendChild(element(`<section id="outage-study" hidden>
    <h3>Outages</h3>
    <p id="outage-facts" class="muted"></p>
    <form id="outage-form" class="controls">
      <label>Outages up to [h] <input id="outage-hours" type="number" step="any" min="0" value="4" style="width:5em"></label>
      <label>Compare with a reserve of [h] <input id="outage-reserve" type="number" step="any" min="0" style="width:5em"></label>
      <button type="submit" id="outage-run">Simulate outages</button>
    </form>
    <div id="outage-status" class="muted">An outage of the supply point starting at every step: is the critical load carried, and what would it cost?</div>
    <div class="grid" id="outage-charts" hidden>
      <div class="panel"><h3>Start times whose critical load is carried [%]</h3><div id="chart-survival" class="chart"></div></div>
      <div class="panel"><h3>Critical energy at risk by start time [MWh]</h3><div id="chart-at-risk" class="chart"></div></div>
    </div>
    <p id="outage-cost"></p>
    <table id="outage-table"></table>
  </section>`));

  function series(quantity) {
    const s = schedule.schedule.series.find((x) => x.asset === "backup" && x.quantity === quantity);
    return s ? s.values : null;
  }

  async function show(current) {
    schedule = current; study = null;
    charts.forEach((c) => c.destroy()); charts = [];
    $("outage-charts").hidden = true; $("outage-table").innerHTML = ""; $("outage-cost").textContent = "";
    status("An outage of the supply point starting at every step: is the critical load carried, and what would it cost?");
    const { res, body: c } = await api(`/v1/schedules/${current.id}/case`);
    if (res.status !== 200 || schedule !== current) return;
    const facts = [];
    const out = (c.meta || {}).outage;
    if (out) facts.push(`Islanded ${out.window} (steps ${out.steps[0]}–${out.steps[1] - 1}): no import or export.`);
    const required = series("required_mwh"); const held = series("held_mwh");
    if (c.backup_hours != null && required) {
      const binding = required.filter((v, i) => held[i] - v <= 1e-6 * Math.max(1, Math.max(...required))).length;
      facts.push(`The backup reserve ${c.backup_hours} h: the batteries hold up to ${fmt(Math.max(...required), 1)} MWh for the critical load; it binds at ${binding} of ${required.length} steps.`);
    }
    $("outage-facts").textContent = facts.join(" ");
    $("outage-reserve").value = c.backup_hours == null ? "" : c.backup_hours;
    $("outage-study").hidden = false;
  }

  async function run(ev) {
    ev.preventDefault();
    if (!schedule) return;
    const body = { hours: parseFloat($("outage-hours").value) };
    const reserve = $("outage-reserve").value;
    if (reserve !== "") body.backup_hours = parseFloat(reserve);
    $("outage-run").disabled = true;
    status("Simulating outages…");
    try {
      const { res, body: job } = await api(`/v1/schedules/${schedule.id}/outage`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      if (res.status !== 202) {
        const problems = ((job && job.problems) || []).map((p) => `${p.path}: ${p.message}`).join("; ");
        status(`${res.status}: ${(job && job.message) || "refused"}${problems ? " (" + problems + ")" : ""}`, "error");
        return;
      }
      for (let i = 0; i < 3600; i++) {
        const { res: r, body: j } = await api(job.links.job);
        if (r.status !== 200) { status(`HTTP ${r.status}`, "error"); return; }
        if (j.status === "done") { study = j.result; draw(); status(`Outages simulated from each of the ${study.steps} steps.`, "ok"); return; }
        if (j.status === "failed") { status("No study: " + j.reason, "error"); return; }
        status(`Outage study ${j.status}…`);
        await new Promise((r2) => setTimeout(r2, 1000));
      }
    } catch (e) { status("Request failed: " + e.message, "error"); }
    finally { $("outage-run").disabled = false; }
  }

  const colour = (v) => (v.backup_hours == null ? P.series.grid.colour : P.series.battery_discharge.colour);

  // x: outage length [h] (labels null) or step boundaries labelled with their times; yRange: fixed y range
  function chart(el, x, lines, labels, yRange) {
    el.innerHTML = "";
    const axis = { stroke: "#8a9aab", grid: { stroke: "#2a3643", width: 1 } };
    const steps = labels ? { incrs: [1, 2, 3, 4, 6, 8, 12, 16, 24, 48, 96], values: (u, ticks) => ticks.map((i) => labels[Math.round(i)] || "") } : {};
    const c = new uPlot({
      width: Math.max(el.clientWidth - 4, 300), height: 220,
      scales: { x: { time: false }, ...(yRange ? { y: { range: () => yRange } } : {}) },
      axes: [Object.assign({}, axis, steps), Object.assign({ size: 60 }, axis)],
      series: [{ label: labels ? "start" : "hours", value: (u, v) => (v == null ? "" : labels ? labels[Math.round(v)] : v) }, ...lines.map((l) => l.opts)],
    }, [x, ...lines.map((l) => l.data)], el);
    charts.push(c);
  }

  function draw() {
    if (!study) return;
    charts.forEach((c) => c.destroy()); charts = [];
    $("outage-charts").hidden = false;
    const stepped = uPlot.paths.stepped({ align: 1 });
    const hours = [0, ...study.variants[0].curve.map((p) => p.length_hours)];
    chart($("chart-survival"), hours, study.variants.map((v) => ({
      opts: { label: v.label, stroke: colour(v), width: 2, points: { show: false }, paths: stepped },
      data: [100, ...v.curve.map((p) => 100 * p.share_survived)] })), null, [0, 100]);
    const stamps = schedule.schedule.timestamps.map((t) => t.slice(11, 16));
    const [h, m] = stamps[stamps.length - 1].split(":").map(Number);
    const end = h * 60 + m + schedule.summary.step_minutes;  // the end of the last step; a day's end reads 24:00
    const labels = [...stamps, end % 1440 === 0 ? "24:00" : `${String(Math.floor(end / 60) % 24).padStart(2, "0")}:${String(end % 60).padStart(2, "0")}`];
    const x = labels.map((_, i) => i);
    chart($("chart-at-risk"), x, study.variants.map((v) => {
      const risk = v.critical_at_risk_mwh_by_step;
      return { opts: { label: v.label, stroke: colour(v), width: 2, points: { show: false }, paths: stepped }, data: [...risk, risk[risk.length - 1]] };
    }), labels, null);
    table();
  }

  function table() {
    const t = $("outage-table"); t.innerHTML = "";
    const row = (cells, head) => { const tr = t.insertRow(); cells.forEach((c, i) => { const td = document.createElement(head ? "th" : "td"); td.textContent = c; if (i) td.className = "num"; tr.appendChild(td); }); };
    const vs = study.variants;
    row(["", ...vs.map((v) => v.label)], true);
    row(["day's cost [CNY]", ...vs.map((v) => fmt(v.objective_cny, 0))]);
    vs[0].curve.forEach((p, i) => {
      if (i === 0 || Math.abs(p.length_hours - Math.round(p.length_hours)) < 1e-9) {
        row([`carried through ${p.length_hours} h`, ...vs.map((v) => `${Math.round(100 * v.curve[i].share_survived)} %`)]);
      }
    });
    row(["mean time carried [h]", ...vs.map((v) => fmt(v.mean_survived_hours, 2))]);
    row([`critical energy at risk, mean [MWh] (${study.hours} h outage)`, ...vs.map((v) => fmt(v.mean_critical_at_risk_mwh, 1))]);
    row(["outage cost, mean [CNY]", ...vs.map((v) => fmt(v.mean_outage_cost_cny, 0))]);
    let cost = "";
    if (study.reserve_cost_cny != null) {
      cost = `The reserve costs ${fmt(study.reserve_cost_cny, 0)} CNY on the day (± ${fmt(study.reserve_cost_uncertainty_cny, 0)} from the MIP gaps)`;
      const p = study.break_even_outage_probability;
      if (p != null) cost += `; it saves ${fmt(study.outage_cost_saved_cny, 0)} CNY on an outage of ${study.hours} h from a random step, so it pays for itself when the day's chance of such an outage is above ${p <= 1 ? fmt(100 * p, 1) + " %" : "1 (never, on the outage's cost alone)"}.`;
      else cost += ".";
    }
    $("outage-cost").textContent = [cost, ...(study.notes || [])].filter(Boolean).join(" ");
  }

  $("outage-form").addEventListener("submit", run);
  window.addEventListener("resize", () => study && draw());
  window.VPP_OUTAGE = { extend, show };
})();
