"""Forecasts of the day ahead: PV, load, their uncertainty, and honest backtests.

Pure functions and small classes, pandas in and out, units in the names
([MW], [W/m2], [°C]). Nothing here imports the optimisation model or knows the
assets it will dispatch; from the ``vpp`` package only the domain modules
(``vpp.case``, ``vpp.timeseries``, ``vpp.errors``) are used.

- :mod:`forecasts.weather`: reading and checking weather forecasts;
- :mod:`forecasts.series`: reading any timestamp/value series;
- :mod:`forecasts.pv`: clear sky and the pvlib weather chain to MW per array;
- :mod:`forecasts.load`: the documented district profile and working-day calendar;
- :mod:`forecasts.model`: the learned day-ahead quantile forecaster (a robust linear model of
  seasonal differences and LightGBM for load, LightGBM for PV; conformal quantiles for load);
- :mod:`forecasts.rules`: the simple rules it is compared with, and the kind-of-day reference;
- :mod:`forecasts.quantiles`, :mod:`forecasts.scenarios`: quantile functions and
  correlated scenarios for a stochastic dispatch;
- :mod:`forecasts.metrics`, :mod:`forecasts.backtest`: scores and rolling-origin backtests;
- :mod:`forecasts.synthetic`: the SYNTHETIC district history shipped in ``forecasts/data``.
"""
