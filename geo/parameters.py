"""Run parameters: every default and bound of a run, in one typed, frozen object.

The CLI, scenarios (``[parameters]``), the app and the library read :data:`DEFAULTS` and
:data:`BOUNDS`; no other module writes a default of these as a literal. A scenario's
``[parameters]`` table holds any of these fields (the child scenario wins over its base);
``geo coverage`` has a flag for each run parameter.

>>> from geo.parameters import DEFAULTS
>>> DEFAULTS.walk_speed_kmh, DEFAULTS.buffer_meters, DEFAULTS.max_snap_meters
(4.0, 100.0, 300.0)
>>> DEFAULTS.replace(walk_speed_kmh=4.5).walk_speed_kmh
4.5
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields

from geo._errors import ParameterError
from geo._types import JSONValue
from geo.facilities import BASIC_LEVEL_TYPES, FACILITY_TYPES

__all__ = [
    "BOUNDS",
    "DEFAULTS",
    "STANDARD_NAMES",
    "Bound",
    "RunParameters",
    "check_number",
]

#: The four standards, in their display order.
STANDARD_NAMES: tuple[str, ...] = ("walk15", "ems_distance", "ems_time", "straight_line")


@dataclass(frozen=True)
class Bound:
    """Inclusive range of a numeric parameter, its unit and what it means."""

    low: float
    high: float
    unit: str
    meaning: str


#: Bounds of every numeric parameter (inclusive). A value outside, or not finite, is refused.
BOUNDS: dict[str, Bound] = {
    "walk_speed_kmh": Bound(1.0, 8.0, "km/h", "walking speed, both ways on every walkable road"),
    "walk_minutes": Bound(1.0, 60.0, "min", "walk15: walking-time limit"),
    "ems_km": Bound(0.5, 20.0, "km", "ems_distance / straight_line: distance limit"),
    "ems_minutes": Bound(1.0, 60.0, "min", "ems_time: response-time limit incl. dispatch"),
    "dispatch_delay_minutes": Bound(0.0, 30.0, "min", "ems_time: call to ambulance leaving"),
    "congestion_factor": Bound(1.0, 5.0, "×", "slows every drive speed (1 = free flow)"),
    "buffer_meters": Bound(0.0, 1000.0, "m", "isochrone half-width around reached roads"),
    "area_cell_meters": Bound(
        0.0, 200.0, "m", "covered area counted on cells of this size (0: exact polygons)"
    ),
    "max_snap_meters": Bound(10.0, 2000.0, "m", "points farther from every road are off-network"),
    "drive_access_speed_kmh": Bound(1.0, 60.0, "km/h", "drive: from a point to its road"),
    "review_threshold": Bound(0.0, 1.0, "", "geocoding: below this confidence a row is flagged"),
    "solver_time_limit_s": Bound(1.0, 3600.0, "s", "site suggestion: CBC time limit"),
    "candidate_spacing_m": Bound(50.0, 2000.0, "m", "site suggestion: candidate grid spacing"),
    "corridor_spacing_m": Bound(50.0, 2000.0, "m", "EMS suggestion: sampling along corridors"),
    "ems_sites": Bound(1, 100, "sites", "EMS suggestion: new substations (the plan: 5)"),
}


def check_number(name: str, value: object) -> float:
    """``value`` as a float if it is a finite number within ``BOUNDS[name]``; else raise.

    Raises
    ------
    ParameterError
        Naming the parameter, the value, the range and the unit.
    """
    bound = BOUNDS[name]
    unit = f" {bound.unit}" if bound.unit else ""
    expected = f"expected a number from {bound.low:g} to {bound.high:g}{unit} ({bound.meaning})"
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = f"{name}={value!r}: not a number; {expected}"
        raise ParameterError(msg)
    if not math.isfinite(value) or not bound.low <= value <= bound.high:
        msg = f"{name}={value!r}: out of range; {expected}"
        raise ParameterError(msg)
    return float(value)


@dataclass(frozen=True)
class RunParameters:
    """Every parameter of a run with its default; checked when built (finite, in range).

    Build one with :meth:`replace` on :data:`DEFAULTS` or :meth:`from_mapping` (a scenario's
    ``[parameters]``); the fields are documented in :data:`BOUNDS` and the README.
    """

    standards: tuple[str, ...] = STANDARD_NAMES
    walk_speed_kmh: float = 4.0  # GB 50180-2018 reads the 15-minute circle as 800-1,000 m
    walk_minutes: float = 15.0
    ems_km: float = 3.5  # the plan: service radius 3.5 km
    ems_minutes: float = 12.0  # the plan: average response ≤ 12 min
    dispatch_delay_minutes: float = 2.0
    congestion_factor: float = 1.0
    buffer_meters: float = 100.0
    area_cell_meters: float = 20.0  # raster area index: within 0.1 point of the polygons
    max_snap_meters: float = 300.0
    drive_access_speed_kmh: float = 10.0
    walk_types: tuple[str, ...] = BASIC_LEVEL_TYPES
    ems_types: tuple[str, ...] = ("ambulance_substation",)
    population: str = "pack"
    network: str = "pack"
    review_threshold: float = 0.6
    solver_time_limit_s: float = 60.0
    candidate_spacing_m: float = 200.0
    corridor_spacing_m: float = 300.0
    ems_sites: int = 5

    def __post_init__(self) -> None:
        for name in BOUNDS:
            value = check_number(name, getattr(self, name))
            cast = int if name == "ems_sites" else float
            if cast is int and value != int(value):
                msg = f"{name}={value!r}: expected a whole number of sites"
                raise ParameterError(msg)
            object.__setattr__(self, name, cast(value))
        for name in ("standards", "walk_types", "ems_types"):
            value = getattr(self, name)
            if isinstance(value, str) or not value:
                msg = f"{name}={value!r}: expected a non-empty list"
                raise ParameterError(msg)
            object.__setattr__(self, name, tuple(str(v) for v in value))
        for name, valid in (
            ("standards", STANDARD_NAMES),
            ("walk_types", tuple(FACILITY_TYPES)),
            ("ems_types", tuple(FACILITY_TYPES)),
        ):
            unknown = [v for v in getattr(self, name) if v not in valid]
            if unknown:
                msg = f"{name}: unknown {unknown}; valid: {', '.join(valid)}"
                raise ParameterError(msg)
        if self.dispatch_delay_minutes >= self.ems_minutes:
            msg = (
                f"dispatch_delay_minutes={self.dispatch_delay_minutes:g} must be below "
                f"ems_minutes={self.ems_minutes:g} (the delay is part of the response time)"
            )
            raise ParameterError(msg)

    def replace(self, **changes: object) -> RunParameters:
        """A copy with some fields changed (checked like a new one)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]  # checked on build

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The field names, in their fixed order."""
        return tuple(f.name for f in fields(cls))

    @classmethod
    def from_mapping(
        cls, values: Mapping[str, object], *, base: RunParameters | None = None
    ) -> RunParameters:
        """``base`` (default :data:`DEFAULTS`) with the given fields changed.

        Raises
        ------
        ParameterError
            An unknown name (the valid ones are listed) or a bad value.
        """
        unknown = sorted(set(values) - set(cls.names()))
        if unknown:
            msg = f"unknown parameter(s) {unknown}; allowed: {', '.join(cls.names())}"
            raise ParameterError(msg)
        return (base or DEFAULTS).replace(**dict(values))

    def to_dict(self) -> dict[str, JSONValue]:
        """Plain data (lists for the tuples), in the field order: for metadata and TOML."""
        return {
            name: list(value) if isinstance(value, tuple) else value
            for name, value in ((f.name, getattr(self, f.name)) for f in fields(self))
        }


#: The defaults of every run.
DEFAULTS = RunParameters()
