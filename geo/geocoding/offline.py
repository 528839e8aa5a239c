"""The offline geocoder: addresses matched against the data pack's road names (no service).

:class:`OfflineGeocoder` places an address at an intersection, along a road by its house number,
at the road's middle or at its subdistrict; build it with :func:`offline_geocoder_from_pack` or
:func:`offline_geocoder_from_lines`. The method is described in docs/geocoding.md.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
import shapely.ops
from pyproj import Transformer

from geo import _io, boundaries, settings
from geo._errors import InputFileError, UnknownSubdistrictError
from geo.geocoding.parse import (
    _DIRECTIONS,
    _RE_HAN,
    _ROAD_SUFFIXES,
    ParsedAddress,
    _split_suffix,
    normalise_road_name,
    parse_address,
    road_name_variants,
)
from geo.geocoding.results import (
    DEFAULT_REVIEW_THRESHOLD,
    LEVEL_CONFIDENCE,
    PENALTIES,
    GeocodeResult,
    _needs_review,
    _nowhere,
)
from geo.geocoding.spine import (
    METERS_PER_HOUSE_NUMBER,
    house_number_position,
    numbers_grow_forward,
    road_spine,
)

logger = logging.getLogger(__name__)

__all__ = [
    "FAR_ALONG_ROAD_METERS",
    "MAX_CROSSING_GAP_METERS",
    "SUBDISTRICT_TOLERANCE_METERS",
    "OfflineGeocoder",
    "offline_geocoder_from_lines",
    "offline_geocoder_from_pack",
]

#: Beyond this distance from the numbering end a numbered placement is no better than the
#: road's middle (median error ~600 m on the pack's addresses), so it is flagged for review.
FAR_ALONG_ROAD_METERS = 4000.0

#: A road counts as inside a subdistrict within this distance of its polygon (the pack's
#: polygons are approximate and neighbours overlap).
SUBDISTRICT_TOLERANCE_METERS = 300.0

#: Two roads closer than this, without crossing in the data, still make an intersection.
MAX_CROSSING_GAP_METERS = 150.0


@dataclass(frozen=True)
class _Draft:
    """A placement in metres before it becomes a :class:`GeocodeResult`."""

    level: str
    x: float
    y: float
    matched: str
    penalties: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class _RoadMatch:
    key: str
    kind: str
    inside: bool

    @property
    def penalties(self) -> tuple[str, ...]:
        out = () if self.kind == "exact" else (self.kind,)
        return out if self.inside else (*out, "outside_subdistrict")

    @property
    def cost(self) -> float:
        return sum(PENALTIES[p] for p in self.penalties)


@dataclass(frozen=True)
class OfflineGeocoder:
    """Geocode addresses against road names and subdistricts, with no service (precompute once).

    Build it with :func:`offline_geocoder_from_pack` or :func:`offline_geocoder_from_lines`.

    Attributes
    ----------
    roads
        Normalised road name → its pieces as metric LineStrings (``settings.metric_crs``).
    road_names
        Normalised road name → the name as written in the data.
    subdistricts
        The subdistrict polygons (EPSG:4326) with ``code`` and ``name_zh``.
    polygons
        Subdistrict code → polygon in metres.
    representative_points
        Subdistrict code → the fallback point in metres.
    meters_per_number
        See :data:`METERS_PER_HOUSE_NUMBER`.
    review_threshold
        Results below this confidence get ``review=True``.
    metric_crs
        The CRS of the metric geometries.
    """

    roads: Mapping[str, tuple[shapely.LineString, ...]]
    road_names: Mapping[str, str]
    subdistricts: gpd.GeoDataFrame
    polygons: Mapping[str, shapely.Geometry]
    representative_points: Mapping[str, shapely.Point]
    meters_per_number: float = METERS_PER_HOUSE_NUMBER
    review_threshold: float = DEFAULT_REVIEW_THRESHOLD
    metric_crs: str = settings.metric_crs
    _cache: dict[tuple[str, ...], Any] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @property
    def name(self) -> str:
        """``"offline"``."""
        return "offline"

    # --- public -------------------------------------------------------------------------------

    def geocode(
        self, address: str, *, subdistrict: str | None = None, house_numbers: bool = True
    ) -> GeocodeResult:
        """Geocode one address.

        Parameters
        ----------
        address
            Chinese address text (see :func:`parse_address`).
        subdistrict
            The address's subdistrict (name, short name or code), e.g. from a column; wins over
            one written in the text. Unknown names are ignored with a note.
        house_numbers
            False places numbered addresses at the middle of their road, as ``road`` matches
            do (the baseline :func:`evaluate` reports).

        Returns
        -------
        GeocodeResult
            Always a result; ``match_level="none"`` with a note when nothing could be placed.
        """
        parsed = parse_address(address, subdistricts=self._subdistrict_names())
        raw = "" if parsed.raw is None else parsed.raw
        problem = _unusable(parsed)
        if problem:
            return _nowhere(raw, self.name, problem)
        code, notes = self._resolve_subdistrict(subdistrict, parsed)
        draft = self._draft(parsed, code, house_numbers=house_numbers)
        if draft is None:
            where = "; no subdistrict given to fall back on" if code is None else ""
            return _nowhere(
                raw, self.name, "; ".join((*notes, f"nothing matched{where}")), code=code
            )
        return self._finish(raw, draft, code, notes)

    def subdistrict_code(self, query: str) -> str:
        """Return the code of a subdistrict given by code, name or short name.

        Raises
        ------
        UnknownSubdistrictError
            If nothing matches; the message lists the valid units.
        """
        key = ("code", str(query).strip())
        code = self._cache.get(key)
        if code is None:  # find_subdistrict raises for unknown names: nothing cached then
            code = str(boundaries.find_subdistrict(query, self.subdistricts)["code"])
            self._cache[key] = code
        return str(code)

    # --- steps --------------------------------------------------------------------------------

    def _resolve_subdistrict(
        self, hint: str | None, parsed: ParsedAddress
    ) -> tuple[str | None, tuple[str, ...]]:
        notes: list[str] = []
        code = None
        if hint is not None and str(hint).strip() and str(hint).strip().lower() != "nan":
            try:
                code = self.subdistrict_code(str(hint).strip())
            except UnknownSubdistrictError:
                notes.append(f"unknown subdistrict {hint!r} ignored")
        if parsed.subdistrict:
            in_text = self.subdistrict_code(parsed.subdistrict)
            if code is not None and in_text != code:
                notes.append(f"text says {parsed.subdistrict}, column says {hint}: column used")
            code = code or in_text
        return code, tuple(notes)

    def _draft(
        self, parsed: ParsedAddress, code: str | None, *, house_numbers: bool
    ) -> _Draft | None:
        draft = None
        if parsed.kind == "intersection":
            draft = self._intersection(parsed.road, parsed.road2, code)
            if draft is None:  # the roads do not meet: fall back to whichever road matches
                note = f"{parsed.road} and {parsed.road2} do not meet in the data"
                road = self._road(parsed.road, None, code) or self._road(parsed.road2, None, code)
                draft = None if road is None else replace(road, notes=(*road.notes, note))
        elif parsed.kind in ("numbered", "road"):
            draft = self._road(parsed.road, parsed.number if house_numbers else None, code)
        elif parsed.kind == "place":
            draft = self._place(parsed.place, code)
        if draft is None and code is not None:
            draft = self._subdistrict_draft(parsed.road or parsed.place, code)
        return draft

    def _subdistrict_draft(self, what: str, code: str) -> _Draft:
        """The subdistrict fallback: on a road named like the place, else the unit's point."""
        note = f"{what!r} matched no road in the data" if what else "only a subdistrict is given"
        namesake = self._namesake_road(what, code)
        if namesake is None:
            x, y = self.representative_points[code].coords[0]
            return _Draft("subdistrict", x, y, self._subdistrict_name(code), notes=(note,))
        point = _middle(self._lines_inside(namesake, code))
        label = f"{self._subdistrict_name(code)} ({self.road_names[namesake]})"
        hint = f"placed on {self.road_names[namesake]}, which shares its name"
        return _Draft("subdistrict", point.x, point.y, label, ("namesake_road",), (note, hint))

    def _finish(
        self, raw: str, draft: _Draft, code: str | None, notes: tuple[str, ...]
    ) -> GeocodeResult:
        conf = LEVEL_CONFIDENCE[draft.level] - sum(PENALTIES[p] for p in set(draft.penalties))
        conf = round(min(max(conf, 0.05), 1.0), 2)
        lon, lat = self._lonlat(draft.x, draft.y)
        weaker = (p.replace("_", " ") for p in draft.penalties if PENALTIES[p] > 0)
        all_notes = (*notes, *draft.notes, *weaker)
        return GeocodeResult(
            address=raw,
            lon=lon,
            lat=lat,
            match_level=draft.level,
            confidence=conf,
            provider=self.name,
            review=_needs_review(draft.level, conf, self.review_threshold),
            matched=draft.matched,
            subdistrict_code=code,
            note="; ".join(dict.fromkeys(all_notes)),
        )

    # --- roads --------------------------------------------------------------------------------

    def _match_road(self, name: str, code: str | None) -> _RoadMatch | None:
        found = [
            _RoadMatch(key, kind, self._road_inside(key, code))
            for key, kind in road_name_variants(name)
            if key in self.roads
        ]
        if not found:
            similar = self._similar_road(name, code)
            return None if similar is None else _RoadMatch(similar, "similar_name", True)
        return min(found, key=lambda m: m.cost)  # min keeps the first (best kind) on ties

    def _similar_road(self, name: str, code: str | None) -> str | None:
        """A road whose name differs by one easily confused character (潭/谭), nearby."""
        key = normalise_road_name(name)
        stem, suffix = _split_suffix(key)
        if len(stem) < 2 or not suffix:
            return None
        hits = [
            other
            for other in self.roads
            if len(other) == len(key)
            and other.endswith(suffix)
            and _confusable(other, key)
            and (code is None or self._road_inside(other, code))
        ]
        return hits[0] if len(hits) == 1 else None

    def _road_inside(self, key: str, code: str | None) -> bool:
        return code is None or not self._lines_inside(key, code).is_empty

    def _lines(self, key: str) -> shapely.Geometry:
        cached = self._cache.get(("lines", key))
        if cached is None:
            cached = shapely.union_all(list(self.roads[key]))
            self._cache[("lines", key)] = cached
        return cached

    def _lines_inside(self, key: str, code: str | None) -> shapely.Geometry:
        """The road's lines inside the subdistrict (with tolerance); all of it without one."""
        if code is None:
            return self._lines(key)
        cached = self._cache.get(("inside", key, code))
        if cached is None:
            zone = self._zone(code)
            cached = shapely.intersection(self._lines(key), zone)
            self._cache[("inside", key, code)] = cached
        return cached

    def _zone(self, code: str) -> shapely.Geometry:
        cached = self._cache.get(("zone", code))
        if cached is None:
            cached = shapely.buffer(self.polygons[code], SUBDISTRICT_TOLERANCE_METERS)
            shapely.prepare(cached)
            self._cache[("zone", code)] = cached
        return cached

    def _spine(self, key: str) -> shapely.LineString:
        cached = self._cache.get(("spine", key))
        if cached is None:
            xy = road_spine([np.asarray(line.coords) for line in self.roads[key]])
            cached = shapely.LineString(xy)
            self._cache[("spine", key)] = cached
        return cached

    def _road(self, name: str, number: int | None, code: str | None) -> _Draft | None:
        match = self._match_road(name, code)
        if match is None:
            return None
        target = self._lines_inside(match.key, code if match.inside else None)
        label = self.road_names[match.key]
        middle = _middle(target)
        if number is None:
            return _Draft("road", middle.x, middle.y, label, match.penalties)
        spine = self._spine(match.key)
        forward = numbers_grow_forward(np.asarray(spine.coords), match.key)
        s, beyond = house_number_position(
            number, spine.length, forward=forward, meters_per_number=self.meters_per_number
        )
        if beyond:  # numbering starts outside the data: the number says nothing usable
            note = (
                f"number {number} lies beyond the {spine.length:.0f} m of {label} in the data "
                "(its numbering starts outside): placed at the road's middle"
            )
            return _Draft("road", middle.x, middle.y, label, match.penalties, (note,))
        point = shapely.ops.nearest_points(target, spine.interpolate(s))[0]
        far = number * self.meters_per_number > FAR_ALONG_ROAD_METERS
        penalties = (*match.penalties, "far_along_road") if far else match.penalties
        return _Draft("road+number", point.x, point.y, f"{label} {number}", penalties)

    def _intersection(self, name_a: str, name_b: str, code: str | None) -> _Draft | None:
        a = self._match_road(name_a, code)
        b = self._match_road(name_b, code)
        if a is None or b is None or a.key == b.key:
            return None
        lines_a, lines_b = self._lines(a.key), self._lines(b.key)
        crossing = shapely.intersection(lines_a, lines_b)
        penalties = tuple(dict.fromkeys((*a.penalties, *b.penalties)))
        if crossing.is_empty:
            gap = shapely.shortest_line(lines_a, lines_b)
            if gap.length > MAX_CROSSING_GAP_METERS:
                return None
            crossing = gap.interpolate(0.5, normalized=True)
            penalties = (*penalties, "near_miss_crossing")
        point = self._pick_point(crossing, code)
        label = f"{self.road_names[a.key]} / {self.road_names[b.key]}"
        return _Draft("intersection", point.x, point.y, label, penalties)

    def _pick_point(self, geom: shapely.Geometry, code: str | None) -> shapely.Point:
        """One point of ``geom``: inside (or nearest to) the subdistrict, else its centre."""
        points = [p for p in shapely.get_parts(shapely.extract_unique_points(geom))]
        if code is None:
            return _middle(shapely.MultiPoint(points))
        rep = self.representative_points[code]
        zone = self._zone(code)
        inside = [p for p in points if zone.contains(p)] or points
        return min(inside, key=rep.distance)

    def _place(self, place: str, code: str | None) -> _Draft | None:
        """A named place whose name is also a road's (``龙柏三村`` is a road in OSM)."""
        key = normalise_road_name(place)
        if key not in self.roads:
            return None
        inside = self._road_inside(key, code)
        target = self._lines_inside(key, code if inside else None)
        point = _middle(target)
        penalties = ("place_named_road",) if inside else ("place_named_road", "outside_subdistrict")
        return _Draft("road", point.x, point.y, self.road_names[key], penalties)

    def _namesake_road(self, place: str, code: str) -> str | None:
        """A road in the subdistrict named after the place's first characters.

        ``平南一村`` → ``平南路``, ``丁连村`` → ``丁连路``, ``沁春园一村`` → ``沁春路``: the longest
        leading part (two characters or more) that, with an optional 东/西/南/北/中 and a road
        suffix, is the name of a road passing through the subdistrict.
        """
        text = normalise_road_name(place)
        for n in range(len(text) - 1, 1, -1):
            prefix = text[:n]
            for middle in ("", *_DIRECTIONS):
                for suffix in _ROAD_SUFFIXES:
                    key = prefix + middle + suffix
                    if key != text and key in self.roads and self._road_inside(key, code):
                        return str(key)
        return None

    # --- helpers ------------------------------------------------------------------------------

    def _subdistrict_names(self) -> tuple[str, ...]:
        names = self._cache.get(("all_names",))
        if names is None:
            names = tuple(str(n) for n in self.subdistricts["name_zh"])
            self._cache[("all_names",)] = names
        return tuple(names)

    def _subdistrict_name(self, code: str) -> str:
        names = self._cache.get(("names",))
        if names is None:
            names = dict(
                zip(
                    self.subdistricts["code"].astype(str), self.subdistricts["name_zh"], strict=True
                )
            )
            self._cache[("names",)] = names
        return str(names[code])

    def _lonlat(self, x: float, y: float) -> tuple[float, float]:
        to_lonlat = self._cache.get(("to_lonlat",))
        if to_lonlat is None:
            to_lonlat = Transformer.from_crs(self.metric_crs, settings.wgs84_crs, always_xy=True)
            self._cache[("to_lonlat",)] = to_lonlat
        lon, lat = to_lonlat.transform(x, y)
        return round(float(lon), 7), round(float(lat), 7)


