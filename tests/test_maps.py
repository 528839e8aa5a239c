from __future__ import annotations

import folium
import geopandas as gpd
import numpy as np
import pytest
import shapely

from geo import coords, coverage, facilities, maps, population, standards


@pytest.fixture(scope="module")
def result(pack):
    std = standards.make_standard("straight_line", facility_types=("hospital",))
    fac = facilities.facilities_from_pack()
    return coverage.compute_coverage(std, fac, population.population_from_addresses())


def build(result, basemap="none", **kw):
    return maps.coverage_map(
        table=result.table,
        subdistricts=coverage.partition_subdistricts().to_crs(4326),
        covered=result.covered,
        blind_spots=result.blind_spots,
        facilities=result.facilities,
        standard_label=result.standard.label_en,
        sources=maps.sources_for(result.metadata),
        basemap=basemap,
        **kw,
    )


def test_map_has_every_layer_legend_and_attribution(result):
    html = build(result, lang="en").get_root().render()
    for text in (
        "Subdistricts (share of residents covered)",
        "Covered area",
        "Blind spots",
        "Facilities",
        "geo-legend",
        "OpenStreetMap contributors (ODbL)",
        "imperial: false",
    ):
        assert text in html
    assert "tile.openstreetmap.org" not in html  # no basemap: fully offline


def test_amap_shifts_layers_to_gcj02_and_clicks_back(result):
    one = result.facilities.iloc[[0]]
    shifted = maps._to_display(one, "amap", simplify_m=0).geometry.iloc[0]
    lon, lat = one.geometry.iloc[0].x, one.geometry.iloc[0].y
    want = coords.wgs84_to_gcj02(lon, lat)
    assert (shifted.x, shifted.y) == pytest.approx(want, abs=1e-9)
    back = maps.display_to_wgs84(shifted.x, shifted.y, "amap")
    assert back == pytest.approx((lon, lat), abs=1e-8)
    assert maps.display_to_wgs84(lon, lat, "osm") == (lon, lat)
    html = build(result, basemap="amap").get_root().render()
    assert "autonavi.com" in html and "GCJ-02" in html


def test_share_colours_steps():
    assert maps.share_colour(0.0) == maps.SHARE_COLOURS[0]
    assert maps.share_colour(0.45) == maps.SHARE_COLOURS[2]
    assert maps.share_colour(1.0) == maps.SHARE_COLOURS[5]
    assert maps.share_colour(np.nan) == "#eeeeee"


def test_unknown_basemap(result):
    with pytest.raises(ValueError, match="unknown basemap 'google'"):
        build(result, basemap="google")


def test_offline_assets_are_copied_and_used(tmp_path, monkeypatch):
    monkeypatch.setattr(folium.Map, "default_js", list(folium.Map.default_js))
    monkeypatch.setattr(folium.Map, "default_css", list(folium.Map.default_css))
    maps.install_offline_assets(tmp_path)
    assert (tmp_path / "leaflet" / "leaflet.js").exists()
    assert (tmp_path / "jquery" / "jquery.min.js").exists()
    html = folium.Map(tiles=None).get_root().render()
    assert "/app/static/leaflet/leaflet.js" in html
    assert "cdn.jsdelivr.net" not in html and "code.jquery.com" not in html


def test_geocoded_layer_colours(result):
    pts = gpd.GeoDataFrame(
        {
            "provider": ["offline", "manual"],
            "review": [True, False],
            "matched": ["a", "b"],
            "match_level": ["road", "manual"],
            "confidence": [0.4, 1.0],
        },
        geometry=[shapely.Point(121.4, 31.1), shapely.Point(121.41, 31.11)],
        crs=4326,
    )
    html = build(result, geocoded=pts, lang="en").get_root().render()
    assert maps.GEOCODED_COLOURS["review"] in html and maps.GEOCODED_COLOURS["manual"] in html
