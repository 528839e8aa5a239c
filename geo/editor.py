"""Editing a scenario on the map: add, move, remove sites, undo, and save as a new scenario.

:class:`ScenarioEditor` keeps one :class:`~geo.coverage.CoverageSession` per standard in step with
the edits, so each edit costs one facility's reach (tens of milliseconds on the whole district),
not a full recomputation. Its edits become a new scenario file whose ``base`` is the scenario
being edited (:meth:`ScenarioEditor.to_scenario`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from geo import boundaries, settings
from geo._errors import ScenarioError
from geo.coverage import CoverageSession
from geo.facilities import FACILITY_TYPES
from geo.network import Network
from geo.population import Population
from geo.scenarios import Edit, ResolvedScenario, Scenario
from geo.standards import Standard

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Change:
    """One applied edit, with what is needed to undo it."""

    kind: str  # add | move | remove
    facility_id: str
    before: dict[str, Any] | None  # the facility's row before the edit (None for add)
    after: dict[str, Any] | None  # the facility's row after the edit (None for remove)

    def describe(self) -> str:
        """One line for the planner."""
        row = self.after or self.before or {}
        return f"{self.kind} {row.get('name', self.facility_id)} ({self.facility_id})"


class ScenarioEditor:
    """Edits on top of a resolved scenario, with incremental coverage for each standard."""

    def __init__(
        self,
        resolved: ResolvedScenario,
        *,
        population: Population,
        networks: Mapping[str, Network],
        standards: list[Standard],
        buffer_meters: float = 100.0,
        max_snap_meters: float = 300.0,
    ) -> None:
        self.resolved = resolved
        self.population = population
        self.networks = dict(networks)
        self.standards = {s.name: s for s in standards}
        self.buffer_meters = buffer_meters
        self.max_snap_meters = max_snap_meters
        self._rows: dict[str, dict[str, Any]] = {
            str(r["id"]): r
            for r in resolved.facilities.gdf.drop(columns="geometry").to_dict("records")
        }
        self._base_rows = {k: dict(v) for k, v in self._rows.items()}
        self._sessions: dict[str, CoverageSession] = {}
        self.history: list[Change] = []
        self._counter = 0

    # --- state ----------------------------------------------------------------------------------

    def facilities(self) -> gpd.GeoDataFrame:
        """The current facilities (WGS-84 points)."""
        df = pd.DataFrame(list(self._rows.values()))
        return gpd.GeoDataFrame(
            df, geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs=settings.wgs84_crs
        )

    def session(self, standard: str) -> CoverageSession:
        """The coverage session of one standard, created on first use from the current sites."""
        if standard not in self.standards:
            msg = f"unknown standard {standard!r}; this editor runs {', '.join(self.standards)}"
            raise ScenarioError(msg)
        if standard not in self._sessions:
            std = self.standards[standard]
            self._sessions[standard] = CoverageSession(
                std, self.facilities(), self.population,
                network=self.networks.get(std.mode), buffer_meters=self.buffer_meters,
                max_snap_meters=self.max_snap_meters,
            )  # fmt: skip
        return self._sessions[standard]

    @property
    def name(self) -> str:
        """Name of the scenario being edited."""
        return self.resolved.scenario.name

    # --- edits ----------------------------------------------------------------------------------

    def add_site(
        self,
        lon: float,
        lat: float,
        *,
        facility_type: str,
        name: str | None = None,
        placed_by: str = "planner",
        method: str = "",
    ) -> str:
        """Add a planned site at (lon, lat); returns its id."""
        if facility_type not in FACILITY_TYPES:
            msg = f"unknown facility type {facility_type!r}; valid: {', '.join(FACILITY_TYPES)}"
            raise ScenarioError(msg)
        self._check_inside(lon, lat)
        self._counter += 1
        fid = f"{self.name}-edit-{self._counter}"
        while fid in self._rows:
            self._counter += 1
            fid = f"{self.name}-edit-{self._counter}"
        label = FACILITY_TYPES[facility_type].name_zh
        row = {
            "id": fid, "name": name or f"新建{label} {self._counter}", "type": facility_type,
            "type_zh": label, "type_en": FACILITY_TYPES[facility_type].name_en,
            "status": "planned", "placed_by": placed_by, "method": method,
            "source": f"edited on the map ({placed_by})", **self._place(lon, lat),
        }  # fmt: skip
        if any(r["name"] == row["name"] for r in self._rows.values()):
            msg = f"a facility named {row['name']!r} exists already; choose another name"
            raise ScenarioError(msg)
        self._apply(Change("add", fid, None, row))
        return fid

    def move_site(self, facility_id: str, lon: float, lat: float) -> None:
        """Move a site to (lon, lat)."""
        before = self._row(facility_id)
        self._check_inside(lon, lat)
        self._apply(Change("move", before["id"], before, {**before, **self._place(lon, lat)}))

    def remove_site(self, facility_id: str) -> None:
        """Remove a site."""
        before = self._row(facility_id)
        self._apply(Change("remove", before["id"], before, None))

    def undo(self) -> Change | None:
        """Undo the last edit; returns it (None if there was nothing to undo)."""
        if not self.history:
            return None
        last = self.history.pop()
        inverse = {"add": "remove", "remove": "add", "move": "move"}[last.kind]
        self._apply(Change(inverse, last.facility_id, last.after, last.before), record=False)
        return last

    def _row(self, facility_id: str) -> dict[str, Any]:
        fid = str(facility_id)
        if fid not in self._rows:
            msg = f"unknown facility id {fid!r} in scenario {self.name!r}"
            raise ScenarioError(msg)
        return dict(self._rows[fid])

    def _check_inside(self, lon: float, lat: float) -> None:
        if boundaries.assign_subdistricts(lon, lat)[()] is None:
            msg = f"({lon:.5f}, {lat:.5f}) is outside the district: place sites inside Minhang"
            raise ScenarioError(msg)

    @staticmethod
    def _place(lon: float, lat: float) -> dict[str, Any]:
        code = str(boundaries.assign_subdistricts(lon, lat)[()])
        sub = boundaries.find_subdistrict(code)
        return {
            "lon": float(lon), "lat": float(lat), "subdistrict_code": code,
            "subdistrict_zh": sub["name_zh"], "subdistrict_en": sub["name_en"],
            "boundary_status": sub["boundary_status"],
        }  # fmt: skip

    def _apply(self, change: Change, *, record: bool = True) -> None:
        fid = change.facility_id
        for session in self._sessions.values():
            counted = (
                change.after is not None and change.after["type"] in session.standard.facility_types
            )
            if session.holds(fid):
                session.remove(fid)
            if counted and change.after is not None:
                session.add(change.after)
        if change.after is None:
            del self._rows[fid]
        else:
            self._rows[fid] = dict(change.after)
        if record:
            self.history.append(change)
        logger.info("%s", change.describe())

    # --- saving ---------------------------------------------------------------------------------

    def to_scenario(self, name: str, description: str = "") -> Scenario:
        """A new scenario: base = the edited scenario, edits = the net effect of this session."""
        edits: list[Edit] = []
        for fid, row in sorted(self._base_rows.items()):
            now = self._rows.get(fid)
            if now is None:
                edits.append(Edit("remove", (("id", fid),)))
            elif (
                shapely.Point(now["lon"], now["lat"]).distance(
                    shapely.Point(row["lon"], row["lat"])
                )
                > 1e-9
            ):
                edits.append(Edit("move", (("id", fid), ("lon", now["lon"]), ("lat", now["lat"]))))
        for fid, row in self._rows.items():
            if fid in self._base_rows:
                continue
            fields = [("id", fid), ("name", row["name"]), ("type", row["type"]),
                      ("lon", row["lon"]), ("lat", row["lat"]), ("status", "planned"),
                      ("by", row.get("placed_by", "planner"))]  # fmt: skip
            if row.get("method"):
                fields.append(("method", row["method"]))
            edits.append(Edit("add", tuple(fields)))
        order = {"add": 0, "move": 1, "remove": 2}
        edits.sort(key=lambda e: order[e.kind])
        return Scenario(name=name, description=description, base=self.name, edits=tuple(edits))
