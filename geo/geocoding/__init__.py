"""Geocode Chinese addresses in Minhang: offline first (the pack's road names), online if asked.

The offline geocoder parses an address (district, 街镇, road, house number 号/弄, intersection
or named place), matches the road among the data pack's road names and places the address at an
intersection, along the road by its house number, at the road's middle or at its subdistrict.
Every result carries a match level, a confidence in [0, 1] and a ``review`` flag; a planner's
manual override always wins. Nominatim and AMap are used only when asked for, and cached.

The method, the house-number rule and the measured accuracy are described in
``docs/geocoding.md``. The modules, each importing only from those listed before it:

``parse``
    address text: normalisation, road-name variants, :func:`parse_address`;
``spine``
    a road's spine and house-number positions along it;
``results``
    :class:`GeocodeResult`, match levels, confidences and the :class:`Provider` interface;
``offline``
    :class:`OfflineGeocoder` and its builders;
``providers``
    :class:`NominatimProvider`, :class:`AmapProvider`, :func:`provider_from_name`;
``store``
    :class:`GeocodeCache` and the manual overrides file;
``tables``
    :func:`geocode_table`, :func:`evaluate` and the app's helpers.

Everything public is importable from here (``from geo import geocoding``).
"""

from __future__ import annotations

from geo.geocoding.offline import (
    FAR_ALONG_ROAD_METERS,
    MAX_CROSSING_GAP_METERS,
    SUBDISTRICT_TOLERANCE_METERS,
    OfflineGeocoder,
    offline_geocoder_from_lines,
    offline_geocoder_from_pack,
)
from geo.geocoding.parse import (
    MINHANG_SUBDISTRICTS,
    SHANGHAI_DISTRICTS,
    ParsedAddress,
    normalise_address,
    normalise_road_name,
    parse_address,
    road_name_variants,
)
from geo.geocoding.providers import (
    MINHANG_BBOX,
    PROVIDER_NAMES,
    AmapProvider,
    NominatimProvider,
    RateLimiter,
    provider_from_name,
)
from geo.geocoding.results import (
    DEFAULT_REVIEW_THRESHOLD,
    LEVEL_CONFIDENCE,
    MATCH_LEVELS,
    PENALTIES,
    ROAD_OR_BETTER,
    GeocodeResult,
    Provider,
)
from geo.geocoding.spine import (
    METERS_PER_HOUSE_NUMBER,
    SPINE_SNAP_METERS,
    house_number_position,
    numbers_grow_forward,
    road_spine,
)
from geo.geocoding.store import (
    CACHE_FILE_NAME,
    FIELD_ALIASES,
    OVERRIDES_FILE_NAME,
    GeocodeCache,
    add_override,
    read_overrides,
)
from geo.geocoding.tables import (
    OUTPUT_COLUMNS,
    Evaluation,
    GeocodedTable,
    default_overrides_path,
    evaluate,
    geocode_table,
    geocode_upload,
    geocoded_points,
    geodesic_meters,
)

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
    "default_overrides_path",
    "evaluate",
    "geocode_table",
    "geocode_upload",
    "geocoded_points",
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
