"""Editing a scenario on the map: add, move, remove sites, undo, and save as a new scenario.

:class:`ScenarioEditor` keeps one :class:`~geo.coverage.CoverageSession` per standard in step with
the edits, so each edit costs one facility's reach (tens of milliseconds on the whole district),
not a full recomputation. Its edits become a new scenario file whose ``base`` is the scenario
being edited (:meth:`ScenarioEditor.to_scenario`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import pandas as pd
import shapely

from geo import access, boundaries, settings
from geo._errors import ScenarioError
from geo._types import Metadata
from geo.access import TravelTimes
from geo.coverage import CoverageResult, CoverageSession
from geo.facilities import FACILITY_TYPES
from geo.network import Network
from geo.parameters import DEFAULTS
from geo.population import Population
from geo.provenance import provenance
from geo.readable import status_text
from geo.scenarios import Edit, ResolvedScenario, Scenario, ScenarioRun
from geo.scenarios.model import ParameterValue
from geo.standards import EMS_STANDARDS, EMS_STANDIN_TYPES, Standard, with_types

__all__ = [
    "Change",
    "EditorView",
    "ScenarioEditor",
    "display_table",
    "editor_view",
    "ems_reach",
    "open_editor",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Change:
    """One applied edit, with what is needed to undo it."""

    kind: str  # add | move | remove
    facility_id: str
    before: dict[str, object] | None  # the facility's row before the edit (None for add)
    after: dict[str, object] | None  # the facility's row after the edit (None for remove)
    group: int | None = None  # edits made as one step ("Suggest sites") share a number

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
        buffer_meters: float = DEFAULTS.buffer_meters,
        max_snap_meters: float = DEFAULTS.max_snap_meters,
        area_cell_meters: float = DEFAULTS.area_cell_meters,
    ) -> None:
        self.resolved = resolved
        self.population = population
        self.networks = dict(networks)
        self.standards = {s.name: s for s in standards}
        self._own_types = {s.name: s.facility_types for s in standards}
        self.buffer_meters = buffer_meters
        self.max_snap_meters = max_snap_meters
        self.area_cell_meters = area_cell_meters
        self._rows: dict[str, dict[str, Any]] = {
            str(r["id"]): r
            for r in resolved.facilities.gdf.drop(columns="geometry").to_dict("records")
        }
        self._base_rows = {k: dict(v) for k, v in self._rows.items()}
        self._sessions: dict[str, CoverageSession] = {}
        self.history: list[Change] = []
        self._counter = 0
        self._group: int | None = None  # set while one step (a suggestion) makes many edits
        self._groups = 0
        self._refs: dict[str, tuple[CoverageSession, str]] = {}

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
                std,
                self.facilities(),
                self.population,
                network=self.networks.get(std.mode),
                buffer_meters=self.buffer_meters,
                max_snap_meters=self.max_snap_meters,
                area_cell_meters=self.area_cell_meters,
            )
        return self._sessions[standard]

    @property
    def standin(self) -> bool:
        """True if the EMS standards count hospitals/EDs in place of ambulance substations."""
        return any(s.standin for s in self.standards.values())

    def set_standin(self, on: bool) -> None:
        """Count :data:`~geo.standards.EMS_STANDIN_TYPES` for the EMS standards (``on``), or the
        scenario's own types; the changed standards are recomputed on next use, edits kept."""
        for name, std in list(self.standards.items()):
            if name not in EMS_STANDARDS:
                continue
            types = EMS_STANDIN_TYPES if on else self._own_types[name]
            if std.facility_types != types:
                self.standards[name] = with_types(std, types)
                self._sessions.pop(name, None)
                self._refs.pop(name, None)

    def nearest_site(self, lon: float, lat: float, *, max_meters: float) -> str | None:
        """The id of the site nearest to (lon, lat) within ``max_meters``; None if none is."""
        sites = self.facilities()
        if sites.empty:
            return None
        metres = sites.geometry.to_crs(settings.metric_crs).distance(
            gpd.GeoSeries([shapely.Point(lon, lat)], crs=settings.wgs84_crs)
            .to_crs(settings.metric_crs)
            .iloc[0]
        )
        best = metres.idxmin()
        return str(sites.loc[best, "id"]) if metres[best] <= max_meters else None

    def reference_facilities(self) -> tuple[gpd.GeoDataFrame, str]:
        """What changes are measured against: the base scenario's sites if there is a base,
        otherwise this scenario's sites as opened (so unsaved edits show as changes)."""
        chain = self.resolved.chain
        if len(chain) > 1:
            from geo.scenarios import resolve

            base = resolve(chain[-2], folder=chain[-2].path.parent if chain[-2].path else None)
            return base.facilities.gdf, f"base scenario {chain[-2].name}"
        rows = pd.DataFrame(list(self._base_rows.values()))
        gdf = gpd.GeoDataFrame(
            rows, geometry=gpd.points_from_xy(rows["lon"], rows["lat"]), crs=settings.wgs84_crs
        )
        return gdf, f"{self.name} as opened"

    def result(self, standard: str) -> CoverageResult:
        """The current state of one standard as a full CoverageResult (for exports)."""
        return self.session(standard).result(
            self.facilities(),
            facilities_source=f"scenario {self.name} with {len(self.history)} edits",
        )

    def suggest(self, standard: str, *, quota: int | Literal["plan"] = "plan") -> list[str]:
        """Run :func:`geo.optimize.suggest` on the current sites; add its proposals as edits.

        ``walk15``: new community sites with ``quota`` (``"plan"`` = Table 2, or N). EMS
        standards: the scenario's ``ems_sites`` ambulance substations on the corridors (maximal
        coverage), as ``geo suggest`` and ``geo plan-scenario`` place them. Each proposal
        becomes a planned site ``placed_by="suggested"`` that the planner can move or remove
        (and undo). Returns the new ids.
        """
        from geo import optimize

        std = self.standards[standard]
        sug = optimize.suggest(
            std,
            self.facilities(),
            self.population,
            network=self.networks.get(std.mode),
            params=self.resolved.parameters,
            quota=quota,
        )
        method = f"{sug.method}, {sug.objective_kind}, {std.name}, status {sug.solver_status}"
        ids = []
        self._groups += 1
        self._group = self._groups  # one undo removes every proposal of this suggestion
        try:
            for r in sug.sites.itertuples():
                label = FACILITY_TYPES[str(r.type)].name_zh
                ids.append(
                    self.add_site(
                        float(r.lon),
                        float(r.lat),
                        facility_type=str(r.type),
                        name=f"{r.subdistrict_zh} 建议{label} {self._counter + 1}",
                        placed_by="suggested",
                        method=method,
                    )
                )
        finally:
            self._group = None
        return ids

    def coverage_curve(self, n_max: int = 32) -> pd.DataFrame:
        """Residents covered within a 15-minute walk against 0..n_max new sites (greedy order,
        current sites fixed): the marginal value of each extra station, for a chart."""
        from geo import optimize

        std = self.standards.get("walk15")
        if std is None:
            msg = "this scenario does not run walk15; the curve is for new community sites"
            raise ScenarioError(msg)
        return optimize.coverage_curve(
            std,
            self.facilities(),
            self.population,
            network=self.networks.get("walk"),
            n_max=n_max,
        )

    def selected_isochrone(self, standard: str, facility_id: str) -> gpd.GeoDataFrame:
        """One facility's reach polygon (WGS-84); empty if the standard does not count it."""
        session = self.session(standard)
        geoms = [session.isochrone(facility_id)] if session.holds(facility_id) else []
        return gpd.GeoDataFrame(geometry=gpd.GeoSeries(geoms, crs=settings.metric_crs)).to_crs(
            settings.wgs84_crs
        )

    def sources(self, standard: str) -> Metadata:
        """What the figures of one standard are computed from (for "How was this computed?"):
        the provenance block (:func:`geo.provenance.provenance`) of the edited scenario."""
        std = self.standards[standard]
        net = self.networks.get(std.mode)
        meta = provenance(
            f"coverage {std.name}",
            scenario=self.name,
            scenario_hash=self.resolved.content_hash,
            network=net.report if net is not None else "none (straight line)",
            population=self.population,
            facilities=self.facilities(),
            facilities_source=self.resolved.facilities.summary(),
            parameters={
                **std.params,
                "buffer_meters": self.buffer_meters,
                "max_snap_meters": self.max_snap_meters,
            },
        )
        meta.update(
            scenario_chain=[s.name for s in self.resolved.chain],
            edits_this_session=len(self.history),
            standard=std.label_en,
            counted_types=list(std.facility_types),
        )
        return meta

    def travel_times(self, standard: str) -> tuple[TravelTimes, TravelTimes]:
        """The travel-time distribution and catchments of the map's sites and of the reference
        (:func:`geo.access.travel_times`), for the before/after chart."""
        std = self.standards[standard]
        net = self.networks.get(std.mode)
        if net is None:
            msg = f"{std.name} is a straight-line radius: the distribution needs a network"
            raise ScenarioError(msg)
        ref, _label = self.reference_facilities()
        now = access.travel_times(std, self.facilities(), self.population, network=net)
        return now, access.travel_times(std, ref, self.population, network=net)

    def report_runs(self) -> tuple[ScenarioRun, ScenarioRun]:
        """The current state and the reference (what the deltas compare against) as scenario
        runs of every standard, for the report and :func:`geo.scenarios.compare`.

        The current run's scenario is :meth:`to_scenario` (``<name>-edited`` when edited), its
        facilities the sites on the map; its tables are those of :meth:`result`.
        """

        names = list(self.standards)
        now_name = f"{self.name}-edited" if self.history else self.name
        ref_gdf, label = self.reference_facilities()
        now = replace(
            self.resolved,
            scenario=self.to_scenario(now_name) if self.history else self.resolved.scenario,
            facilities=replace(self.resolved.facilities, gdf=self.facilities()),
        )
        ref_name = self.resolved.chain[-2].name if len(self.resolved.chain) > 1 else self.name
        ref_scenario = replace(self.resolved.scenario, name=ref_name)
        ref = replace(
            self.resolved,
            scenario=ref_scenario,
            facilities=replace(self.resolved.facilities, gdf=ref_gdf),
        )
        ref_results = tuple(
            _reference_session(self, n)[0].result(ref_gdf, facilities_source=label) for n in names
        )
        hashes = {"scenario": self.resolved.content_hash}
        return (
            ScenarioRun(now, tuple(self.result(n) for n in names), hashes),
            ScenarioRun(ref, ref_results, hashes),
        )

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
            "id": fid,
            "name": name or f"新建{label} {self._counter}",
            "type": facility_type,
            "type_zh": label,
            "type_en": FACILITY_TYPES[facility_type].name_en,
            "status": "planned",
            "placed_by": placed_by,
            "method": method,
            "source": f"edited on the map ({placed_by})",
            **self._place(lon, lat),
        }
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
        """Undo the last step — one edit, or every proposal of one "Suggest sites" — and return
        its last edit (None if there was nothing to undo)."""
        if not self.history:
            return None
        last = self.history[-1]
        while self.history and (
            self.history[-1] is last
            or (last.group is not None and self.history[-1].group == last.group)
        ):
            change = self.history.pop()
            inverse = {"add": "remove", "remove": "add", "move": "move"}[change.kind]
            self._apply(
                Change(inverse, change.facility_id, change.after, change.before), record=False
            )
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
            "lon": float(lon),
            "lat": float(lat),
            "subdistrict_code": code,
            "subdistrict_zh": sub["name_zh"],
            "subdistrict_en": sub["name_en"],
            "boundary_status": sub["boundary_status"],
        }

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
            self.history.append(replace(change, group=self._group))
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
            fields = [
                ("id", fid),
                ("name", row["name"]),
                ("type", row["type"]),
                ("lon", row["lon"]),
                ("lat", row["lat"]),
                ("status", "planned"),
                ("by", row.get("placed_by", "planner")),
            ]
            if row.get("method"):
                fields.append(("method", row["method"]))
            edits.append(Edit("add", tuple(fields)))
        order = {"add": 0, "move": 1, "remove": 2}
        edits.sort(key=lambda e: order[e.kind])
        params: tuple[tuple[str, ParameterValue], ...] = ()
        ems = [s for s in self.standards.values() if s.name in EMS_STANDARDS]
        if ems and ems[0].facility_types != self._own_types[ems[0].name]:
            params = (("ems_types", ems[0].facility_types),)  # the stand-in travels with it
        return Scenario(
            name=name,
            description=description,
            base=self.name,
            edits=tuple(edits),
            parameters=params,
        )


