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
from typing import Literal

from geo._errors import StandardError
from geo.facilities import FACILITY_TYPES
from geo.parameters import DEFAULTS, STANDARD_NAMES, check_number

__all__ = [
    "EMS_STANDARDS",
    "EMS_STANDIN_TYPES",
    "Cost",
    "Mode",
    "Standard",
    "make_standard",
    "with_types",
]

#: The standards an ambulance substation serves.
EMS_STANDARDS = ("ems_distance", "ems_time", "straight_line")

#: What the planner may count in place of ambulance substations when the list has none: a
#: stand-in, labelled so on every figure and file (``…_ems_time_standin.csv``).
EMS_STANDIN_TYPES = ("hospital", "emergency_department")

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
    params: dict[str, float] = field(default_factory=dict)

    @property
    def straight_line(self) -> bool:
        """True for the straight-line radius, which is not a network reach."""
        return self.cost == "euclidean_m"

    @property
    def standin(self) -> bool:
        """True for an EMS standard that counts no ambulance substation (a stand-in)."""
        return self.name in EMS_STANDARDS and "ambulance_substation" not in self.facility_types

    @property
    def key(self) -> str:
        """The name in file, sheet and layer names: ``<name>_standin`` for a stand-in."""
        return f"{self.name}_standin" if self.standin else self.name

    def describe(self) -> str:
        """One line a planner reads: what is measured, on what, against which limit."""
        return f"{self.name}: {self.label_en} (types: {', '.join(self.facility_types)})"


def make_standard(
    name: str,
    *,
    minutes: float | None = None,
    km: float | None = None,
    dispatch_delay_minutes: float | None = None,
    facility_types: tuple[str, ...] | None = None,
) -> Standard:
    """Build a standard by name with optional parameters.

    Parameters
    ----------
    name
        ``walk15``, ``ems_distance``, ``ems_time`` or ``straight_line``.
    minutes
        Time limit for ``walk15`` or total response time for ``ems_time`` (defaults:
        ``DEFAULTS.walk_minutes``, ``DEFAULTS.ems_minutes``; bounds in ``geo.parameters``).
    km
        Distance limit for ``ems_distance`` and ``straight_line`` (``DEFAULTS.ems_km``).
    dispatch_delay_minutes
        ``ems_time`` only: minutes between the call and the ambulance leaving
        (``DEFAULTS.dispatch_delay_minutes``).
    facility_types
        Facility type codes that count (defaults: ``DEFAULTS.walk_types`` for walk15,
        ``DEFAULTS.ems_types`` for the EMS standards).
    """
    return _labelled(
        _build_standard(
            name,
            minutes=minutes,
            km=km,
            dispatch_delay_minutes=dispatch_delay_minutes,
            facility_types=facility_types,
        )
    )


def _build_standard(
    name: str,
    *,
    minutes: float | None = None,
    km: float | None = None,
    dispatch_delay_minutes: float | None = None,
    facility_types: tuple[str, ...] | None = None,
) -> Standard:
    types = facility_types
    if types is not None:
        unknown = [t for t in types if t not in FACILITY_TYPES]
        if unknown:
            msg = f"unknown facility types {unknown}; valid: {', '.join(FACILITY_TYPES)}"
            raise StandardError(msg)
    if name == "walk15":
        m = check_number("walk_minutes", DEFAULTS.walk_minutes if minutes is None else minutes)
        return Standard(
            name,
            f"walking time ≤ {m:g} min",
            f"步行{m:g}分钟可达",
            "walk",
            "time_s",
            m * 60,
            tuple(types or DEFAULTS.walk_types),
            {"minutes": m},
        )
    ems_types = tuple(types or DEFAULTS.ems_types)
    if name in ("ems_distance", "straight_line"):
        d = check_number("ems_km", DEFAULTS.ems_km if km is None else km)
        if name == "ems_distance":
            return Standard(
                name,
                f"network distance ≤ {d:g} km (drive)",
                f"车行路网距离≤{d:g}公里",
                "drive",
                "length_m",
                d * 1000,
                ems_types,
                {"km": d},
            )
        return Standard(
            name,
            f"straight-line distance ≤ {d:g} km (radius, not network)",
            f"直线距离≤{d:g}公里（半径，非路网）",
            "none",
            "euclidean_m",
            d * 1000,
            ems_types,
            {"km": d},
        )
    if name == "ems_time":
        m = check_number("ems_minutes", DEFAULTS.ems_minutes if minutes is None else minutes)
        delay = check_number(
            "dispatch_delay_minutes",
            DEFAULTS.dispatch_delay_minutes
            if dispatch_delay_minutes is None
            else dispatch_delay_minutes,
        )
        if not delay < m:
            msg = f"dispatch delay {delay:g} min must be ≥ 0 and below the {m:g}-minute response"
            raise StandardError(msg)
        return Standard(
            name,
            f"dispatch {delay:g} min + drive time ≤ {m:g} min",
            f"出车{delay:g}分钟+车行时间≤{m:g}分钟",
            "drive",
            "time_s",
            (m - delay) * 60,
            ems_types,
            {"minutes": m, "dispatch_delay_minutes": delay},
        )
    msg = f"unknown standard {name!r}; valid: {', '.join(STANDARD_NAMES)}"
    raise StandardError(msg)


def with_types(standard: Standard, facility_types: tuple[str, ...]) -> Standard:
    """A copy of ``standard`` counting other facility types (labelled if it becomes a stand-in)."""
    return _labelled(replace(standard, facility_types=tuple(facility_types)))


def _labelled(standard: Standard) -> Standard:
    """An EMS stand-in says so in both labels; a real one has no such words."""
    en = standard.label_en.split(" — STAND-IN")[0]
    zh = standard.label_zh.split("（替代：")[0]
    if standard.standin:
        names = ", ".join(standard.facility_types)
        en += f" — STAND-IN: {names} counted, not ambulance substations"
        zh_names = "、".join(FACILITY_TYPES[t].name_zh for t in standard.facility_types)
        zh += f"（替代：以{zh_names}代替急救分站）"
    return replace(standard, label_en=en, label_zh=zh)
