"""Geocode Chinese addresses in Minhang: offline first (the pack's road names), online if asked.

The offline geocoder needs no service. It parses an address into district, subdistrict (街镇),
road, house number (号/弄), an intersection ("A路与B路交叉口", "A路B路口") or a named place, finds
the road among the road names of the data pack (normalising 路/公路/大道/街 variants, 东/西/南/北/中
parts and full-width characters) and places the address:

``intersection``
    where the two roads cross (inside the subdistrict when one is given);
``road+number``
    along the road by the house-number rule below, then onto the road's part inside the
    subdistrict;
``road``
    at the middle of the road's part inside the subdistrict (no usable number);
``subdistrict``
    at the subdistrict's representative point, or on a road named like the place (no road
    matched);
``none``
    no location (empty text, not Chinese, another district, nothing matched).

Every result carries a confidence in [0, 1] (a base per level minus penalties for weaker name
matches, see :data:`LEVEL_CONFIDENCE` and :data:`PENALTIES`) and ``review=True`` when the confidence
is below the threshold (default :data:`DEFAULT_REVIEW_THRESHOLD`): nothing below it is accepted
silently. A planner's manual correction (:func:`add_override`) always wins, with level ``manual``.

House-number rule
-----------------
Shanghai numbers a road from one end, odd and even numbers on opposite sides. In Minhang, roads
running east-west are numbered from their east end (numbers grow westward) and roads running
north-south from their south end (numbers grow northward), except ``…南路``/``…南街`` sections,
numbered from their north end. An address with number ``n`` is put ``n`` ×
:data:`METERS_PER_HOUSE_NUMBER` metres from the numbering end along the road's spine (the longest
path through its pieces, gaps bridged), then moved to the nearest point of the road inside the
subdistrict. If that distance exceeds the road's length in the data, the numbering starts outside
it (the pack is cut at the district boundary): the number is not used and the address goes to the
middle of the road in the subdistrict (level ``road``). Numbers beyond
:data:`FAR_ALONG_ROAD_METERS` are flagged for review (the error grows along the road).

The convention was checked on the pack's residential addresses: of the 76 roads with four or more
numbered addresses whose numbers and positions correlate (|r| >= 0.8), 73 follow it (the
exceptions, 龙吴路, 老沪闵路 and 莘朱路, are numbered the other way; they are not special-cased).
The metres per number (2.0) was calibrated on the even rows of that file (grid 1.5-2.5 m) and
checked on the odd rows (:func:`evaluate`); odd/even sides are not modelled (centre-lines only).

Named places that match no road (``平南一村``, ``丁连村``) fall back to their subdistrict, but are
put on a road of the subdistrict named after them (``平南路``, ``丁连路``) when one exists; the
level stays ``subdistrict``.

Online providers (:class:`NominatimProvider`, :class:`AmapProvider`) share the :class:`Provider`
interface, are used only when asked for, convert AMap's GCJ-02 to WGS-84 and are cached on disk
(:class:`GeocodeCache`) keyed by provider, subdistrict and normalised address.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import os
import re
import tempfile
import time
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import geopandas as gpd
import networkx as nx
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyogrio
import shapely
import shapely.ops
from pyproj import Geod, Transformer
from scipy.spatial import cKDTree

from geo import _io, boundaries, coords, settings
from geo._errors import (
    ExportError,
    GeocodingError,
    InputFileError,
    RowProblem,
    UnknownSubdistrictError,
)
from geo._io import atomic_target
from geo._validate import match_columns, parse_float, raise_if_problems, read_table

logger = logging.getLogger(__name__)

__all__ = [
    "CACHE_FILE_NAME",
    "DEFAULT_REVIEW_THRESHOLD",
    "FAR_ALONG_ROAD_METERS",
    "FIELD_ALIASES",
    "LEVEL_CONFIDENCE",
    "MATCH_LEVELS",
    "MAX_CROSSING_GAP_METERS",
    "METERS_PER_HOUSE_NUMBER",
    "MINHANG_BBOX",
    "MINHANG_SUBDISTRICTS",
    "OUTPUT_COLUMNS",
    "OVERRIDES_FILE_NAME",
    "PENALTIES",
    "PROVIDER_NAMES",
    "ROAD_OR_BETTER",
    "SHANGHAI_DISTRICTS",
    "SPINE_SNAP_METERS",
    "SUBDISTRICT_TOLERANCE_METERS",
    "AmapProvider",
    "Evaluation",
    "GeocodeCache",
    "GeocodeResult",
    "GeocodedTable",
    "NominatimProvider",
    "OfflineGeocoder",
    "ParsedAddress",
    "Provider",
    "RateLimiter",
    "add_override",
    "evaluate",
    "geocode_table",
    "geodesic_meters",
    "house_number_position",
    "normalise_address",
    "normalise_road_name",
    "numbers_grow_forward",
    "offline_geocoder_from_lines",
    "offline_geocoder_from_pack",
    "parse_address",
    "provider_from_name",
    "read_overrides",
    "road_name_variants",
    "road_spine",
]

FloatArray = npt.NDArray[np.float64]

#: Match levels, best first. ``manual`` is a planner's override; the others come from a geocoder.
MATCH_LEVELS: tuple[str, ...] = (
    "manual", "intersection", "road+number", "road", "subdistrict", "none",
)  # fmt: skip

#: Levels that count as "road level or better" in :func:`evaluate`.
ROAD_OR_BETTER: frozenset[str] = frozenset({"manual", "intersection", "road+number", "road"})

#: Confidence of an offline match before penalties, per level.
LEVEL_CONFIDENCE: dict[str, float] = {
    "manual": 1.0,
    "intersection": 0.9,
    "road+number": 0.8,
    "road": 0.55,
    "subdistrict": 0.25,
    "none": 0.0,
}

#: Confidence taken off for weaker evidence (each applies once).
PENALTIES: dict[str, float] = {
    "suffix_variant": 0.05,  # 路 matched 公路/大道/街 (or the reverse)
    "direction_variant": 0.1,  # 莲花南路 matched 莲花路, 景谷中路 matched 景谷路, ...
    "similar_name": 0.25,  # one character differs (莘潭路 → 莘谭路)
    "outside_subdistrict": 0.35,  # the road does not pass through the given subdistrict
    "far_along_road": 0.25,  # number x metres per number > FAR_ALONG_ROAD_METERS: the error grows
    "near_miss_crossing": 0.1,  # the two roads do not meet in the data; placed between them
    "place_named_road": 0.15,  # a named place (e.g. 龙柏三村) matched a road of the same name
    "namesake_road": -0.05,  # subdistrict fallback put on a road named like the place (平南一村)
}

#: Results below this confidence get ``review=True``.
DEFAULT_REVIEW_THRESHOLD = 0.6

#: Metres along the road per house number (numbers alternate sides; calibrated, see module doc).
METERS_PER_HOUSE_NUMBER = 2.0

#: Beyond this distance from the numbering end a numbered placement is no better than the
#: road's middle (median error ~600 m on the pack's addresses), so it is flagged for review.
FAR_ALONG_ROAD_METERS = 4000.0

#: A road counts as inside a subdistrict within this distance of its polygon (the pack's
#: polygons are approximate and neighbours overlap).
SUBDISTRICT_TOLERANCE_METERS = 300.0

#: Piece ends closer than this are one junction when a road's spine is built.
SPINE_SNAP_METERS = 30.0

#: Two roads closer than this, without crossing in the data, still make an intersection.
MAX_CROSSING_GAP_METERS = 150.0

#: Provider names :func:`provider_from_name` accepts.
PROVIDER_NAMES: tuple[str, ...] = ("offline", "nominatim", "amap")

#: Shanghai's districts (and former ones still seen in old addresses).
SHANGHAI_DISTRICTS: tuple[str, ...] = (
    "浦东新区", "黄浦区", "徐汇区", "长宁区", "静安区", "普陀区", "虹口区", "杨浦区", "闵行区",
    "宝山区", "嘉定区", "金山区", "松江区", "青浦区", "奉贤区", "崇明区", "闸北区", "卢湾区",
    "南汇区",
)  # fmt: skip

#: The pack's 14 units, used when an address is parsed without a geocoder.
MINHANG_SUBDISTRICTS: tuple[str, ...] = (
    "江川路街道", "古美街道", "新虹街道", "浦锦街道", "莘庄镇", "七宝镇", "颛桥镇", "华漕镇",
    "虹桥镇", "梅陇镇", "吴泾镇", "马桥镇", "浦江镇", "莘庄工业区",
)  # fmt: skip

#: Minhang's bounding box (lon_min, lat_min, lon_max, lat_max), a little padded.
MINHANG_BBOX: tuple[float, float, float, float] = (121.23, 30.97, 121.58, 31.27)

_ROAD_SUFFIXES: tuple[str, ...] = ("公路", "大道", "大街", "路", "街", "巷")
_DIRECTIONS = "东西南北中"
_ROAD = r"[\u4e00-\u9fffA-Za-z0-9]+?(?:公路|大道|大街|路|街|巷)"
_NUMBER = r"(\d+)(?:[-之]\d+)?(号|弄)"
_CONNECTORS = r"(?:与|和|及|跟|交|、|/|&|\+)"
_RE_INTERSECTIONS = (
    # "A路与B路交叉口", "A路B路口工地": a crossing word, then any remark
    re.compile(rf"^({_ROAD}){_CONNECTORS}?({_ROAD})(?:交叉路口|交叉口|交界处|交汇处|路口|口)(.*)$"),
    # "A路/B路", "A路和B路": a connector
    re.compile(rf"^({_ROAD}){_CONNECTORS}({_ROAD})(.*)$"),
    # "A路B路工地": two roads side by side, then a remark without a number
    re.compile(rf"^({_ROAD})({_ROAD})(\D*)$"),
)
_RE_NUMBERED = re.compile(rf"^({_ROAD}){_NUMBER}(.*)$")
_RE_ROAD = re.compile(rf"^({_ROAD})(.*)$")
_RE_HAN = re.compile(r"[\u4e00-\u9fff]")
_RE_BRACKETS = re.compile(r"\([^)]*\)|\[[^\]]*\]|【[^】]*】|〔[^〕]*〕")
_RE_DROP = re.compile(r"[\s,.;:'\"!?·•・。、，；：！？“”‘’]")
_PREFIXES = ("中华人民共和国", "中国", "上海市", "上海")


# ---------------------------------------------------------------------------------------------
# Text: normalisation and parsing (pure)
# ---------------------------------------------------------------------------------------------


def normalise_address(text: object) -> str:
    """Return ``text`` in one canonical spelling: the key of the cache and the overrides.

    NFKC (full-width digits, letters and brackets become ASCII), bracketed remarks removed,
    spaces and punctuation removed, a leading ``中国``/``上海市``/``上海`` removed, letters
    lower-cased.
    ``None`` and NaN give ``""``.
    """
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ""
    s = unicodedata.normalize("NFKC", str(text))
    s = _RE_DROP.sub("", _RE_BRACKETS.sub("", s)).lower()
    for prefix in _PREFIXES:
        if s.startswith(prefix):
            s = s[len(prefix) :]
    return s


def normalise_road_name(name: object) -> str:
    """Return a road name as it is matched: NFKC, no spaces, brackets or place prefix.

    ``"闵行 · 新源路"`` → ``"新源路"``, ``"东川路（施工绕路）"`` → ``"东川路"``,
    ``"莘庄１号路"`` → ``"莘庄1号路"``.
    """
    if name is None or (isinstance(name, float) and math.isnan(name)):
        return ""
    s = unicodedata.normalize("NFKC", str(name))
    for sep in ("·", "•", "・"):
        if sep in s:
            s = s.split(sep)[-1]
    return _RE_DROP.sub("", _RE_BRACKETS.sub("", s)).lower()


def _split_suffix(name: str) -> tuple[str, str]:
    for suffix in _ROAD_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)], suffix
    return name, ""


def road_name_variants(name: str) -> list[tuple[str, str]]:
    """Return spellings to try for a road name, best first, each with its kind.

    Kinds: ``exact``; ``suffix_variant`` (路 ↔ 公路 ↔ 大道 ↔ 街 ↔ 大街); ``direction_variant``
    (a 东/西/南/北/中 before the suffix removed, e.g. 莲花南路 → 莲花路, or added, e.g.
    莲花路 → 莲花南路, with each suffix).

    Examples
    --------
    >>> road_name_variants("浦星路")[:3]
    [('浦星路', 'exact'), ('浦星公路', 'suffix_variant'), ('浦星大道', 'suffix_variant')]
    """
    key = normalise_road_name(name)
    stem, suffix = _split_suffix(key)
    out: list[tuple[str, str]] = [(key, "exact")]
    if not suffix or len(stem) < 2:
        return out
    out += [(stem + s, "suffix_variant") for s in _ROAD_SUFFIXES if s != suffix]
    stems: list[str] = []
    if len(stem) >= 3 and stem[-1] in _DIRECTIONS:
        stems.append(stem[:-1])
    stems += [stem + d for d in _DIRECTIONS if not stem.endswith(d)]
    for other in stems:
        out += [(other + s, "direction_variant") for s in (suffix, *_ROAD_SUFFIXES) if s]
    seen: set[str] = set()
    unique = []
    for variant, kind in out:
        if variant not in seen:
            seen.add(variant)
            unique.append((variant, kind))
    return unique


@dataclass(frozen=True)
class ParsedAddress:
    """The parts of one address; empty strings and None where a part is absent.

    Attributes
    ----------
    raw
        The input as given.
    text
        :func:`normalise_address` of the input.
    district
        The Shanghai district named in the text (``"闵行区"``, ``"徐汇区"``, ...), else ``""``.
    subdistrict
        The Minhang subdistrict named in the text (full name), else ``""``.
    road, road2
        The road, and the second road of an intersection.
    number, number_kind
        House number and ``"号"`` or ``"弄"`` (``None``, ``""`` when absent).
    place
        What is left when no road was recognised (a named place such as ``丁连村``), or the
        remark after a road (``小区58弄``).
    """

    raw: str
    text: str
    district: str = ""
    subdistrict: str = ""
    road: str = ""
    road2: str = ""
    number: int | None = None
    number_kind: str = ""
    place: str = ""

    @property
    def kind(self) -> str:
        """``"empty"``, ``"intersection"``, ``"numbered"``, ``"road"`` or ``"place"``."""
        if not self.text:
            return "empty"
        if self.road2:
            return "intersection"
        if self.road and self.number is not None:
            return "numbered"
        return "road" if self.road else "place"

    @property
    def outside_minhang(self) -> bool:
        """True when the text names a Shanghai district other than 闵行区."""
        return bool(self.district) and self.district != "闵行区"


def _strip_district(text: str) -> tuple[str, str]:
    for district in SHANGHAI_DISTRICTS:
        at = text.find(district)
        if at == 0 or (at > 0 and at <= 2):  # allow a leftover prefix such as "市"
            return district, text[at + len(district) :]
    if text.startswith("闵行") and not text.startswith("闵行区"):
        return "闵行区", text[len("闵行") :]
    return "", text


def _short_name(name: str) -> str:
    """``七宝镇`` → ``七宝``, ``古美街道`` → ``古美``, ``莘庄工业区`` → ``莘庄``."""
    for suffix in ("街道", "工业区", "镇"):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


def _first_token(raw: str) -> str | None:
    """The first space-separated word after any country, city and district words."""
    tokens = unicodedata.normalize("NFKC", raw).split()
    for token in tokens[:-1]:  # the last word is never followed by a space
        rest = _strip_district(normalise_address(token))[1]
        if rest:
            return rest
    return None


def _strip_subdistrict(text: str, raw: str, names: Sequence[str]) -> tuple[str, str]:
    for name in sorted(names, key=len, reverse=True):
        if text.startswith(name):
            return name, text[len(name) :]
    # short forms (七宝 for 七宝镇) only when set apart by a space: "七宝 漕宝路1234号"
    token = _first_token(raw)
    for name in names:
        short = _short_name(name)
        if token == short and text.startswith(short):
            return name, text[len(short) :]
    return "", text


def parse_address(
    text: object, *, subdistricts: Sequence[str] = MINHANG_SUBDISTRICTS
) -> ParsedAddress:
    """Split a Chinese address into district, subdistrict, road(s), number and named place.

    Recognised forms (after an optional ``上海市``, district and subdistrict): ``A路123号``,
    ``A路123弄`` (remarks after the number, such as ``111支弄``, are ignored), ``A路与B路交叉口``,
    ``A路和B路路口``, ``A路B路口``, ``A路/B路``, ``A路`` alone, and anything else as a named place
    (``丁连村``, ``古美一村``). Road suffixes: 公路, 大道, 大街, 路, 街, 巷.

    Parameters
    ----------
    text
        The address; ``None``/NaN count as empty.
    subdistricts
        Full names of the subdistricts to recognise (default: Minhang's 14 units); the short
        form without 镇/街道 is recognised when followed by a space.

    Returns
    -------
    ParsedAddress
        See its :attr:`ParsedAddress.kind`.
    """
    raw = "" if text is None or (isinstance(text, float) and math.isnan(text)) else str(text)
    norm = normalise_address(raw)
    district, rest = _strip_district(norm)
    subdistrict, rest = _strip_subdistrict(rest, raw, subdistricts)
    base = ParsedAddress(raw=raw, text=norm, district=district, subdistrict=subdistrict)
    if not rest:
        return base
    for pattern in _RE_INTERSECTIONS:
        m = pattern.match(rest)
        if m:
            return replace(base, road=m.group(1), road2=m.group(2), place=m.group(3))
    m = _RE_NUMBERED.match(rest)
    if m:
        number = int(m.group(2))
        return replace(
            base, road=m.group(1), number=number, number_kind=m.group(3), place=m.group(4)
        )
    m = _RE_ROAD.match(rest)
    if m:
        return replace(base, road=m.group(1), place=m.group(2))
    return replace(base, place=rest)


# ---------------------------------------------------------------------------------------------
# Numeric core: a road's spine and positions along it (metres, no geometry objects)
# ---------------------------------------------------------------------------------------------


def _cluster_ends(ends: FloatArray, snap_meters: float) -> npt.NDArray[np.intp]:
    """Label each end point; ends within ``snap_meters`` (transitively) share a label."""
    pairs = cKDTree(ends).query_pairs(snap_meters, output_type="ndarray")
    g = nx.Graph()
    g.add_nodes_from(range(len(ends)))
    g.add_edges_from(pairs.tolist())
    labels = np.empty(len(ends), dtype=np.intp)
    for label, comp in enumerate(nx.connected_components(g)):
        labels[list(comp)] = label
    return labels


def _join_components(g: nx.Graph, node_xy: FloatArray) -> None:
    """Bridge the components of ``g`` by straight links between their closest nodes (mutates)."""
    comps = [sorted(c) for c in nx.connected_components(g)]
    while len(comps) > 1:
        first = np.asarray(comps[0])
        links = []
        for ci in range(1, len(comps)):
            other = np.asarray(comps[ci])
            d = np.linalg.norm(node_xy[first][:, None, :] - node_xy[other][None, :, :], axis=2)
            i, j = np.unravel_index(int(np.argmin(d)), d.shape)
            links.append((float(d[i, j]), int(first[i]), int(other[j]), ci))
        dist, u, v, ci = min(links)
        g.add_edge(u, v, weight=dist, coords=node_xy[[min(u, v), max(u, v)]])
        comps[0] = comps[0] + comps[ci]
        del comps[ci]


def road_spine(
    parts: Sequence[npt.ArrayLike], *, snap_meters: float = SPINE_SNAP_METERS
) -> FloatArray:
    """Return one polyline through a road's pieces: the longest of its shortest paths.

    The pieces (dual carriageways, ways split at junctions, gaps where short ways were dropped)
    become a graph whose nodes are piece ends merged within ``snap_meters``; components are
    bridged by straight links between their closest ends; the spine is the shortest path between
    the two nodes farthest apart (found by two Dijkstra sweeps), each piece oriented along it.

    Parameters
    ----------
    parts
        The pieces, each an (n, 2) array of x, y in metres (n >= 2).
    snap_meters
        Ends closer than this are one junction.

    Returns
    -------
    numpy.ndarray
        (m, 2) vertices of the spine in metres; a single piece comes back as it is.
    """
    pieces = [np.asarray(p, dtype=np.float64).reshape(-1, 2) for p in parts]
    pieces = [p for p in pieces if len(p) >= 2]
    if not pieces:
        return np.empty((0, 2))
    if len(pieces) == 1:
        return pieces[0]
    ends = np.array([e for p in pieces for e in (p[0], p[-1])])
    labels = _cluster_ends(ends, snap_meters)
    node_xy = np.array([ends[labels == k].mean(axis=0) for k in range(labels.max() + 1)])
    g = nx.Graph()
    g.add_nodes_from(range(len(node_xy)))
    for j, piece in enumerate(pieces):
        u, v = int(labels[2 * j]), int(labels[2 * j + 1])
        length = float(np.hypot(*np.diff(piece, axis=0).T).sum())
        if u != v and (not g.has_edge(u, v) or g[u][v]["weight"] > length):
            g.add_edge(u, v, weight=length, coords=piece if u < v else piece[::-1])
    g.remove_nodes_from([n for n in list(g.nodes) if g.degree(n) == 0])
    if g.number_of_edges() == 0:
        return max(pieces, key=len)
    _join_components(g, node_xy)
    start = next(iter(g.nodes))
    dist = nx.single_source_dijkstra_path_length(g, start)
    a = max(dist, key=dist.__getitem__)
    dist_a, paths = nx.single_source_dijkstra(g, a)
    b = max(dist_a, key=dist_a.__getitem__)
    path = paths[b]
    out = []
    for u, v in itertools.pairwise(path):
        c = g[u][v]["coords"]
        out.append(c if u < v else c[::-1])
    return np.vstack(out)


def numbers_grow_forward(spine: FloatArray, road_name: str) -> bool:
    """Return True when house numbers grow from the spine's first vertex to its last.

    The rule (see the module doc): ``…南路``/``…南街`` sections southward; other roads westward if
    they run more east-west than north-south (end to end), else northward.

    Parameters
    ----------
    spine
        (m, 2) vertices in a metric CRS with x east and y north.
    road_name
        The road's name (normalised or not).
    """
    dx, dy = spine[-1] - spine[0]
    stem, _ = _split_suffix(normalise_road_name(road_name))
    if stem.endswith("南"):
        return bool(dy < 0)
    if abs(dx) >= abs(dy):
        return bool(dx < 0)
    return bool(dy > 0)


def house_number_position(
    number: float,
    length_meters: float,
    *,
    forward: bool,
    meters_per_number: float = METERS_PER_HOUSE_NUMBER,
) -> tuple[float, bool]:
    """Return the distance along the spine for a house number, and whether it was clamped.

    ``s = number × meters_per_number`` from the numbering end, clamped to ``[0, length]``;
    measured from the spine's first vertex (so ``length - s`` when numbers grow backward).
    """
    s = float(number) * meters_per_number
    beyond = s > length_meters
    s = min(max(s, 0.0), length_meters)
    return (s if forward else length_meters - s), beyond


# ---------------------------------------------------------------------------------------------
# Results and the provider interface
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GeocodeResult:
    """Where one address was placed, how, and how sure the geocoder is.

    Attributes
    ----------
    address
        The input text.
    lon, lat
        WGS-84 degrees; NaN when ``match_level`` is ``"none"``.
    match_level
        One of :data:`MATCH_LEVELS`.
    confidence
        0 to 1; see :data:`LEVEL_CONFIDENCE` and :data:`PENALTIES`.
    provider
        ``"offline"``, ``"nominatim"``, ``"amap"`` or ``"manual"`` (an override).
    review
        True when a person should check the point (confidence below the threshold).
    matched
        What was matched: road name(s), the subdistrict, or the provider's formatted address.
    subdistrict_code
        The subdistrict used to restrict the match, if any.
    note
        Why the confidence is lower, or why nothing was found.
    """

    address: str
    lon: float
    lat: float
    match_level: str
    confidence: float
    provider: str
    review: bool
    matched: str = ""
    subdistrict_code: str | None = None
    note: str = ""

    @property
    def located(self) -> bool:
        """True when the result has coordinates."""
        return self.match_level != "none" and math.isfinite(self.lon) and math.isfinite(self.lat)

    def with_threshold(self, threshold: float) -> GeocodeResult:
        """Return a copy whose ``review`` flag is set against ``threshold``."""
        return replace(self, review=_needs_review(self.match_level, self.confidence, threshold))

    def to_dict(self) -> dict[str, Any]:
        """Return the result as a JSON-ready dict (NaN as None)."""
        out = {f: getattr(self, f) for f in self.__dataclass_fields__}
        for key in ("lon", "lat"):
            if not math.isfinite(out[key]):
                out[key] = None
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GeocodeResult:
        """Rebuild a result from :meth:`to_dict` output."""
        values = {f: data[f] for f in cls.__dataclass_fields__ if f in data}
        for key in ("lon", "lat"):
            values[key] = math.nan if values.get(key) is None else float(values[key])
        return cls(**values)


def _needs_review(level: str, confidence: float, threshold: float) -> bool:
    return level == "none" or confidence < threshold


def _nowhere(address: str, provider: str, note: str, *, code: str | None = None) -> GeocodeResult:
    return GeocodeResult(
        address=address, lon=math.nan, lat=math.nan, match_level="none", confidence=0.0,
        provider=provider, review=True, subdistrict_code=code, note=note,
    )  # fmt: skip


class Provider(Protocol):
    """Anything that geocodes one address: the offline geocoder or an online service."""

    @property
    def name(self) -> str:
        """Short name recorded in results and cache keys."""
        ...

    def geocode(self, address: str, *, subdistrict: str | None = None) -> GeocodeResult:
        """Geocode one address, optionally restricted to a subdistrict (name or code)."""
        ...


# ---------------------------------------------------------------------------------------------
# Offline geocoder
# ---------------------------------------------------------------------------------------------


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
    _cache: dict[tuple[str, ...], Any] = field(default_factory=dict, repr=False, compare=False)

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
            address=raw, lon=lon, lat=lat, match_level=draft.level, confidence=conf,
            provider=self.name, review=_needs_review(draft.level, conf, self.review_threshold),
            matched=draft.matched, subdistrict_code=code, note="; ".join(dict.fromkeys(all_notes)),
        )  # fmt: skip

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
        "潭谭", "州洲", "泾径", "浜滨", "桥侨", "虹红", "兰蓝", "莘辛", "汇会", "翟瞿", "沥历",
        "杨扬", "浦蒲", "园圆", "松淞", "泽择", "锦金", "梅枚", "华化", "龙隆",
    )
)  # fmt: skip


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
        roads=roads, road_names=names, subdistricts=sub, polygons=polygons,
        representative_points=rep, meters_per_number=meters_per_number,
        review_threshold=review_threshold,
    )  # fmt: skip


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


# ---------------------------------------------------------------------------------------------
# Online providers (used only when asked for; tests mock ``fetch``)
# ---------------------------------------------------------------------------------------------

#: ``fetch(url, headers, timeout_s) -> body``: how providers do HTTP GET (replace in tests).
Fetch = Callable[[str, Mapping[str, str], float], bytes]


def _http_get(url: str, headers: Mapping[str, str], timeout_s: float) -> bytes:
    """HTTP GET with urllib (no extra dependency); raises OSError subclasses on failure."""
    if not url.startswith("https://"):
        msg = f"refusing a non-HTTPS geocoding URL: {url}"
        raise GeocodingError(msg)
    request = urllib.request.Request(url, headers=dict(headers))
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        body: bytes = response.read()
    return body


@dataclass
class RateLimiter:
    """Wait so that calls are at least ``min_interval_s`` apart (Nominatim: 1 request/s).

    ``clock`` and ``sleep`` are injectable so tests need not wait.
    """

    min_interval_s: float = 1.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _last: float | None = field(default=None, repr=False)

    def wait(self) -> None:
        """Sleep until the next call is allowed, then record the call."""
        if self._last is not None:
            remaining = self.min_interval_s - (self.clock() - self._last)
            if remaining > 0:
                self.sleep(remaining)
        self._last = self.clock()


@dataclass(frozen=True)
class _Hit:
    """One provider answer before the checks against Minhang's subdistricts."""

    address: str
    provider: str
    lon: float
    lat: float
    level: str
    confidence: float
    matched: str


def _online_result(
    hit: _Hit,
    subdistrict: str | None,
    gdf_subdistricts: gpd.GeoDataFrame | None,
    threshold: float,
) -> GeocodeResult:
    """Check a provider's point against Minhang and the given subdistrict; make the result.

    A point outside every subdistrict (500 m tolerance) keeps at most confidence 0.2; a point
    outside the given subdistrict loses ``PENALTIES["outside_subdistrict"]``.
    """
    sub = boundaries.subdistricts(gdf_subdistricts)
    code = boundaries.assign_subdistricts([hit.lon], [hit.lat], sub)[0]
    confidence, notes = hit.confidence, []
    if code is None:
        confidence = min(confidence, 0.2)
        notes.append(f"{hit.provider} placed it outside Minhang ({hit.lon:.5f}, {hit.lat:.5f})")
    elif subdistrict:
        try:
            expected = str(boundaries.find_subdistrict(subdistrict, sub)["code"])
        except UnknownSubdistrictError:
            expected = str(code)
            notes.append(f"unknown subdistrict {subdistrict!r} ignored")
        if expected != code:
            confidence -= PENALTIES["outside_subdistrict"]
            notes.append(f"{hit.provider} placed it outside {subdistrict}")
    confidence = round(max(confidence, 0.0), 2)
    return GeocodeResult(
        address=hit.address, lon=round(hit.lon, 7), lat=round(hit.lat, 7),
        match_level=hit.level, confidence=confidence, provider=hit.provider,
        review=_needs_review(hit.level, confidence, threshold), matched=hit.matched,
        subdistrict_code=None if code is None else str(code), note="; ".join(notes),
    )  # fmt: skip


#: Nominatim ``addresstype``/``type``/``category`` → match level, and its confidence.
_NOMINATIM_LEVELS: dict[str, tuple[str, float]] = {
    "house": ("road+number", 0.75), "building": ("road+number", 0.75),
    "amenity": ("road+number", 0.7), "healthcare": ("road+number", 0.7),
    "road": ("road", 0.5), "highway": ("road", 0.5),
    "neighbourhood": ("subdistrict", 0.3), "quarter": ("subdistrict", 0.3),
    "suburb": ("subdistrict", 0.25), "village": ("subdistrict", 0.25),
    "town": ("subdistrict", 0.25), "hamlet": ("subdistrict", 0.25),
}  # fmt: skip


@dataclass(frozen=True)
class NominatimProvider:
    """OpenStreetMap's Nominatim search API, at most one request per second (its usage policy).

    Parameters
    ----------
    user_agent
        Identifies the application, as the policy requires; add a contact address.
    base_url
        The search endpoint (a self-hosted Nominatim has no rate limit: set a smaller interval).
    timeout_s
        Seconds to wait for an answer.
    limiter
        Spaces requests (1 s by default).
    fetch
        HTTP GET function (tests pass a mock).
    review_threshold
        Results below this confidence get ``review=True``.
    subdistricts
        Polygons to check answers against (default: the data pack's); a point outside them
        is flagged, one outside the given subdistrict loses confidence.
    """

    user_agent: str = "minhang-care-coverage/0.1 (public-health facility planning)"
    base_url: str = "https://nominatim.openstreetmap.org/search"
    timeout_s: float = 10.0
    limiter: RateLimiter = field(default_factory=RateLimiter, compare=False)
    fetch: Fetch = field(default=_http_get, compare=False)
    review_threshold: float = DEFAULT_REVIEW_THRESHOLD
    subdistricts: gpd.GeoDataFrame | None = field(default=None, repr=False, compare=False)

    @property
    def name(self) -> str:
        """``"nominatim"``."""
        return "nominatim"

    def url(self, address: str, *, subdistrict: str | None = None) -> str:
        """The request URL for one address (bounded to Minhang's box)."""
        context = "".join(p for p in ("上海市", "闵行区", subdistrict or "") if p not in address)
        lon0, lat0, lon1, lat1 = MINHANG_BBOX
        params = {
            "q": context + address, "format": "jsonv2", "limit": "1", "countrycodes": "cn",
            "viewbox": f"{lon0},{lat1},{lon1},{lat0}", "bounded": "1", "accept-language": "zh",
        }  # fmt: skip
        return f"{self.base_url}?{urllib.parse.urlencode(params)}"

    def geocode(self, address: str, *, subdistrict: str | None = None) -> GeocodeResult:
        """Geocode one address; network or service errors give ``none`` with the error noted."""
        if not normalise_address(address):
            return _nowhere(address, self.name, "empty address")
        self.limiter.wait()
        url = self.url(address, subdistrict=subdistrict)
        try:
            hits = json.loads(self.fetch(url, {"User-Agent": self.user_agent}, self.timeout_s))
        except (OSError, ValueError) as exc:
            logger.warning("nominatim request failed for %r: %s", address, exc)
            return _nowhere(address, self.name, f"nominatim request failed: {exc}")
        if not isinstance(hits, list) or not hits:
            return _nowhere(address, self.name, "nominatim found nothing in Minhang")
        hit = hits[0]
        kind = next(
            (
                hit[k]
                for k in ("addresstype", "type", "category")
                if hit.get(k) in _NOMINATIM_LEVELS
            ),
            None,
        )
        level, conf = _NOMINATIM_LEVELS.get(kind or "", ("road", 0.4))
        found = _Hit(
            address, self.name, float(hit["lon"]), float(hit["lat"]), level, conf,
            str(hit.get("display_name", "")),
        )  # fmt: skip
        return _online_result(found, subdistrict, self.subdistricts, self.review_threshold)


#: AMap geocoding ``level`` → match level and confidence.
_AMAP_LEVELS: dict[str, tuple[str, float]] = {
    "门牌号": ("road+number", 0.85), "单元号": ("road+number", 0.85),
    "兴趣点": ("road+number", 0.75), "道路交叉路口": ("intersection", 0.85),
    "道路": ("road", 0.55), "村庄": ("subdistrict", 0.35), "热点商圈": ("subdistrict", 0.3),
    "乡镇": ("subdistrict", 0.25), "开发区": ("subdistrict", 0.25),
}  # fmt: skip

#: AMap ``infocode`` values that concern the key or quota: stop rather than fail every row.
_AMAP_FATAL = frozenset({"10001", "10003", "10004", "10005", "10009", "10010", "10044"})


@dataclass(frozen=True)
class AmapProvider:
    """AMap (高德) geocoding web API; its GCJ-02 answers are converted to WGS-84.

    Parameters
    ----------
    key
        The web-service key (from configuration, never from code).
    base_url
        The geocoding endpoint.
    city
        City hint sent with each request.
    timeout_s
        Seconds to wait for an answer.
    limiter
        Spaces requests (0.34 s: the personal-key limit of 3 per second).
    fetch
        HTTP GET function (tests pass a mock).
    review_threshold
        Results below this confidence get ``review=True``.
    subdistricts
        Polygons to check answers against (default: the data pack's); a point outside them
        is flagged, one outside the given subdistrict loses confidence.
    """

    key: str
    base_url: str = "https://restapi.amap.com/v3/geocode/geo"
    city: str = "上海"
    timeout_s: float = 10.0
    limiter: RateLimiter = field(default_factory=lambda: RateLimiter(0.34), compare=False)
    fetch: Fetch = field(default=_http_get, compare=False)
    review_threshold: float = DEFAULT_REVIEW_THRESHOLD
    subdistricts: gpd.GeoDataFrame | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not str(self.key or "").strip():
            msg = (
                "the AMap provider needs a web-service key: pass key=..., or set "
                "geo.settings.amap_key (command line: --amap-key KEY)"
            )
            raise GeocodingError(msg)

    @property
    def name(self) -> str:
        """``"amap"``."""
        return "amap"

    def url(self, address: str, *, subdistrict: str | None = None) -> str:
        """The request URL for one address."""
        context = "".join(p for p in ("闵行区", subdistrict or "") if p not in address)
        params = {"address": context + address, "city": self.city, "key": self.key}
        return f"{self.base_url}?{urllib.parse.urlencode(params)}"

    def geocode(self, address: str, *, subdistrict: str | None = None) -> GeocodeResult:
        """Geocode one address.

        Raises
        ------
        GeocodingError
            If AMap rejects the key or the quota is exhausted (every further call would fail).
        """
        if not normalise_address(address):
            return _nowhere(address, self.name, "empty address")
        self.limiter.wait()
        try:
            answer = json.loads(
                self.fetch(self.url(address, subdistrict=subdistrict), {}, self.timeout_s)
            )
        except (OSError, ValueError) as exc:
            logger.warning("amap request failed for %r: %s", address, exc)
            return _nowhere(address, self.name, f"amap request failed: {exc}")
        if str(answer.get("status")) != "1":
            info, code = answer.get("info", "?"), str(answer.get("infocode", "?"))
            if code in _AMAP_FATAL:
                msg = f"AMap refused the request: {info} (infocode {code}); check the key and quota"
                raise GeocodingError(msg)
            return _nowhere(address, self.name, f"amap error: {info} (infocode {code})")
        hits = answer.get("geocodes") or []
        if not hits:
            return _nowhere(address, self.name, "amap found nothing")
        hit = hits[0]
        lon_gcj, lat_gcj = (float(v) for v in str(hit["location"]).split(","))
        lonlat = coords.gcj02_to_wgs84(lon_gcj, lat_gcj)
        level, conf = _AMAP_LEVELS.get(str(hit.get("level", "")), ("none", 0.0))
        if level == "none":
            return _nowhere(address, self.name, f"amap matched only a {hit.get('level')}")
        found = _Hit(
            address, self.name, float(lonlat[0]), float(lonlat[1]), level, conf,
            str(hit.get("formatted_address", "")),
        )  # fmt: skip
        return _online_result(found, subdistrict, self.subdistricts, self.review_threshold)


def provider_from_name(
    name: str, *, amap_key: str | None = None, user_agent: str | None = None
) -> Provider:
    """Return the provider called ``name``: ``offline``, ``nominatim`` or ``amap``.

    Parameters
    ----------
    name
        One of :data:`PROVIDER_NAMES` (case-insensitive).
    amap_key
        AMap web-service key; default ``geo.settings.amap_key`` when the settings define it.
    user_agent
        Nominatim User-Agent (default: the project's name).

    Raises
    ------
    GeocodingError
        If the name is unknown, or AMap is asked for without a key.
    """
    key = str(name).strip().lower()
    if key == "offline":
        return offline_geocoder_from_pack()
    if key == "nominatim":
        return NominatimProvider(user_agent=user_agent) if user_agent else NominatimProvider()
    if key == "amap":
        return AmapProvider(key=amap_key or settings.resolve_amap_key() or "")
    msg = f"unknown geocoding provider {name!r}; expected one of {', '.join(PROVIDER_NAMES)}"
    raise GeocodingError(msg)


# ---------------------------------------------------------------------------------------------
# Cache and manual overrides
# ---------------------------------------------------------------------------------------------

_CACHE_FORMAT = 1
#: Default file names inside ``settings.resolve_cache_folder()``.
CACHE_FILE_NAME = "geocode-cache.json"
OVERRIDES_FILE_NAME = "geocode-overrides.csv"


def _atomic_write_text(path: Path, text: str, *, encoding: str = "utf-8") -> None:
    """Write ``text`` through :func:`geo._io.atomic_target` (temporary file, fsync, rename)."""
    with (
        atomic_target(path, overwrite=True) as tmp,
        tmp.open("w", encoding=encoding, newline="") as handle,
    ):
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


class GeocodeCache:
    """Results on disk (JSON) keyed by provider, subdistrict and normalised address.

    Parameters
    ----------
    path
        The JSON file; default ``geocode-cache.json`` in ``settings.resolve_cache_folder()``.
    flush_every
        Write the file after this many new entries (and on :meth:`save`), so an interrupted run
        keeps what it paid for. Every write is atomic (temporary file, then rename).
    """

    def __init__(self, path: str | Path | None = None, *, flush_every: int = 25) -> None:
        self.path = (
            Path(path) if path is not None else settings.resolve_cache_folder() / CACHE_FILE_NAME
        )
        self.flush_every = flush_every
        self._entries: dict[str, dict[str, Any]] = self._load()
        self._dirty = 0

    @staticmethod
    def key(provider: str, address: str, subdistrict: str | None = None) -> str:
        """The cache key: ``provider|normalised subdistrict|normalised address``."""
        return f"{provider}|{normalise_address(subdistrict)}|{normalise_address(address)}"

    def _load(self) -> dict[str, dict[str, Any]]:
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            entries = data["entries"] if data.get("format") == _CACHE_FORMAT else {}
        except (ValueError, KeyError, AttributeError) as exc:
            msg = f"geocoding cache {self.path} is unreadable ({exc}); delete it to start afresh"
            raise InputFileError(msg) from exc
        return dict(entries)

    def __len__(self) -> int:
        return len(self._entries)

    def get(
        self, provider: str, address: str, subdistrict: str | None = None
    ) -> GeocodeResult | None:
        """The cached result, or None."""
        hit = self._entries.get(self.key(provider, address, subdistrict))
        return None if hit is None else replace(GeocodeResult.from_dict(hit), address=address)

    def put(self, result: GeocodeResult, *, subdistrict: str | None = None) -> None:
        """Store a result under its provider and address (failed requests are not stored)."""
        if "request failed" in result.note:
            return
        self._entries[self.key(result.provider, result.address, subdistrict)] = result.to_dict()
        self._dirty += 1
        if self._dirty >= self.flush_every:
            self.save()

    def save(self) -> None:
        """Write the cache file if anything changed (atomically)."""
        if not self._dirty:
            return
        text = json.dumps({"format": _CACHE_FORMAT, "entries": self._entries}, ensure_ascii=False)
        _atomic_write_text(self.path, text)
        self._dirty = 0


#: Headers accepted in address tables and override files (compared without case or spaces).
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "address": ("地址", "详细地址", "机构地址", "addr", "address_zh", "location"),
    "subdistrict": ("街镇", "街道", "所属街镇", "subdistrict_zh", "town", "街道镇"),
    "lon": ("经度", "longitude", "lng", "wgs84_lon", "x"),
    "lat": ("纬度", "latitude", "wgs84_lat", "y"),
    "note": ("备注", "comment", "remark"),
}

