"""The prepared problem: candidates × population points on real geometry, and the quotas.

:func:`site_problem` builds a :class:`SiteProblem` once (the candidates' reach over the
population points, the points the existing facilities already cover), to be solved many times
with different quotas or numbers of sites. The quota helpers turn ``"plan"`` (Table 2), a number
of sites or {unit: count} (:data:`QuotaSpec`) into per-subdistrict groups for the solvers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from geo import boundaries, plan, settings
from geo._errors import SiteSelectionError
from geo.coverage import reach_index, select_facilities
from geo.facilities import FacilityTable
from geo.network import Network
from geo.optimize.candidates import (
    CANDIDATE_COLUMNS,
    DEFAULT_CANDIDATE_SPACING_M,
    _candidate_frame,
    _cover_matrix,
    _safe_snap,
    _straight_matrix,
    candidates_from_network,
)
from geo.optimize.instance import BoolArray
from geo.population import Population
from geo.reach import DEFAULT_MAX_SNAP_METERS, FloatArray, IntArray, to_metric
from geo.standards import Standard

__all__ = ["QuotaSpec", "SiteProblem", "site_problem"]

logger = logging.getLogger(__name__)

QuotaSpec = Literal["plan"] | int | Mapping[str, int | tuple[int, int]]


@dataclass(frozen=True, eq=False)
class SiteProblem:
    """A site-selection instance on real geometry: candidates, coverage matrix, demand.

    Build once with :func:`site_problem`, then solve with different quotas or numbers of sites.

    Attributes
    ----------
    standard
        The accessibility standard the coverage matrix applies.
    candidates
        Candidate sites (:data:`CANDIDATE_COLUMNS`, WGS-84 points), row ``j`` = matrix row ``j``.
    cover
        Candidates × population points, True where the candidate reaches the point within the
        standard.
    weights
        Residents per population point.
    point_subdistrict
        Subdistrict code per population point.
    covered_before
        Points the existing counted facilities already reach (kept fixed).
    off_network
        Points farther than the snapping distance from every road (never covered).
    existing
        The counted existing facilities.
    network
        The network the matrix was computed on (None for the straight-line standard).
    subdistricts
        The subdistrict polygons used (code, name_zh, name_en).
    max_snap_meters
        Snapping distance used for points and sites.
    seconds
        Time to build the instance (candidates' reach).
    """

    standard: Standard
    candidates: gpd.GeoDataFrame
    cover: sp.csr_matrix
    weights: FloatArray
    point_subdistrict: npt.NDArray[np.object_]
    covered_before: BoolArray
    off_network: BoolArray
    existing: gpd.GeoDataFrame
    network: Network | None
    subdistricts: gpd.GeoDataFrame
    max_snap_meters: float
    seconds: float

    @property
    def coverable(self) -> BoolArray:
        """Points covered before or reachable from at least one candidate."""
        return self.covered_before | (np.asarray(self.cover.sum(axis=0)).ravel() > 0)


def _metric(gdf: gpd.GeoDataFrame) -> FloatArray:
    pts = gdf.geometry.to_crs(settings.wgs84_crs)
    return to_metric(pts.x.to_numpy(), pts.y.to_numpy()).reshape(-1, 2)


def _reach_of(
    standard: Standard,
    network: Network | None,
    src_xy: FloatArray,
    pts_xy: FloatArray,
    *,
    max_snap_meters: float,
) -> tuple[sp.csr_matrix, BoolArray]:
    """Coverage matrix of sources over points, and the points' off-network flags."""
    if standard.straight_line:
        return _straight_matrix(src_xy, pts_xy, standard.limit), np.zeros(len(pts_xy), bool)
    if network is None or network.mode != standard.mode:
        got = network.mode if network is not None else "none"
        msg = f"standard {standard.name} needs a {standard.mode} network, got {got}"
        raise SiteSelectionError(msg)
    index = reach_index(network)
    src = _safe_snap(index, index.snap(src_xy, max_snap_meters=max_snap_meters))
    pts = index.snap(pts_xy, max_snap_meters=max_snap_meters)
    cover = _cover_matrix(index, src, src_xy, pts, pts_xy, kind=standard.cost, limit=standard.limit)
    return cover, pts.off_network


def site_problem(
    standard: Standard,
    facilities: FacilityTable | gpd.GeoDataFrame,
    population: Population,
    *,
    network: Network | None,
    candidates: gpd.GeoDataFrame | None = None,
    candidate_spacing_m: float = DEFAULT_CANDIDATE_SPACING_M,
    max_snap_meters: float = DEFAULT_MAX_SNAP_METERS,
    subdistricts: gpd.GeoDataFrame | None = None,
) -> SiteProblem:
    """Build the coverage matrix of candidate sites over the population points.

    Parameters
    ----------
    standard
        From :func:`geo.standards.make_standard` (walk15 for stations, ems_time or ems_distance
        for substations).
    facilities
        All facilities; the standard's types (not closed) are the existing ones, kept fixed.
    population
        Weighted points; each point's own network reach is used, never polygons.
    network
        The standard's network (walk or drive); None only for ``straight_line``.
    candidates
        Candidate sites (e.g. :func:`read_candidates`, :func:`candidates_from_corridors`);
        default :func:`candidates_from_network` at ``candidate_spacing_m``.
    candidate_spacing_m
        Grid spacing of the default network-node candidates.
    max_snap_meters
        Points and sites farther than this from every road reach nothing.
    subdistricts
        Boundaries (default: the data pack's).
    """
    started = time.perf_counter()
    sub = boundaries.subdistricts(subdistricts)
    if candidates is None:
        if network is None:
            msg = "no candidates and no network: pass candidates= (a candidate file's points)"
            raise SiteSelectionError(msg)
        candidates = candidates_from_network(
            network, spacing_m=candidate_spacing_m, subdistricts=sub
        )
    candidates = _checked_candidates(candidates, sub)
    gdf_fac = facilities.gdf if isinstance(facilities, FacilityTable) else facilities
    existing = select_facilities(standard, gdf_fac)
    pts_xy = _metric(population.gdf)
    cover, off = _reach_of(
        standard, network, _metric(candidates), pts_xy, max_snap_meters=max_snap_meters
    )
    before, _ = _reach_of(
        standard, network, _metric(existing), pts_xy, max_snap_meters=max_snap_meters
    )
    problem = SiteProblem(
        standard=standard,
        candidates=candidates,
        cover=cover,
        weights=population.gdf["weight"].to_numpy(float),
        point_subdistrict=population.gdf["subdistrict_code"].to_numpy(object),
        covered_before=np.asarray(before.sum(axis=0)).ravel() > 0,
        off_network=off,
        existing=existing,
        network=network,
        subdistricts=sub[["code", "name_zh", "name_en"]].reset_index(drop=True),
        max_snap_meters=max_snap_meters,
        seconds=time.perf_counter() - started,
    )
    logger.info(
        "site problem (%s): %d candidates × %d points, %d pairs, %.2f s",
        standard.name,
        len(candidates),
        len(pts_xy),
        cover.nnz,
        problem.seconds,
    )
    return problem


def _checked_candidates(gdf: gpd.GeoDataFrame, sub: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Candidates with every column of :data:`CANDIDATE_COLUMNS` (missing ones derived)."""
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.crs is None:
        msg = "candidates must be a GeoDataFrame of points with a CRS (e.g. from read_candidates)"
        raise SiteSelectionError(msg)
    if len(gdf) == 0:
        msg = "no candidate sites: the candidate list is empty (or lies outside the district)"
        raise SiteSelectionError(msg)
    if all(c in gdf.columns for c in CANDIDATE_COLUMNS):
        return gdf.reset_index(drop=True)
    pts = gdf.geometry.to_crs(settings.wgs84_crs)
    n = len(gdf)

    def column(name: str, default: object) -> list[object]:
        return list(gdf[name].tolist()) if name in gdf else [default] * n

    return _candidate_frame(
        pts.x.to_numpy(),
        pts.y.to_numpy(),
        source=[str(v) for v in column("source", "given")],
        on_corridor=[bool(v) for v in column("on_corridor", False)],
        road_name=[None if v is None or v != v else str(v) for v in column("road_name", None)],
        subdistricts=sub,
        ids=[str(i) for i in column("candidate_id", None)] if "candidate_id" in gdf else None,
    )


def _groups_for(problem: SiteProblem, codes: Sequence[str]) -> IntArray:
    pos = {c: i for i, c in enumerate(codes)}
    return np.array([pos.get(str(c), -1) for c in problem.candidates["subdistrict_code"]], np.int64)


# --- quotas -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Quota:
    """Sites per subdistrict (group order), of which centres, and where the numbers came from."""

    codes: tuple[str, ...]
    quotas: IntArray
    centres: IntArray
    label: str


def _count_arg(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < 0:
        msg = f"{what}: expected a whole number ≥ 0, got {value!r}"
        raise SiteSelectionError(msg)
    return int(value)


def _resolve_quota(quota: QuotaSpec, sub: gpd.GeoDataFrame) -> _Quota | int:
    """``"plan"`` (Table 2), an int N (sites anywhere) or {unit: stations | (centres, stations)}."""
    if isinstance(quota, str):
        if quota != "plan":
            msg = f"quota={quota!r}: expected 'plan', a number of sites or {{unit: count}}"
            raise SiteSelectionError(msg)
        table2 = plan.require("quota='plan' (Table 2)").table2_new_sites
        items: Mapping[str, int | tuple[int, int]] = table2
        label = "plan Table 2 (new centres + stations per unit)"
    elif isinstance(quota, Mapping):
        items, label = quota, "given per unit"
    else:
        n = _count_arg(quota, "quota")
        if n == 0:
            msg = "quota=0: ask for at least one site"
            raise SiteSelectionError(msg)
        return n
    per_code: dict[str, tuple[int, int]] = {}
    for name, value in items.items():
        row = boundaries.find_subdistrict(name, sub)
        c, s = value if isinstance(value, tuple) else (0, value)
        pair = (_count_arg(c, f"quota for {name}"), _count_arg(s, f"quota for {name}"))
        old = per_code.get(str(row["code"]), (0, 0))
        per_code[str(row["code"])] = (old[0] + pair[0], old[1] + pair[1])
    kept = {code: cs for code, cs in per_code.items() if sum(cs) > 0}
    if not kept:
        msg = "the quota asks for no site in any unit"
        raise SiteSelectionError(msg)
    codes = tuple(sorted(kept))
    return _Quota(
        codes=codes,
        quotas=np.array([sum(kept[c]) for c in codes], np.int64),
        centres=np.array([kept[c][0] for c in codes], np.int64),
        label=label,
    )


def _unit_names(codes: Sequence[str], sub: gpd.GeoDataFrame) -> list[str]:
    lookup = sub.set_index("code")["name_zh"]
    return [f"{lookup.get(c, c)} ({c})" for c in codes]


def _check_quota_room(
    q: _Quota, groups: IntArray, sub: gpd.GeoDataFrame, spacing_note: str
) -> None:
    have = np.bincount(groups[groups >= 0], minlength=len(q.codes))
    short = np.flatnonzero(have < q.quotas)
    if not len(short):
        return
    names = _unit_names(q.codes, sub)
    parts = [
        f"{names[g]}: quota {q.quotas[g]} new site(s) ({q.centres[g]} centre(s) + "
        f"{q.quotas[g] - q.centres[g]} station(s), {q.label}) but only {have[g]} candidate "
        "site(s) lie in it"
        for g in short
    ]
    msg = (
        "quota larger than the candidates: " + "; ".join(parts) + ". Lower the quota there, "
        f"supply more candidates (a candidate file){spacing_note}"
    )
    raise SiteSelectionError(msg)
