// A stochastic day's panel: the plan's net import in every scenario (the fan) and what the uncertainty is
// worth (VSS, EVPI, the cost distribution), from the summary's "uncertainty" section (vpp.uncertainty).
(function () {
  const P = window.VPP_PALETTE;
  const colour = (role) => P.series[role].colour;
  const cny = (x) => (x == null ? "–" : Math.round(x).toLocaleString("en-US") + " CNY");
  const held = (values) => [...values, values[values.length - 1]];

  function rgba(hex, alpha) {
    const n = parseInt(hex.slice(1), 16);
    return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
  }

  // n + 1 labels: each step's start (local time as written), then the end of the last step
  function labels(timestamps, stepMinutes) {
    const out = timestamps.map((t) => t.slice(11, 16));
    const [h, m] = out[out.length - 1].split(":").map(Number);
    const end = (h * 60 + m + stepMinutes) % 1440;
    out.push(`${String(Math.floor(end / 60)).padStart(2, "0")}:${String(end % 60).padStart(2, "0")}`);
    return out;
  }

  function row(table, name, value, title) {
    const tr = table.insertRow();
    const th = document.createElement("th"); th.textContent = name; if (title) th.title = title;
    const td = tr.insertCell(); tr.prepend(th); td.textContent = value;
  }

  function decisions(plan) {
    const parts = [];
    for (const [id, joined] of Object.entries(plan.demand_response_joined || {})) parts.push(`${id} ${joined ? "joined" : "not joined"}`);
    for (const [id, taken] of Object.entries(plan.green_contracts_taken || {})) parts.push(`${id} ${taken ? "taken" : "not taken"}`);
    for (const [id, start] of Object.entries(plan.shiftable_starts || {})) parts.push(`${id} starts ${start.slice(11, 16)}`);
    return parts.join(", ") || "–";
  }

  function render(el, summary, makeChart) {
    const u = summary.uncertainty;
    el.innerHTML = "";
    el.hidden = !u;
    if (!u) return;
    const head = document.createElement("h3");
    head.textContent = `Under uncertainty: ${u.scenarios.length} scenarios of PV and load — the plan's net import [MW]`;
    const chart = document.createElement("div"); chart.id = "chart-scenarios"; chart.className = "chart";
    const table = document.createElement("table"); table.id = "uncertainty-table";
    el.append(head, chart, table);

    const fan = u.fan.net_import_mw;
    const grey = colour("grid");
    const lines = Object.entries(fan.by_scenario).map(([id, values]) => (
      { opts: { label: id, stroke: rgba(grey, 0.45), width: 1 }, data: held(values) }));
    lines.push({ opts: { label: "10 %", stroke: "#d8e1ea", width: 1, dash: [4, 4] }, data: held(fan.p10) });
    lines.push({ opts: { label: "90 %", stroke: "#d8e1ea", width: 1, dash: [4, 4] }, data: held(fan.p90) });
    lines.push({ opts: { label: "expected", stroke: "#3fa7ff", width: 2 }, data: held(fan.mean) });
    makeChart(chart, labels(u.fan.timestamps, summary.step_minutes), lines, { height: 240 });

    const dist = u.cost_distribution;
    row(table, "objective", u.objective);
    row(table, "stochastic plan", cny(u.stochastic_objective_cny));
    row(table, "expected-value plan on the same scenarios", cny(u.expected_value_plan_objective_cny),
      "the mean day's plan held in every scenario");
    const within = (range, settled) => (settled === false && range && range[0] != null && range[1] != null
      ? ` (between ${cny(range[0])} and ${cny(range[1])} within the solver gaps)` : "");
    const settled = u.settled || {};
    row(table, "value of the stochastic solution (VSS)", u.vss_cny == null ? u.expected_value_plan_note
      : cny(u.vss_cny) + within(u.vss_range_cny, settled.vss));
    row(table, "wait-and-see (perfect information)", cny(u.wait_and_see_cost_cny), "each scenario planned on its own");
    row(table, "expected value of perfect information (EVPI)", cny(u.evpi_cny) + within(u.evpi_range_cny, settled.evpi));
    row(table, "cost over the scenarios", `${cny(dist.stochastic_plan.min_cny)} to ${cny(dist.stochastic_plan.max_cny)}`);
    row(table, `CVaR at ${dist.beta} (worst ${Math.round((1 - dist.beta) * 100)} %)`, cny(dist.stochastic_plan.cvar_cny));
    row(table, "day-ahead decisions (stochastic plan)", decisions(u.first_stage.stochastic_plan));
    row(table, "day-ahead decisions (expected-value plan)", decisions(u.first_stage.expected_value_plan));
  }

  window.vppUncertainty = { render };
})();
