// Generated from vpp/palette.py by `python -m vpp.palette`: edit that file, not this one.
window.VPP_PALETTE = {
 "series": {
  "pv": {
   "label": "PV used",
   "colour": "#f2b701"
  },
  "battery_discharge": {
   "label": "battery discharge",
   "colour": "#3cb44b"
  },
  "grid": {
   "label": "grid import",
   "colour": "#8c9aa8"
  },
  "green": {
   "label": "green contracts",
   "colour": "#a5d96a"
  },
  "unserved": {
   "label": "unserved",
   "colour": "#e53935"
  },
  "load": {
   "label": "fixed load",
   "colour": "#5b8ff9"
  },
  "curtailable_load": {
   "label": "curtailable load",
   "colour": "#76b7b2"
  },
  "shiftable_load": {
   "label": "shiftable load",
   "colour": "#c49c6b"
  },
  "flexible_load": {
   "label": "EV / flexible load",
   "colour": "#c678dd"
  },
  "thermal_storage": {
   "label": "chillers / heaters",
   "colour": "#26c6da"
  },
  "battery_charge": {
   "label": "battery charge",
   "colour": "#1e8449"
  },
  "export": {
   "label": "export",
   "colour": "#f28e2b"
  },
  "pv_available": {
   "label": "PV available",
   "colour": "#e37400"
  },
  "buy": {
   "label": "buy price",
   "colour": "#ff7043"
  },
  "sell": {
   "label": "sell price",
   "colour": "#42a5f5"
  },
  "demand_response": {
   "label": "demand-response window",
   "colour": "#ffaa3c"
  },
  "battery_net": {
   "label": "batteries' net power",
   "colour": "#2e7d32"
  },
  "regulation": {
   "label": "regulation band (± offer)",
   "colour": "#ab47bc"
  },
  "power_limit": {
   "label": "batteries' power limits",
   "colour": "#8c9aa8"
  }
 },
 "batteries": [
  "#3cb44b",
  "#4363d8",
  "#f58231",
  "#911eb4",
  "#e6194b",
  "#bcbd22",
  "#9a6324",
  "#808000"
 ],
 "cost_terms": {
  "energy": "grid energy",
  "export": "export revenue",
  "carbon": "carbon price",
  "demand": "demand charge",
  "unserved": "unserved energy (at VOLL)",
  "unserved_thermal": "unserved heating / cooling",
  "degradation": "battery wear",
  "curtailment": "PV curtailment",
  "load_curtailment": "load curtailment",
  "green_energy": "green contracts: energy",
  "green_fixed": "green contracts: fixed fees",
  "dr_revenue": "demand-response payment",
  "dr_penalty": "demand-response shortfall penalty",
  "deviation": "deviation from the declared plan",
  "load_curtailment_start": "load curtailment restarts",
  "thermal_final_shortfall": "thermal store short at the end",
  "regulation_capacity": "regulation capacity payment",
  "regulation_mileage": "regulation mileage payment",
  "cvar": "risk (CVaR) term"
 },
 "bill": {
  "energy_cny": "energy at the time-of-use price",
  "green_premium_cny": "green power premium",
  "maximum_demand_cny": "maximum demand",
  "demand_response_revenue_cny": "demand response paid",
  "demand_response_penalty_cny": "demand response shortfall",
  "deviation_cny": "deviations from the plan",
  "regulation_revenue_cny": "frequency regulation paid",
  "export_revenue_cny": "export paid",
  "carbon_cny": "carbon price",
  "flexibility_cny": "flexibility used (wear, curtailment)",
  "unserved_cny": "not served (at VOLL)",
  "risk_cny": "risk (CVaR) term"
 }
};
