"""The district as a microgrid: a day with a known outage, a backup reserve, and what an outage would cost.

- :mod:`vpp.microgrid.islanding`: case transformations (``vpp dispatch --outage``, ``--backup-hours``);
- :mod:`vpp.microgrid.survival`: outages simulated at every step of a solved day (``vpp outage``).
"""

from vpp.microgrid.islanding import (
    OutageWindow,
    outage_series,
    parse_outage,
    plan_microgrid,
    with_backup_hours,
    with_outage,
)

__all__ = ["OutageWindow", "outage_series", "parse_outage", "plan_microgrid", "with_backup_hours", "with_outage"]
