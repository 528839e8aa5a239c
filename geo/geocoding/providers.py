"""Online providers (Nominatim, AMap), used only when asked for; tests mock ``fetch``.

Both share the :class:`~geo.geocoding.results.Provider` interface, are rate-limited
(:class:`RateLimiter`) and check their answers against Minhang's subdistricts; AMap's GCJ-02
points are converted to WGS-84. :func:`provider_from_name` also returns the offline geocoder.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import geopandas as gpd

from geo import boundaries, coords, settings
from geo._errors import GeocodingError, UnknownSubdistrictError
from geo.geocoding.offline import offline_geocoder_from_pack
from geo.geocoding.parse import normalise_address
from geo.geocoding.results import (
    DEFAULT_REVIEW_THRESHOLD,
    PENALTIES,
    GeocodeResult,
    Provider,
    _needs_review,
    _nowhere,
)

logger = logging.getLogger(__name__)

__all__ = [
    "MINHANG_BBOX",
    "PROVIDER_NAMES",
    "AmapProvider",
    "NominatimProvider",
    "RateLimiter",
    "provider_from_name",
]

#: Provider names :func:`provider_from_name` accepts.
PROVIDER_NAMES: tuple[str, ...] = ("offline", "nominatim", "amap")

#: Minhang's bounding box (lon_min, lat_min, lon_max, lat_max), a little padded.
MINHANG_BBOX: tuple[float, float, float, float] = (121.23, 30.97, 121.58, 31.27)


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
        address=hit.address,
        lon=round(hit.lon, 7),
        lat=round(hit.lat, 7),
        match_level=hit.level,
        confidence=confidence,
        provider=hit.provider,
        review=_needs_review(hit.level, confidence, threshold),
        matched=hit.matched,
        subdistrict_code=None if code is None else str(code),
        note="; ".join(notes),
    )


#: Nominatim ``addresstype``/``type``/``category`` → match level, and its confidence.
_NOMINATIM_LEVELS: dict[str, tuple[str, float]] = {
    "house": ("road+number", 0.75),
    "building": ("road+number", 0.75),
    "amenity": ("road+number", 0.7),
    "healthcare": ("road+number", 0.7),
    "road": ("road", 0.5),
    "highway": ("road", 0.5),
    "neighbourhood": ("subdistrict", 0.3),
    "quarter": ("subdistrict", 0.3),
    "suburb": ("subdistrict", 0.25),
    "village": ("subdistrict", 0.25),
    "town": ("subdistrict", 0.25),
    "hamlet": ("subdistrict", 0.25),
}


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
            "q": context + address,
            "format": "jsonv2",
            "limit": "1",
            "countrycodes": "cn",
            "viewbox": f"{lon0},{lat1},{lon1},{lat0}",
            "bounded": "1",
            "accept-language": "zh",
        }
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
            address,
            self.name,
            float(hit["lon"]),
            float(hit["lat"]),
            level,
            conf,
            str(hit.get("display_name", "")),
        )
        return _online_result(found, subdistrict, self.subdistricts, self.review_threshold)


#: AMap geocoding ``level`` → match level and confidence.
_AMAP_LEVELS: dict[str, tuple[str, float]] = {
    "门牌号": ("road+number", 0.85),
    "单元号": ("road+number", 0.85),
    "兴趣点": ("road+number", 0.75),
    "道路交叉路口": ("intersection", 0.85),
    "道路": ("road", 0.55),
    "村庄": ("subdistrict", 0.35),
    "热点商圈": ("subdistrict", 0.3),
    "乡镇": ("subdistrict", 0.25),
    "开发区": ("subdistrict", 0.25),
}

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
            address,
            self.name,
            float(lonlat[0]),
            float(lonlat[1]),
            level,
            conf,
            str(hit.get("formatted_address", "")),
        )
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
