"""Geocoding results, match levels and confidences, and the provider interface.

Every geocoder (offline or online) returns a :class:`GeocodeResult` and satisfies
:class:`Provider`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

from geo._types import JSONValue
from geo.parameters import DEFAULTS

__all__ = [
    "DEFAULT_REVIEW_THRESHOLD",
    "LEVEL_CONFIDENCE",
    "MATCH_LEVELS",
    "PENALTIES",
    "ROAD_OR_BETTER",
    "GeocodeResult",
    "Provider",
]

#: Match levels, best first. ``manual`` is a planner's override; the others come from a geocoder.
MATCH_LEVELS: tuple[str, ...] = (
    "manual",
    "intersection",
    "road+number",
    "road",
    "subdistrict",
    "none",
)

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
DEFAULT_REVIEW_THRESHOLD = DEFAULTS.review_threshold


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

    def to_dict(self) -> dict[str, JSONValue]:
        """Return the result as a JSON-ready dict (NaN as None)."""
        out = {f: getattr(self, f) for f in self.__dataclass_fields__}
        for key in ("lon", "lat"):
            if not math.isfinite(out[key]):
                out[key] = None
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> GeocodeResult:
        """Rebuild a result from :meth:`to_dict` output."""
        values: dict[str, Any] = {f: data[f] for f in cls.__dataclass_fields__ if f in data}
        for key in ("lon", "lat"):
            values[key] = math.nan if values.get(key) is None else float(values[key])
        return cls(**values)


def _needs_review(level: str, confidence: float, threshold: float) -> bool:
    return level == "none" or confidence < threshold


def _nowhere(address: str, provider: str, note: str, *, code: str | None = None) -> GeocodeResult:
    return GeocodeResult(
        address=address,
        lon=math.nan,
        lat=math.nan,
        match_level="none",
        confidence=0.0,
        provider=provider,
        review=True,
        subdistrict_code=code,
        note=note,
    )


class Provider(Protocol):
    """Anything that geocodes one address: the offline geocoder or an online service."""

    @property
    def name(self) -> str:
        """Short name recorded in results and cache keys."""
        ...

    def geocode(self, address: str, *, subdistrict: str | None = None) -> GeocodeResult:
        """Geocode one address, optionally restricted to a subdistrict (name or code)."""
        ...