#: Columns :func:`geocode_table` adds.
OUTPUT_COLUMNS: tuple[str, ...] = (
    "lon", "lat", "match_level", "confidence", "provider", "review", "matched", "geocode_note",
)  # fmt: skip

#: Shanghai's box: override coordinates outside it are rejected (did you swap lon and lat?).
_SHANGHAI_BOX = (120.85, 30.67, 122.2, 31.88)


def _override_key(address: object, subdistrict: object) -> tuple[str, str]:
    return normalise_address(address), normalise_address(subdistrict)


def read_overrides(path: str | Path) -> dict[tuple[str, str], GeocodeResult]:
    """Read a manual-override file: columns address, lon, lat (WGS-84), optional subdistrict, note.

    Returns
    -------
    dict
        (normalised address, normalised subdistrict or "") → a ``manual`` result. An override
        without a subdistrict applies whatever the subdistrict.

    Raises
    ------
    InputFileError, RowError
        If the file cannot be read, lacks columns, or has bad coordinates (every bad row listed).
    """
    path = Path(path)
    df = read_table(path)
    cols = match_columns(
        df.columns, FIELD_ALIASES, required=("address", "lon", "lat"), source=path.name
    )
    out: dict[tuple[str, str], GeocodeResult] = {}
    problems: list[RowProblem] = []
    for i, row in enumerate(df.to_dict("records")):
        address = str(row[cols["address"]])
        where = str(row.get(cols.get("subdistrict", ""), "") or "")
        lonlat = _override_point(row, cols, i + 2, problems)
        if lonlat is None or not normalise_address(address):
            continue
        note = str(row.get(cols.get("note", ""), "") or "")
        out[_override_key(address, where)] = GeocodeResult(
            address=address, lon=lonlat[0], lat=lonlat[1], match_level="manual", confidence=1.0,
            provider="manual", review=False, matched="manual override", note=note,
        )  # fmt: skip
    raise_if_problems(problems, source=path.name, what="override")
    return out