#: Characters often swapped in written addresses (same or similar sound, similar shape).
_CONFUSABLE: tuple[frozenset[str], ...] = tuple(
    frozenset(pair)
    for pair in (
        "潭谭",
        "州洲",
        "泾径",
        "浜滨",
        "桥侨",
        "虹红",
        "兰蓝",
        "莘辛",
        "汇会",
        "翟瞿",
        "沥历",
        "杨扬",
        "浦蒲",
        "园圆",
        "松淞",
        "泽择",
        "锦金",
        "梅枚",
        "华化",
        "龙隆",
    )
)


def _confusable(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` differ in exactly one place, by a pair in :data:`_CONFUSABLE`."""
    if len(a) != len(b):
        return False
    diff = [(x, y) for x, y in zip(a, b, strict=True) if x != y]
    return len(diff) == 1 and frozenset(diff[0]) in _CONFUSABLE


def _unusable(parsed: ParsedAddress) -> str:
    """Why an address cannot be geocoded offline ("" when it can)."""
    if parsed.kind == "empty":
        return "empty address"
    if not _RE_HAN.search(parsed.text):
        return (
            f"no Chinese characters in {parsed.raw!r}: the offline geocoder reads Chinese "
            "addresses (上海市闵行区…路…号); try an online provider"
        )
    if parsed.outside_minhang:
        return f"address is in {parsed.district}, outside Minhang (闵行区)"
    return ""


def _middle(geom: shapely.Geometry) -> shapely.Point:
    """The point of ``geom`` nearest its centroid (the middle of a road's part, a crossing)."""
    return shapely.ops.nearest_points(geom, geom.centroid)[0]


def offline_geocoder_from_lines(
    gdf_lines: gpd.GeoDataFrame,
    gdf_subdistricts: gpd.GeoDataFrame | None = None,
    *,
    name_column: str = "name",
    meters_per_number: float = METERS_PER_HOUSE_NUMBER,
    review_threshold: float = DEFAULT_REVIEW_THRESHOLD,
) -> OfflineGeocoder:
    """Build an offline geocoder from named road lines and subdistrict polygons.

    Parameters
    ----------
    gdf_lines
        Road centre-lines with a CRS and a name column (unnamed lines are skipped).
    gdf_subdistricts
        Polygons with ``code`` and ``name_zh`` (default: the pack's, see
        :func:`geo.boundaries.load_subdistricts`).
    name_column
        The column holding road names.
    meters_per_number, review_threshold
        See :class:`OfflineGeocoder`.

    Raises
    ------
    InputFileError
        If the lines have no CRS, no name column or no named line.
    """
    if name_column not in gdf_lines.columns:
        msg = (
            f"road lines need a {name_column!r} column of road names to geocode against; "
            f"columns found: {[c for c in gdf_lines.columns if c != 'geometry']}"
        )
        raise InputFileError(msg)
    if gdf_lines.crs is None:
        msg = "road lines have no CRS; set one (EPSG:4326 expected) before geocoding"
        raise InputFileError(msg)
    lines = (
        gdf_lines[[name_column, "geometry"]].to_crs(settings.metric_crs).explode(ignore_index=True)
    )
    lines = lines[lines.geom_type == "LineString"]
    keys = lines[name_column].map(normalise_road_name)
    keep = keys.str.len() > 0
    if not keep.any():
        msg = f"road lines hold no named line in column {name_column!r}; nothing to match"
        raise InputFileError(msg)
    roads: dict[str, tuple[shapely.LineString, ...]] = {}
    names: dict[str, str] = {}
    for key, group in lines[keep].groupby(keys[keep], sort=True):
        roads[str(key)] = tuple(group.geometry.values)
        names[str(key)] = str(group[name_column].mode().iloc[0]).split("·")[-1].strip()
    sub = boundaries.subdistricts(gdf_subdistricts)
    polys_m = sub.geometry.to_crs(settings.metric_crs)
    polygons = dict(zip(sub["code"].astype(str), polys_m.values, strict=True))
    rep = {code: _representative_point(poly) for code, poly in polygons.items()}
    logger.info("offline geocoder: %d road names, %d subdistricts", len(roads), len(polygons))
    return OfflineGeocoder(
        roads=roads,
        road_names=names,
        subdistricts=sub,
        polygons=polygons,
        representative_points=rep,
        meters_per_number=meters_per_number,
        review_threshold=review_threshold,
    )


def _representative_point(polygon: shapely.Geometry) -> shapely.Point:
    """The polygon's centroid, or a point inside it when the centroid falls outside."""
    centroid = polygon.centroid
    return centroid if polygon.contains(centroid) else polygon.representative_point()


@lru_cache(maxsize=4)
def _pack_geocoder(folder: str) -> OfflineGeocoder:
    from geo import network  # the roads file's name lives there

    path = settings.data_file(network.PACK_ROADS)
    try:
        gdf = pyogrio.read_dataframe(_io.vector_source(path), columns=["name"])
    except Exception as exc:  # pyogrio raises several types; re-raise with the file named
        msg = f"cannot read road lines {path}: {exc}"
        raise InputFileError(msg) from exc
    return offline_geocoder_from_lines(gdf)


def offline_geocoder_from_pack() -> OfflineGeocoder:
    """Return the offline geocoder over the data pack's 8,313 named road lines (built once)."""
    return _pack_geocoder(str(settings.resolve_data_folder()))