@dataclass(frozen=True)
class EditorView:
    """What the map and tables show for one standard: current state and change against the base."""

    standard: Standard
    table: pd.DataFrame
    deltas: (
        pd.DataFrame
    )  # code, name_zh, name_en, covered_km2/area_share/covered_residents/resident_share deltas
    covered: gpd.GeoDataFrame
    blind_spots: gpd.GeoDataFrame
    gained: gpd.GeoDataFrame
    lost: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    reference: str  # what the deltas compare against
    subdistricts: gpd.GeoDataFrame  # the (disjoint) units, WGS-84, for the map


_DELTA_COLUMNS = ("covered_km2", "area_share", "covered_residents", "resident_share", "facilities")


def _reference_session(editor: ScenarioEditor, standard: str) -> tuple[CoverageSession, str]:
    cached = editor._refs.get(standard)
    if cached is None:
        std = editor.standards[standard]
        ref_gdf, label = editor.reference_facilities()
        session = CoverageSession(
            std,
            ref_gdf,
            editor.population,
            network=editor.networks.get(std.mode),
            buffer_meters=editor.buffer_meters,
            max_snap_meters=editor.max_snap_meters,
            area_cell_meters=editor.area_cell_meters,
        )
        cached = (session, label)
        editor._refs[standard] = cached
    return cached