def _override_point(
    row: Mapping[Any, Any], cols: Mapping[str, str], line: int, problems: list[RowProblem]
) -> tuple[float, float] | None:
    values = []
    for what in ("lon", "lat"):
        text = row[cols[what]]
        try:
            value = parse_float(text)
        except ValueError:
            value = None
        if value is None:
            problems.append(RowProblem(line, cols[what], text, "expected a number in degrees"))
        values.append(value)
    if values[0] is None or values[1] is None:
        return None
    lon, lat = float(values[0]), float(values[1])
    lon0, lat0, lon1, lat1 = _SHANGHAI_BOX
    if not (lon0 <= lon <= lon1 and lat0 <= lat <= lat1):
        reason = f"({lon}, {lat}) is outside Shanghai ({lon0}–{lon1} E, {lat0}–{lat1} N); swapped?"
        problems.append(RowProblem(line, f"{cols['lon']}/{cols['lat']}", (lon, lat), reason))
        return None
    return lon, lat


def add_override(
    path: str | Path,
    address: str,
    lon: float,
    lat: float,
    *,
    subdistrict: str | None = None,
    note: str = "",
) -> Path:
    """Add or replace a planner's manual location for an address (WGS-84); the file is rewritten.

    The override then wins over every geocoder and is kept across runs. Used by the app when a
    flagged site is dragged or clicked to its true place.

    Returns
    -------
    pathlib.Path
        The override file.
    """
    path = Path(path)
    if not normalise_address(address):
        msg = "cannot add an override for an empty address"
        raise InputFileError(msg)
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    if path.exists():
        read_overrides(path)  # refuse to rewrite a broken file: its errors are listed
        df = read_table(path)
        cols = match_columns(
            df.columns, FIELD_ALIASES, required=("address", "lon", "lat"), source=path.name
        )
        rows = {
            _override_key(r[cols["address"]], r.get(cols.get("subdistrict", ""), "")): {
                "address": r[cols["address"]],
                "subdistrict": r.get(cols.get("subdistrict", ""), ""),
                "lon": r[cols["lon"]],
                "lat": r[cols["lat"]],
                "note": r.get(cols.get("note", ""), ""),
            }
            for r in df.to_dict("records")
        }
    problems: list[RowProblem] = []
    if _override_point({"lon": lon, "lat": lat}, {"lon": "lon", "lat": "lat"}, 0, problems) is None:
        msg = f"override for {address!r}: {problems[0].reason}"
        raise InputFileError(msg)
    rows[_override_key(address, subdistrict or "")] = {
        "address": address, "subdistrict": subdistrict or "", "lon": f"{float(lon):.7f}",
        "lat": f"{float(lat):.7f}", "note": note,
    }  # fmt: skip
    frame = pd.DataFrame(
        list(rows.values()), columns=["address", "subdistrict", "lon", "lat", "note"]
    )
    _atomic_write_text(path, frame.to_csv(index=False), encoding="utf-8-sig")
    return path


