"""The grid connection (model.md §3) and the network balance (§2).

Grid connection, at the root (per step t, MW unless stated):

=============  =============================================================
imp, exp       import from / export to the public grid, 0 ≤ imp ≤ I[t], 0 ≤ exp ≤ X[t]
y              binary: 1 = importing (at the steps where both I[t] and X[t] are positive)
G              Σ_k g[k]: green purchases, arriving through imp (G ≤ imp)
e              emissions [tCO2] = emission[t]·(imp − G)·Δ
peak           the billing period's maximum demand [MW] ≥ imp[t], ≥ P̂ (with a demand charge c); one
               column for all the days of a billing period when several share it (storage sizing)
x_dd           demand above 105 % of the declared demand Dd [MW] ≥ peak − 1.05·Dd, ≥ 0
D              the declared net-import plan [MW]: grid.schedule_mw, or a first-stage column
dev⁺, dev⁻     net import above / below the plan beyond the tolerance ε [MW] ≥ 0
=============  =============================================================

imp ≤ I·y,  exp ≤ X·(1 − y);  G ≤ imp
energy cost   Σ Δ·buy·(imp − G);  export −Σ Δ·sell·exp;  carbon carbon_price·Σ e
demand charge c·(peak − P̂)                        (no declaration)
              2c·(x_dd − max(0, P̂ − 1.05·Dd))     (declared maximum demand)
deviations    dev⁺ ≥ net − D − ε,  dev⁻ ≥ D − net − ε;  cost Σ Δ·(c⁺·dev⁺ + c⁻·dev⁻)

A step where I[t] = X[t] = 0 is an outage: the district runs islanded.

With frequency regulation (§5.4) the connection carries the aggregate band Rg:
net + Rg ≤ I[t],  net − Rg ≥ −X[t].

Network: every non-root node n has a branch to its parent carrying f[n,t],
positive upwards, −capacity ≤ f ≤ export_capacity; unserved energy u[n,t] ≥ 0
at every node and the root, at cost voll:

- non-root node: Σ_{a at n} inj[a,t] + Σ_{c child of n} f[c,t] + u[n,t] − f[n,t] = 0
- root: imp[t] − exp[t] + Σ_{a at root} inj[a,t] + Σ_{c child of root} f[c,t] + u[root,t] = 0

With frequency regulation (§5.4) every limited branch carries the band of the
regulating batteries A(n) in its subtree: f[n] + Σ_{b∈A(n)} r[b] ≤ export_capacity_n and
f[n] − Σ_{b∈A(n)} r[b] ≥ −capacity_n.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from models.declare import Block, Element, Horizon, Lin, amount


def declare_grid(m: Block, h: Horizon) -> None:
    """The grid connection (§3): exchange, green energy through it, energy, carbon, demand and deviation costs."""
    case, dt = h.case, h.dt
    grid = case.grid
    imax, emax = h.series(grid.import_max_mw), h.series(grid.export_max_mw)
    imp = m.var("imp", 0.0, imax, explain=lambda t: f"grid.import_max_mw is {amount(imax[t])} MW at {h.when(t)}")
    exp = m.var("exp", 0.0, emax, explain=lambda t: f"grid.export_max_mw is {amount(emax[t])} MW at {h.when(t)}")
    both = np.flatnonzero((imax > 0) & (emax > 0))
    if both.size and m.exclusive(imp.take(both), exp.take(both)):
        y = m.var("y", n=both.size, binary=True, index=both.tolist())
        m.add("import_if_y", imp.take(both) <= imax[both] * y, index=both.tolist())
        m.add("export_if_not_y", exp.take(both) <= emax[both] * (1 - y), index=both.tolist())
    greens = m.ports("green")
    G = m.port_sum("green")
    if greens:
        m.add("green_via_import", G <= imp)
    buy = h.series(grid.buy_cny_per_mwh)
    sell = h.series(grid.sell_cny_per_mwh)
    emission = h.series(grid.emission_t_per_mwh)
    grid_energy = imp - G
    emissions = emission * dt * grid_energy
    net = imp - exp
    m.cost("energy", dt * buy * grid_energy)
    m.cost("export", -dt * sell * exp)
    m.cost("carbon", case.carbon_price_cny_per_t * emissions)
    m.port("exchange", net)
    m.port("export", exp)
    m.port("emissions", emissions)
    if m.ports("regulation"):
        band = m.port_sum("regulation")
        m.add("regulation_import_headroom", net + band <= imax)
        m.add("regulation_export_headroom", net - band >= -emax)

    c = grid.demand_charge_cny_per_mw
    if c > 0:
        p_hat = grid.peak_to_date_mw
        billing = h.billing
        if billing is None:
            peak, new = m.var("peak", p_hat, np.inf, n=1), True
        else:  # one peak for every day of the billing period (storage sizing's days of a month)
            peak, new = m.shared("peak", billing, p_hat)
        m.add("peak_def", peak >= imp)
        if new:
            if grid.declared_demand_mw is None:
                m.cost("demand", c * (peak - p_hat), shared=billing)
            else:
                limit = 1.05 * grid.declared_demand_mw
                over, _ = (m.var("over_declared", n=1), True) if billing is None else m.shared("over_declared", billing)
                m.add("over_declared_def", over >= peak - limit)
                m.cost("demand", 2 * c * (over - max(0.0, p_hat - limit)), shared=billing)
        m.output("peak_mw", peak, table=False)

    if grid.deviation is not None:
        dev = grid.deviation
        if grid.schedule_mw is not None:
            plan: Any = h.series(grid.schedule_mw)
        else:
            base = h.base.grid
            plan = m.var("plan", -h.series(base.export_max_mw), h.series(base.import_max_mw), first_stage=True)
        eps = h.series(dev.tolerance_mw)
        short = m.var("dev_short")
        long = m.var("dev_long")
        m.add("dev_short_def", short >= net - plan - eps)
        m.add("dev_long_def", long >= plan - net - eps)
        m.cost("deviation", dt * (h.series(dev.short_cny_per_mwh) * short + h.series(dev.long_cny_per_mwh) * long))
        m.output("plan_mw", plan)
        m.output("deviation_short_mw", short)
        m.output("deviation_long_mw", long)

    m.output("net_import_mw", net)  # the day's 96-point curve of net import (the declared plan day-ahead)
    m.output("import_mw", imp, total="import_mwh")
    m.output("export_mw", exp, total="export_mwh")
    m.output("green_mw", G)
    m.output("grid_energy_mw", grid_energy, total="grid_energy_mwh")
    m.output("emissions_t", emissions)
    m.output("buy_cny_per_mwh", buy)
    m.output("sell_cny_per_mwh", sell)


def declare_network(m: Block, h: Horizon) -> None:
    """Branch flows, unserved energy and the balance of every node (§2)."""
    case, N = h.case, h.steps
    root = case.network.root
    nodes = case.network.nodes
    names = [root, *(n.id for n in nodes)]
    index = {n: i for i, n in enumerate(names)}
    K = len(names)

    lo = np.repeat([-n.capacity_mw if n.capacity_mw is not None else -np.inf for n in nodes], N)
    up = np.repeat([n.up_limit_mw if n.up_limit_mw is not None else np.inf for n in nodes], N)
    def branch(j: int) -> str:
        node = nodes[j // N]
        return (f"the branch of node {node.id!r} carries at most {amount(node.capacity_mw or np.inf)} MW down and "
                f"{amount(node.up_limit_mw if node.up_limit_mw is not None else np.inf)} MW up at {h.when(j % N)}")

    f = m.var("f", lo, up, n=(K - 1) * N, index=(names[1:], range(N)), explain=branch)
    u = m.var("u", n=K * N, index=(names, range(N)))

    # One balance row per node and step, root first: position index[node]·N + t.
    t = h.t
    parts = [u, m.port_sum("exchange").remap(t, K * N)]
    for block, inj in m.ports("injection"):
        parts.append(inj.remap(index[block.element.node] * N + t, K * N))
    if K > 1:
        own = (np.arange(1, K)[:, None] * N + t).ravel()
        parent = (np.array([index[case.parent_of(n)] for n in nodes])[:, None] * N + t).ravel()
        parts.append(-f.remap(own, K * N))
        parts.append(f.remap(parent, K * N))
    m.add("node_balance", Lin.stack(parts, K * N) == 0, index=(names, range(N)))
    m.cost("unserved", case.voll_cny_per_mwh * h.dt * u)

    bands = m.ports("regulation")
    if bands and K > 1:
        parent = {n.id: case.parent_of(n) for n in nodes}
        below: dict[str, list[Lin]] = {n.id: [] for n in nodes}
        for block, r in bands:  # each band counts on every branch between its node and the root
            at = block.element.node
            while at != root:
                below[at].append(r)
                at = parent[at]
        for i, n in enumerate(nodes):
            if not below[n.id]:
                continue
            flow = f.take(np.arange(i * N, (i + 1) * N))
            band = Lin.stack(below[n.id], N)
            if n.up_limit_mw is not None:
                m.add(f"regulation_up_headroom[{n.id}]", flow + band <= n.up_limit_mw)
            if n.capacity_mw is not None:
                m.add(f"regulation_down_headroom[{n.id}]", flow - band >= -n.capacity_mw)

    for i, n in enumerate(names):
        element = Element(n, "node", n)
        if i > 0:
            m.output("flow_mw", f.take(np.arange((i - 1) * N, i * N)), element=element)
        m.output("unserved_mw", u.take(np.arange(i * N, (i + 1) * N)), element=element, total="unserved_mwh",
                 unmet="unserved_electric")