def editor_view(editor: ScenarioEditor, standard: str) -> EditorView:
    """The current state of one standard and its change against the scenario's base."""
    session = editor.session(standard)
    ref, label = _reference_session(editor, standard)
    table = session.table()
    ref_table = ref.table().set_index("code")
    deltas = table[["code", "name_zh", "name_en"]].copy()
    for col in _DELTA_COLUMNS:
        deltas[f"{col}_delta"] = (
            table[col].to_numpy() - deltas["code"].map(ref_table[col]).to_numpy()
        )
    gained = shapely.difference(session.merged, ref.merged)
    lost = shapely.difference(ref.merged, session.merged)
    part = session.part
    return EditorView(
        standard=session.standard,
        table=table,
        deltas=deltas,
        covered=session.covered(),
        blind_spots=session.blind_spots(),
        gained=_pieces(gained, part),
        lost=_pieces(lost, part),
        facilities=editor.facilities(),
        reference=label,
        subdistricts=_wgs84_units(part),
    )


def _wgs84_units(part: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return part.drop(columns="area_km2").to_crs(settings.wgs84_crs)


def ems_reach(editor: ScenarioEditor, standard: str = "ems_time") -> gpd.GeoDataFrame | None:
    """The covered area of an EMS standard (WGS-84) for the map's "ambulance reach" layer, or
    None if the scenario does not run it or counts no facility for it."""
    if standard not in editor.standards:
        return None
    session = editor.session(standard)
    return None if session.merged.is_empty else session.covered()


def _pieces(geom: shapely.Geometry, part: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    pieces = shapely.intersection(part.geometry.values, geom)
    out = gpd.GeoDataFrame(
        {"code": part["code"], "name_zh": part["name_zh"]}, geometry=pieces, crs=settings.metric_crs
    )
    out["area_km2"] = out.geometry.area / 1e6
    return out[out["area_km2"] > 1e-6].to_crs(settings.wgs84_crs)


def open_editor(
    scenario: str | Scenario | ResolvedScenario,
    *,
    folder: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> ScenarioEditor:
    """Resolve a scenario, load its population and networks, and return an editor on it."""
    from geo.scenarios import resolve, scenario_inputs

    resolved = (
        scenario if isinstance(scenario, ResolvedScenario) else resolve(scenario, folder=folder)
    )
    params = resolved.parameters
    stds, pop, nets = scenario_inputs(resolved, progress=progress)
    return ScenarioEditor(
        resolved,
        population=pop,
        networks=nets,
        standards=stds,
        buffer_meters=params.buffer_meters,
        max_snap_meters=params.max_snap_meters,
        area_cell_meters=params.area_cell_meters,
    )


_DISPLAY = {
    "en": {
        "name": "subdistrict",
        "boundary_status": "boundary",
        "area_km2": "area km²",
        "covered_km2": "covered km²",
        "area_share": "area %",
        "residents": "residents",
        "covered_residents": "covered residents",
        "resident_share": "residents %",
        "off_network_residents": "off-network residents",
        "facilities": "facilities",
        "facilities_per_100k": "per 100k residents",
        "resident_share_delta": "Δ residents pp",
        "area_share_delta": "Δ area pp",
    },
    "zh": {
        "name": "街镇",
        "boundary_status": "边界",
        "area_km2": "面积 km²",
        "covered_km2": "覆盖面积 km²",
        "area_share": "面积覆盖率 %",
        "residents": "常住人口",
        "covered_residents": "覆盖人口",
        "resident_share": "人口覆盖率 %",
        "off_network_residents": "路网外人口",
        "facilities": "设施数",
        "facilities_per_100k": "每十万人设施数",
        "resident_share_delta": "人口覆盖率变化 pp",
        "area_share_delta": "面积覆盖率变化 pp",
    },
}


def display_table(view: EditorView, *, lang: str = "zh") -> pd.DataFrame:
    """The per-subdistrict table for reading on screen: names in the chosen language, shares
    in percent, rounded, with the change against the reference."""
    labels = _DISPLAY["zh" if lang == "zh" else "en"]
    tab = view.table
    out = pd.DataFrame({labels["name"]: tab["name_zh"] if lang == "zh" else tab["name_en"]})
    out[labels["boundary_status"]] = tab["boundary_status"].map(lambda s: status_text(s, lang))
    for col in ("area_km2", "covered_km2"):
        out[labels[col]] = tab[col].round(2)
    for col in ("area_share", "resident_share"):
        out[labels[col]] = (100 * tab[col]).round(2)
    for col in ("residents", "covered_residents", "off_network_residents"):
        out[labels[col]] = tab[col].round(0).astype("int64")
    out[labels["facilities"]] = tab["facilities"].astype("int64")
    out[labels["facilities_per_100k"]] = tab["facilities_per_100k"].round(2)
    for col in ("resident_share_delta", "area_share_delta"):
        out[labels[col]] = (100 * view.deltas[col]).round(2)
    return out
