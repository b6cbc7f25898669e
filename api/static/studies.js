// The page's settlement and cost–carbon front panels (the jobs of POST /v1/settlements and POST /v1/pareto).
// app.js announces each schedule it shows with the "vpp:schedule" event; everything else is here.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const token = () => localStorage.getItem("vpp.token") || "";
  const fmt = (v, d) => (v == null ? "–" : Number(v).toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d }));
  let schedule = null;  // { id, case, date } of the schedule shown
  const charts = {};

  async function api(path, options) {
    const opts = Object.assign({ headers: {} }, options || {});
    opts.headers = Object.assign({ Authorization: "Bearer " + token() }, opts.headers);
    const res = await fetch(path, opts);
    const type = res.headers.get("content-type") || "";
    return { res, body: type.includes("json") ? await res.json() : await res.text() };
  }

  function say(el, text, kind) { el.textContent = text; el.className = kind || "muted"; }

  function refused(el, res, body) {
    const problems = ((body && body.problems) || []).map((p) => `${p.path}: ${p.message}`).join("; ");
    say(el, `${res.status}: ${(body && body.message) || "refused"}${problems ? " — " + problems : ""}`, "error");
  }

  async function follow(jobId, el) {
    for (let i = 0; i < 3600; i++) {
      const { res, body } = await api("/v1/jobs/" + jobId);
      if (res.status !== 200) { refused(el, res, body); return null; }
      if (body.status === "done") return body;
      if (body.status === "failed") { say(el, "Failed: " + body.reason, "error"); return null; }
      say(el, `Job ${body.status}…`);
      await new Promise((r) => setTimeout(r, 1000));
    }
    return null;
  }

  function chart(id, opts, data) {
    if (charts[id]) charts[id].destroy();
    const el = $(id); el.innerHTML = "";
    const axis = { stroke: "#8a9aab", grid: { stroke: "#2a3643", width: 1 } };
    opts.axes = opts.axes.map((a) => Object.assign({}, axis, a));
    opts.width = Math.max(el.clientWidth - 4, 300);
    charts[id] = new uPlot(opts, data, el);
  }

  function fillTable(table, head, rows) {
    table.innerHTML = "";
    const tr = table.createTHead().insertRow();
    head.forEach((h) => { const th = document.createElement("th"); th.textContent = h; tr.appendChild(th); });
    const body = table.createTBody();
    for (const row of rows) {
      const r = body.insertRow();
      row.forEach((v, i) => { const td = r.insertCell(); if (v instanceof Node) td.appendChild(v); else td.textContent = v; if (i > 0) td.className = "num"; });
    }
  }

  // ---- settlement -------------------------------------------------------------------------------
  async function settle() {
    if (!schedule) return;
    const el = $("settle-status");
    $("settle").disabled = true;
    say(el, "Settling…");
    try {
      const { res, body } = await api("/v1/settlements", { method: "POST", headers: { "Content-Type": "application/json" },
                                                           body: JSON.stringify({ schedule_ids: [schedule.id] }) });
      if (res.status !== 202) { refused(el, res, body); return; }
      const job = await follow(body.job_id, el);
      if (job) showSettlement(job);
    } catch (e) { say(el, "Request failed: " + e.message, "error"); }
    finally { $("settle").disabled = false; }
  }

  async function openStatement(jobId, participant) {
    const { res, body } = await api(`/v1/settlements/${jobId}/statements/${encodeURIComponent(participant)}`);
    if (res.status !== 200) { refused($("settle-status"), res, body); return; }
    const url = URL.createObjectURL(new Blob([body], { type: "text/html" }));
    window.open(url, "_blank");
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  }

  function showSettlement(job) {
    const r = job.result;
    const rows = r.participants.filter((p) => Math.abs(p.net_cny) > 0 || p.participant === "(aggregator)");
    const quiet = r.participants.length - rows.length;
    say($("settle-status"), `Settled: ${fmt(r.total_cny, 2)} CNY in all; every share adds up to the fen: ${r.every_pot_adds_up ? "yes" : "NO"}` +
        (quiet ? `; ${quiet} participant(s) with nothing to settle` : ""), "ok");
    const names = rows.map((p) => p.participant);
    const bar = (key) => rows.map((p) => p[key]);
    chart("chart-settle", {
      height: 240, scales: { x: { time: false, range: [-0.5, names.length - 0.5] },
                            y: { range: (u, lo, hi) => [Math.min(0, lo) * 1.1, Math.max(0, hi) * 1.1 || 1] } },
      axes: [{ values: (u, ticks) => ticks.map((i) => names[Math.round(i)] || ""), splits: () => names.map((_, i) => i), size: 50 },
             { size: 70, label: "CNY" }],
      series: [{ label: "participant", value: (u, v) => (v == null ? "" : names[Math.round(v)]) },
               { label: "net", stroke: "#3fa7ff", fill: "#3fa7ffcc", width: 1, paths: uPlot.paths.bars({ size: [0.6, 60] }), points: { show: false },
                 value: (u, v) => fmt(v, 2) }],
    }, [names.map((_, i) => i), bar("net_cny")]);
    fillTable($("settle-table"), ["participant", "DR revenue [CNY]", "DR penalty [CNY]", "regulation [CNY]", "net [CNY]", "statement"],
      rows.map((p) => {
        let link = "";
        if (p.participant !== "(aggregator)") {
          link = document.createElement("a"); link.href = "#"; link.textContent = "open";
          link.addEventListener("click", (ev) => { ev.preventDefault(); openStatement(job.id, p.participant); });
        }
        return [p.participant, fmt(p.dr_revenue_cny, 2), fmt(p.dr_penalty_cny, 2),
                fmt(p.regulation_capacity_cny + p.regulation_mileage_cny, 2), fmt(p.net_cny, 2), link];
      }));
  }

  // ---- the cost–carbon front -------------------------------------------------------------------------
  async function front(ev) {
    ev.preventDefault();
    const el = $("pareto-status");
    if (!token()) { say(el, "Enter and save a token first.", "error"); return; }
    const body = { points: parseInt($("pareto-points").value, 10) };
    if ($("case").value === "file") {
      const file = $("case-file").files[0];
      if (!file) { say(el, "Choose a case file.", "error"); return; }
      try { body.case = JSON.parse(await file.text()); } catch (e) { say(el, "The file is not JSON: " + e.message, "error"); return; }
    } else { body.template = $("case").value; body.date = $("date").value; }
    $("pareto-run").disabled = true;
    say(el, "Solving the front…");
    try {
      const { res, body: out } = await api("/v1/pareto", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      if (res.status !== 202) { refused(el, res, out); return; }
      const job = await follow(out.job_id, el);
      if (job) showFront(job.result);
    } catch (e) { say(el, "Request failed: " + e.message, "error"); }
    finally { $("pareto-run").disabled = false; }
  }

  function showFront(r) {
    const pts = r.points.slice().sort((a, b) => a.emissions_t - b.emissions_t);
    say($("pareto-status"), `${r.case} ${r.start.slice(0, 10)}: ${r.points.length} points, ` +
        `${fmt(r.points[0].emissions_t - r.points[r.points.length - 1].emissions_t, 2)} tCO2 can be avoided for ` +
        `${fmt(r.points[r.points.length - 1].cost_cny - r.points[0].cost_cny, 0)} CNY; front ${r.monotone ? "monotone" : "NOT monotone"}`, "ok");
    chart("chart-pareto", {
      height: 260, scales: { x: { time: false } },
      axes: [{ label: "emissions [tCO2]", size: 50 }, { size: 80, label: "cost [CNY]" }],
      series: [{ label: "emissions [t]", value: (u, v) => fmt(v, 3) },
               { label: "cost [CNY]", stroke: "#5bd68f", width: 2, points: { show: true, size: 7, fill: "#5bd68f" }, value: (u, v) => fmt(v, 0) }],
    }, [pts.map((p) => p.emissions_t), pts.map((p) => p.cost_cny)]);
    const price = (p) => (p.on_hull ? `${fmt(p.chosen_from_cny_per_t, 1)} – ${p.chosen_to_cny_per_t == null ? "∞" : fmt(p.chosen_to_cny_per_t, 1)}` : "at none");
    fillTable($("pareto-table"), ["point", "emissions [tCO2]", "cost [CNY]", "abated [t]", "MAC [CNY/tCO2]", "chosen at carbon price [CNY/t]"],
      r.points.map((p) => [String(p.point), fmt(p.emissions_t, 3), fmt(p.cost_cny, 0), fmt(p.abated_t, 3),
                           fmt(p.marginal_abatement_cny_per_t, 1), price(p)]));
  }

  window.addEventListener("vpp:schedule", (ev) => {
    schedule = ev.detail;
    $("settle-panel").hidden = false;
    $("settle-title").textContent = `Settlement of ${schedule.case} · ${schedule.date}`;
    say($("settle-status"), "Settle this schedule with its participants (role operator).");
    if (charts["chart-settle"]) { charts["chart-settle"].destroy(); delete charts["chart-settle"]; }
    $("chart-settle").innerHTML = ""; $("settle-table").innerHTML = "";
  });
  $("settle").addEventListener("click", settle);
  $("pareto-form").addEventListener("submit", front);
})();
