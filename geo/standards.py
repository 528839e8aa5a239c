"""Accessibility standards, named and parameterised in one place.

=================  ============  ===========================================================
name               network       rule
=================  ============  ===========================================================
``walk15``         walk          walking time ≤ 15 min (GB 50180-2018: 15-minute life circle,
                                 800–1,000 m; 4 km/h → 1,000 m)
``ems_distance``   drive         network distance ≤ 3.5 km (plan: average service radius)
``ems_time``       drive         dispatch delay (2 min) + drive time ≤ 12 min (plan: response)
``straight_line``  none          straight-line distance ≤ 3.5 km — *straight line, not a
                                 network reach*: the plan's "service radius" read literally
=================  ============  ===========================================================

Which facility types count is configurable: walk15 counts basic-level community facilities,
the EMS standards count ambulance substations (and, on the pack, which has none, the
emergency department as a stand-in only if the planner asks for it).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

from geo._errors import StandardError
from geo.facilities import BASIC_LEVEL_TYPES, FACILITY_TYPES

Mode = Literal["walk", "drive", "none"]
Cost = Literal["time_s", "length_m", "euclidean_m"]


@dataclass(frozen=True)
class Standard:
    """One accessibility standard.

    ``limit`` is in the unit of ``cost`` (seconds or metres) and already net of any dispatch delay.
    """

    name: str
    label_en: str
    label_zh: str
    mode: Mode
    cost: Cost
    limit: float
    facility_types: tuple[str, ...]
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def straight_line(self) -> bool:
        """True for the straight-line radius, which is not a network reach."""
        return self.cost == "euclidean_m"

    def describe(self) -> str:
        """One line a planner reads: what is measured, on what, against which limit."""
        return f"{self.name}: {self.label_en} (types: {', '.join(self.facility_types)})"


def make_standard(
    name: str,
    *,
    minutes: float | None = None,
    km: float | None = None,
    dispatch_delay_minutes: float = 2.0,
    facility_types: tuple[str, ...] | None = None,
) -> Standard:
    """Build a standard by name with optional parameters.

    Parameters
    ----------
    name
        ``walk15``, ``ems_distance``, ``ems_time`` or ``straight_line``.
    minutes
        Time limit for ``walk15`` (default 15) or total response time for ``ems_time`` (12).
    km
        Distance limit for ``ems_distance`` and ``straight_line`` (default 3.5).
    dispatch_delay_minutes
        ``ems_time`` only: minutes between the call and the ambulance leaving (default 2).
    facility_types
        Facility type codes that count (defaults: basic-level types for walk15, ambulance
        substations for the EMS standards).
    """
    types = facility_types
    if types is not None:
        unknown = [t for t in types if t not in FACILITY_TYPES]
        if unknown:
            msg = f"unknown facility types {unknown}; valid: {', '.join(FACILITY_TYPES)}"
            raise StandardError(msg)
    if name == "walk15":
        m = _positive(15.0 if minutes is None else minutes, "minutes", upper=120)
        return Standard(
            name, f"walking time ≤ {m:g} min", f"步行{m:g}分钟可达", "walk", "time_s", m * 60,
            tuple(types or BASIC_LEVEL_TYPES), {"minutes": m},
        )  # fmt: skip
    ems_types = tuple(types or ("ambulance_substation",))
    if name in ("ems_distance", "straight_line"):
        d = _positive(3.5 if km is None else km, "km", upper=50)
        if name == "ems_distance":
            return Standard(
                name, f"network distance ≤ {d:g} km (drive)", f"车行路网距离≤{d:g}公里",
                "drive", "length_m", d * 1000, ems_types, {"km": d},
            )  # fmt: skip
        return Standard(
            name, f"straight-line distance ≤ {d:g} km (radius, not network)",
            f"直线距离≤{d:g}公里（半径，非路网）", "none", "euclidean_m", d * 1000, ems_types,
            {"km": d},
        )  # fmt: skip
    if name == "ems_time":
        m = _positive(12.0 if minutes is None else minutes, "minutes", upper=120)
        delay = dispatch_delay_minutes
        if not 0 <= delay < m:
            msg = f"dispatch delay {delay:g} min must be ≥ 0 and below the {m:g}-minute response"
            raise StandardError(msg)
        return Standard(
            name, f"dispatch {delay:g} min + drive time ≤ {m:g} min",
            f"出车{delay:g}分钟+车行时间≤{m:g}分钟", "drive", "time_s", (m - delay) * 60,
            ems_types, {"minutes": m, "dispatch_delay_minutes": delay},
        )  # fmt: skip
    msg = f"unknown standard {name!r}; valid: {', '.join(STANDARD_NAMES)}"
    raise StandardError(msg)


def _positive(value: float, what: str, *, upper: float) -> float:
    if not 0 < value <= upper:
        msg = f"{what}={value!r} is out of range: expected a number in (0, {upper:g}]"
        raise StandardError(msg)
    return float(value)


STANDARD_NAMES: tuple[str, ...] = ("walk15", "ems_distance", "ems_time", "straight_line")


def with_types(standard: Standard, facility_types: tuple[str, ...]) -> Standard:
    """A copy of ``standard`` counting other facility types."""
    return replace(standard, facility_types=tuple(facility_types))