# ---------------------------------------------------------------------------------------------
# Tables and evaluation (what the CLI and the app call)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GeocodedTable:
    """A table with the geocoding columns added, and counts for a summary.

    Attributes
    ----------
    table
        The input rows with :data:`OUTPUT_COLUMNS` added (``lon``/``lat`` WGS-84, NaN if none).
    provider
        The provider used (overrides show as ``manual`` per row).
    level_counts
        Rows per match level, in :data:`MATCH_LEVELS` order (zeros included).
    review_count
        Rows flagged for review.
    cache_hits, overrides_used
        Distinct (address, subdistrict) pairs answered from the cache, and rows a manual
        override decided.
    """

    table: pd.DataFrame
    provider: str
    level_counts: dict[str, int]
    review_count: int
    cache_hits: int = 0
    overrides_used: int = 0
    address_column: str = "address"
    subdistrict_column: str | None = None

    def flagged(self) -> list[tuple[str, str | None]]:
        """(address, subdistrict) of every distinct row flagged for review, in table order."""
        rows = self.table[self.table["review"].astype(bool)]
        out: list[tuple[str, str | None]] = []
        for rec in rows.to_dict("records"):
            sub = rec.get(self.subdistrict_column) if self.subdistrict_column else None
            key = (_cell(rec[self.address_column]), _cell(sub).strip() or None)
            if key not in out:
                out.append(key)
        return out

    def csv_bytes(self) -> bytes:
        """The table as CSV in UTF-8 with BOM (for a download button)."""
        return self.table.to_csv(index=False).encode("utf-8-sig")

    def write(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the table as ``.csv`` (UTF-8 with BOM, opens in Excel) or ``.xlsx``.

        Raises
        ------
        FileExistsError
            If the file exists and ``overwrite`` is False.
        ExportError
            If the suffix is neither ``.csv`` nor ``.xlsx``.
        """
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in (".csv", ".xlsx"):
            msg = f"{path.name}: cannot write {suffix or 'no suffix'!r}; use .csv or .xlsx"
            raise ExportError(msg)
        with atomic_target(path, overwrite=overwrite) as tmp:
            if suffix == ".csv":
                tmp.write_bytes(self.csv_bytes())
            else:
                self.table.to_excel(tmp, index=False)
        return path

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary (no table)."""
        return {
            "rows": len(self.table),
            "provider": self.provider,
            "match_levels": dict(self.level_counts),
            "review": self.review_count,
            "cache_hits": self.cache_hits,
            "overrides_used": self.overrides_used,
        }


def _as_frame(
    source: str | Path | pd.DataFrame, sheet: str | int | None
) -> tuple[pd.DataFrame, str]:
    if isinstance(source, pd.DataFrame):
        return source.copy(), "table"
    return read_table(source, sheet=sheet), Path(source).name


def _columns(
    df: pd.DataFrame, name: str, address_column: str | None, subdistrict_column: str | None
) -> tuple[str, str | None]:
    for given in (address_column, subdistrict_column):
        if given is not None and given not in df.columns:
            msg = f"{name}: no column {given!r}; columns found: {list(map(str, df.columns))}"
            raise InputFileError(msg)
    found = match_columns(
        [c for c in df.columns if c not in (address_column, subdistrict_column)],
        {k: FIELD_ALIASES[k] for k in ("address", "subdistrict")},
        required=() if address_column else ("address",),
        source=name,
    )
    return address_column or found["address"], subdistrict_column or found.get("subdistrict")


def _resolve_provider(provider: str | Provider) -> Provider:
    return provider_from_name(provider) if isinstance(provider, str) else provider


@dataclass
class _Lookup:
    """One table run: provider, overrides and cache, with counts (internal, mutable)."""

    provider: Provider
    overrides: Mapping[tuple[str, str], GeocodeResult]
    cache: GeocodeCache | None
    threshold: float
    cache_hits: int = 0

    def __call__(self, address: str, subdistrict: str | None) -> GeocodeResult:
        hit = self.overrides.get(_override_key(address, subdistrict)) or self.overrides.get(
            _override_key(address, "")
        )
        if hit is not None:
            return replace(hit, address=address)
        if self.cache is not None:
            cached = self.cache.get(self.provider.name, address, subdistrict)
            if cached is not None:
                self.cache_hits += 1
                return cached.with_threshold(self.threshold)
        result = self.provider.geocode(address, subdistrict=subdistrict)
        if self.cache is not None:
            self.cache.put(result, subdistrict=subdistrict)
        return result.with_threshold(self.threshold)


def geocode_table(
    source: str | Path | pd.DataFrame,
    *,
    provider: str | Provider = "offline",
    address_column: str | None = None,
    subdistrict_column: str | None = None,
    sheet: str | int | None = None,
    overrides: str | Path | Mapping[tuple[str, str], GeocodeResult] | None = None,
    cache: GeocodeCache | bool | None = None,
    review_threshold: float = DEFAULT_REVIEW_THRESHOLD,
) -> GeocodedTable:
    """Geocode every row of a CSV/Excel table (or a DataFrame) and add the result columns.

    Parameters
    ----------
    source
        A ``.csv``/``.xlsx`` path (read with :func:`geo._validate.read_table`) or a DataFrame.
    provider
        ``"offline"`` (default), ``"nominatim"``, ``"amap"`` or a :class:`Provider`.
    address_column, subdistrict_column
        Column names; by default found by header (``address``/``地址``, ``subdistrict``/``街镇``/
        ``subdistrict_zh``...). The subdistrict column is optional.
    sheet
        Excel sheet (default: the first).
    overrides
        A manual-override file, or what :func:`read_overrides` returned (``{}`` for none); its
        rows win over every provider. Default: ``geocode-overrides.csv`` in the cache folder,
        if it exists.
    cache
        A :class:`GeocodeCache`, True for the default one, False for none. Default (None): a
        cache for online providers only (offline results are cheap and follow the road data).
    review_threshold
        Results below this confidence get ``review=True``.

    Returns
    -------
    GeocodedTable
        The table with :data:`OUTPUT_COLUMNS` added and the counts per match level.

    Raises
    ------
    InputFileError
        If the file cannot be read, has no address column, or already has an output column.
    """
    df, name = _as_frame(source, sheet)
    address_col, sub_col = _columns(df, name, address_column, subdistrict_column)
    clash = [c for c in OUTPUT_COLUMNS if c in df.columns]
    if clash:
        msg = f"{name}: already has column(s) {clash} that geocoding adds; rename or drop them"
        raise InputFileError(msg)
    chosen = _resolve_provider(provider)
    lookup = _Lookup(
        chosen, _load_overrides(overrides), _open_cache(cache, chosen), review_threshold
    )
    results: dict[tuple[str, str | None], GeocodeResult] = {}
    rows = []
    for record in df.to_dict("records"):
        address = _cell(record[address_col])
        where = (_cell(record[sub_col]).strip() or None) if sub_col else None
        key = (address, where)
        if key not in results:
            results[key] = lookup(address, where)
        rows.append(results[key])
    if lookup.cache is not None:
        lookup.cache.save()
    _add_result_columns(df, rows)
    counts = {level: int((df["match_level"] == level).sum()) for level in MATCH_LEVELS}
    out = GeocodedTable(
        table=df, provider=chosen.name, level_counts=counts,
        review_count=int(df["review"].sum()), cache_hits=lookup.cache_hits,
        overrides_used=int((df["provider"] == "manual").sum()),
        address_column=address_col, subdistrict_column=sub_col,
    )  # fmt: skip
    logger.info("geocoded %d rows of %s with %s: %s", len(df), name, chosen.name, counts)
    return out


def _cell(value: object) -> str:
    """A table cell as text: None and NaN (missing cells of a DataFrame) become ""."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def _load_overrides(
    path: str | Path | Mapping[tuple[str, str], GeocodeResult] | None,
) -> Mapping[tuple[str, str], GeocodeResult]:
    if isinstance(path, Mapping):
        return path
    if path is None:
        default = settings.resolve_cache_folder() / OVERRIDES_FILE_NAME
        return read_overrides(default) if default.exists() else {}
    return read_overrides(path)


def _open_cache(cache: GeocodeCache | bool | None, provider: Provider) -> GeocodeCache | None:
    if isinstance(cache, GeocodeCache):
        return cache
    if cache is None:
        return None if provider.name == "offline" else GeocodeCache()
    return GeocodeCache() if cache else None


def _add_result_columns(df: pd.DataFrame, results: Sequence[GeocodeResult]) -> None:
    df["lon"] = [r.lon for r in results]
    df["lat"] = [r.lat for r in results]
    df["match_level"] = [r.match_level for r in results]
    df["confidence"] = [r.confidence for r in results]
    df["provider"] = [r.provider for r in results]
    df["review"] = [r.review for r in results]
    df["matched"] = [r.matched for r in results]
    df["geocode_note"] = [r.note for r in results]


@dataclass(frozen=True)
class Evaluation:
    """Accuracy of a geocoder on a labelled table (true WGS-84 coordinates per address).

    Attributes
    ----------
    n
        Rows evaluated (rows without true coordinates are skipped and counted in ``skipped``).
    located
        Rows the geocoder placed (match level other than ``none``).
    median_error_m, p90_error_m
        Median and 90th percentile of the distance to the truth, over located rows, in metres.
    road_level_or_better_share
        Share of the ``n`` rows matched at ``road`` level or better.
    level_counts
        Rows per match level.
    median_error_by_level
        Median error per match level (levels with rows only).
    review_share
        Share of rows flagged for review.
    baseline_median_error_m, baseline_p90_error_m
        The same with house numbers ignored (numbered addresses at the middle of their road in
        the subdistrict); offline only, else None.
    skipped
        Rows without usable true coordinates.
    provider
        The provider evaluated.
    table
        One row per evaluated address: the input columns, the result columns, ``error_m`` and
        (offline) ``baseline_error_m``.
    """

    n: int
    located: int
    median_error_m: float
    p90_error_m: float
    road_level_or_better_share: float
    level_counts: dict[str, int]
    median_error_by_level: dict[str, float]
    review_share: float
    baseline_median_error_m: float | None
    baseline_p90_error_m: float | None
    skipped: int
    provider: str
    table: pd.DataFrame = field(repr=False, compare=False)

    def write(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the per-address table (with ``error_m``) as ``.csv`` or ``.xlsx``.

        See :meth:`GeocodedTable.write` for the errors raised.
        """
        counts = dict(self.level_counts)
        review = int(self.table["review"].sum())
        return GeocodedTable(self.table, self.provider, counts, review).write(
            path, overwrite=overwrite
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready metrics (no table); floats rounded."""
        out = {f: getattr(self, f) for f in self.__dataclass_fields__ if f != "table"}
        for key, value in out.items():
            if isinstance(value, float):
                out[key] = round(value, 4 if "share" in key else 1)
        out["median_error_by_level"] = {
            k: round(v, 1) for k, v in self.median_error_by_level.items()
        }
        return out


def geodesic_meters(
    lon1: npt.ArrayLike, lat1: npt.ArrayLike, lon2: npt.ArrayLike, lat2: npt.ArrayLike
) -> FloatArray:
    """Distance in metres on the WGS-84 ellipsoid from (lon1, lat1) to (lon2, lat2); NaN: NaN."""
    args = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (lon1, lat1, lon2, lat2)))
    lon_a, lat_a, lon_b, lat_b = (a.ravel() for a in args)
    dist = _GEOD.inv(lon_a, lat_a, lon_b, lat_b)[2]
    return np.asarray(dist, dtype=np.float64).reshape(args[0].shape)


_GEOD = Geod(ellps="WGS84")


def _truth(df: pd.DataFrame, name: str) -> tuple[FloatArray, FloatArray]:
    cols = match_columns(
        [c for c in df.columns if c not in OUTPUT_COLUMNS],
        {k: FIELD_ALIASES[k] for k in ("lon", "lat")},
        required=("lon", "lat"),
        source=f"{name} (true coordinates, WGS-84)",
    )
    return (
        pd.to_numeric(df[cols["lon"]], errors="coerce").to_numpy(dtype=np.float64),
        pd.to_numeric(df[cols["lat"]], errors="coerce").to_numpy(dtype=np.float64),
    )


def evaluate(
    source: str | Path | pd.DataFrame,
    *,
    provider: str | Provider = "offline",
    address_column: str | None = None,
    subdistrict_column: str | None = None,
    sheet: str | int | None = None,
    cache: GeocodeCache | bool | None = None,
    review_threshold: float = DEFAULT_REVIEW_THRESHOLD,
) -> Evaluation:
    """Geocode a labelled table and measure the error against its true coordinates.

    The table needs an address column, optionally a subdistrict column, and true WGS-84
    coordinates (``wgs84_lon``/``wgs84_lat``, ``lon``/``lat`` or ``经度``/``纬度``), like the pack's
    ``residential/residential_addresses_2022.csv``. Manual overrides are not used.

    Returns
    -------
    Evaluation
        n, median and 90th-percentile error (m), the road-level-or-better share, the match-level
        mix and, offline, the road-middle baseline measured on the same rows.
    """
    df, name = _as_frame(source, sheet)
    true_lon, true_lat = _truth(df, name)
    ok = np.isfinite(true_lon) & np.isfinite(true_lat)
    df, true_lon, true_lat = df.loc[ok].reset_index(drop=True), true_lon[ok], true_lat[ok]
    chosen = _resolve_provider(provider)
    geocoded = geocode_table(
        df, provider=chosen, address_column=address_column, subdistrict_column=subdistrict_column,
        overrides={}, cache=cache, review_threshold=review_threshold,
    )  # fmt: skip
    out = geocoded.table
    out["error_m"] = geodesic_meters(out["lon"], out["lat"], true_lon, true_lat)
    baseline = None
    if isinstance(chosen, OfflineGeocoder):
        baseline = _baseline_errors(
            chosen, out, address_column, subdistrict_column, true_lon, true_lat
        )
        out["baseline_error_m"] = baseline
    return _evaluation(out, chosen.name, baseline, skipped=int((~ok).sum()))


def _baseline_errors(
    geocoder: OfflineGeocoder,
    table: pd.DataFrame,
    address_column: str | None,
    subdistrict_column: str | None,
    true_lon: FloatArray,
    true_lat: FloatArray,
) -> FloatArray:
    address_col, sub_col = _columns(
        table.drop(columns=[*OUTPUT_COLUMNS, "error_m"]),
        "table",
        address_column,
        subdistrict_column,
    )
    points = [
        geocoder.geocode(
            str(r[address_col]),
            subdistrict=(str(r[sub_col]) if sub_col else None),
            house_numbers=False,
        )
        for r in table.to_dict("records")
    ]
    return geodesic_meters([p.lon for p in points], [p.lat for p in points], true_lon, true_lat)


def _evaluation(
    table: pd.DataFrame, provider: str, baseline: FloatArray | None, *, skipped: int
) -> Evaluation:
    n = len(table)
    errors = table["error_m"].to_numpy(dtype=np.float64)
    located = np.isfinite(errors)
    levels = table["match_level"]

    def stat(values: FloatArray, q: float) -> float:
        finite = values[np.isfinite(values)]
        return float(np.percentile(finite, q)) if len(finite) else math.nan

    by_level = {
        level: stat(errors[(levels == level).to_numpy()], 50)
        for level in MATCH_LEVELS
        if level != "none" and (levels == level).any()
    }
    return Evaluation(
        n=n, located=int(located.sum()), median_error_m=stat(errors, 50),
        p90_error_m=stat(errors, 90),
        road_level_or_better_share=float(levels.isin(ROAD_OR_BETTER).mean()) if n else 0.0,
        level_counts={level: int((levels == level).sum()) for level in MATCH_LEVELS},
        median_error_by_level=by_level,
        review_share=float(table["review"].mean()) if n else 0.0,
        baseline_median_error_m=None if baseline is None else stat(baseline, 50),
        baseline_p90_error_m=None if baseline is None else stat(baseline, 90),
        skipped=skipped, provider=provider, table=table,
    )  # fmt: skip


def default_overrides_path() -> Path:
    """The overrides file the app writes re-pinned addresses to (in the cache folder)."""
    return settings.resolve_cache_folder() / OVERRIDES_FILE_NAME


def geocode_upload(file_name: str, data: bytes, **kwargs: Any) -> GeocodedTable:
    """:func:`geocode_table` for an uploaded CSV/Excel file (its name and bytes)."""

    suffix = Path(file_name).suffix.lower()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(data)
        frame = read_table(path)
    return geocode_table(frame, **kwargs)


def geocoded_points(result: GeocodedTable) -> gpd.GeoDataFrame:
    """The located rows of a geocoded table as WGS-84 points (for a map layer)."""
    tab = result.table
    located = tab[tab["lon"].notna() & tab["lat"].notna()]
    return gpd.GeoDataFrame(
        located, geometry=gpd.points_from_xy(located["lon"], located["lat"]), crs=settings.wgs84_crs
    )
