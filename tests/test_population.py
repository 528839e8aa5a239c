from __future__ import annotations

import numpy as np
import pytest
import rasterio
from affine import Affine
from pyproj import Transformer

from geo import population
from geo._errors import InputFileError, RowError


def test_address_proxy_sums_to_census(pack):
    pop = population.population_from_addresses()
    assert pop.total == pytest.approx(2_653_489)
    excluded = 1214 - len(pop.gdf)
    assert 0 <= excluded <= 5
    assert pop.gdf["weight"].nunique() == 1
    assert pop.gdf["subdistrict_code"].notna().all()
    assert "proxy" in pop.source and "2,653,489" in pop.source
    if excluded:
        assert any(f"{excluded} addresses lie outside" in n for n in pop.notes)


def test_address_proxy_custom_total(pack):
    pop = population.population_from_addresses(total=1000)
    assert pop.total == pytest.approx(1000)


def test_table_spreads_totals_over_points(tmp_path, pack, monkeypatch):
    read = population._read_addresses
    # pretend 莘庄工业区 has no residential address, to exercise the representative-point fallback
    monkeypatch.setattr(
        population,
        "_read_addresses",
        lambda path=None: (lambda g: g[g["subdistrict_code"] != "310112501"])(read()),
    )
    path = tmp_path / "pop.csv"
    path.write_text(
        '街镇,常住人口\n七宝镇,"100,000"\n莘庄工业区,5000\nMeilong,0\n', encoding="utf-8"
    )
    pop = population.population_from_table(path)
    totals = pop.totals_by_subdistrict()
    assert totals["310112102"] == pytest.approx(100_000)
    assert totals["310112501"] == pytest.approx(5_000)  # no addresses there: representative point
    assert pop.total == pytest.approx(105_000)
    qibao = pop.gdf[pop.gdf["subdistrict_code"] == "310112102"]
    assert len(qibao) > 50 and qibao["weight"].nunique() == 1
    assert any("310112501: no residential points" in n for n in pop.notes)
    assert any("no population given for" in n for n in pop.notes)
    assert "pop.csv" in pop.source


@pytest.mark.parametrize(
    ("body", "pattern"),
    [
        ("七堡,100\n", r"row 2: `subdistrict`='七堡'.*valid units are"),
        ("七宝镇,-3\n", r"row 2: `population`='-3': must be a number ≥ 0"),
        ("七宝镇,many\n", r"row 2: `population`='many'"),
        ("七宝镇,1\n七宝,2\n", r"row 3: `subdistrict`='七宝': listed twice"),
    ],
)
def test_table_bad_rows(tmp_path, pack, body, pattern):
    path = tmp_path / "pop.csv"
    path.write_text("subdistrict,population\n" + body, encoding="utf-8")
    with pytest.raises(RowError, match=pattern):
        population.population_from_table(path)


def test_table_missing_columns(tmp_path, pack):
    path = tmp_path / "pop.csv"
    path.write_text("街镇,面积\n七宝镇,20\n", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"missing required column\(s\) \['population'\]"):
        population.population_from_table(path)


def _write_raster(path, data, *, x0, y0, crs="EPSG:32651", size=100.0, nodata=-1.0):
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=data.shape[0],
        width=data.shape[1],
        count=1,
        dtype="float32",
        crs=crs,
        transform=Affine(size, 0.0, x0, 0.0, -size, y0),
        nodata=nodata,
    ) as dst:
        dst.write(data.astype("float32"), 1)


def test_raster_cells_become_weighted_points(tmp_path, pack):
    x, y = Transformer.from_crs(4326, 32651, always_xy=True).transform(121.35, 31.15)  # 七宝镇
    data = np.array([[10, 0, 2.5], [-1, 7, np.nan]])  # -1 is nodata, 0 and NaN carry nobody
    path = tmp_path / "pop.tif"
    _write_raster(path, data, x0=x, y0=y)
    pop = population.population_from_raster(path)
    assert len(pop.gdf) == 3
    assert pop.total == pytest.approx(19.5)
    assert set(pop.gdf["subdistrict_code"]) == {"310112102"}
    # the first cell's centre is half a cell east and south of the origin
    back = Transformer.from_crs(4326, 32651, always_xy=True)
    cx, cy = back.transform(pop.gdf.geometry.x.iloc[0], pop.gdf.geometry.y.iloc[0])
    assert (cx - x, y - cy) == pytest.approx((50.0, 50.0), abs=0.01)


def test_raster_outside_district_is_refused_and_said(tmp_path, pack):
    x, y = Transformer.from_crs(4326, 32651, always_xy=True).transform(121.0, 31.5)
    path = tmp_path / "far.tif"
    _write_raster(path, np.array([[4.0]]), x0=x, y0=y)
    with pytest.raises(InputFileError, match=r"none of its 1 populated cells lies in the district"):
        population.population_from_raster(path)


def test_population_far_from_the_census_is_warned_about_with_the_figure(tmp_path, pack):
    # a table in 万人: 265.35 "residents" in all, 1e-4 of the census 2,653,489
    table = tmp_path / "wan.csv"
    table.write_text("街镇,常住人口\n七宝镇,265.35\n", encoding="utf-8")
    pop = population.population_from_table(table)
    (warning,) = [n for n in pop.notes if n.startswith("WARNING")]
    assert "265 residents in all, 0.0001× the census 2020 total 2,653,489" in warning
    assert "万人" in warning
    assert population.total_warning(2_653_489, source="x") is None
    assert population.total_warning(6_000_000, source="x") is not None  # > 2×


def test_rasters_with_no_population_or_infinite_cells_are_refused(tmp_path, pack):
    x, y = Transformer.from_crs(4326, 32651, always_xy=True).transform(121.35, 31.15)
    empty, inf = tmp_path / "zero.tif", tmp_path / "inf.tif"
    _write_raster(empty, np.array([[0.0, -1.0]]), x0=x, y0=y)
    _write_raster(inf, np.array([[np.inf, 3.0]]), x0=x, y0=y)
    with pytest.raises(InputFileError, match="holds no populated cell"):
        population.population_from_raster(empty)
    with pytest.raises(InputFileError, match="1 cells are infinite"):
        population.population_from_raster(inf)


def test_raster_errors(tmp_path):
    bad = tmp_path / "bad.tif"
    bad.write_bytes(b"not a tiff")
    with pytest.raises(InputFileError, match="cannot read population raster"):
        population.population_from_raster(bad)


def test_points_from_arrays_are_assigned_in_one_pass_and_outside_ones_dropped(pack):
    """Two points inside known units, one 50 km east of the district: the outside one is dropped
    and counted; weights and codes are the ones given and found."""
    from geo import boundaries

    sub = boundaries.load_subdistricts()
    inner = sub.geometry.to_crs(32651).representative_point().to_crs(4326)
    lon = [inner.iloc[0].x, inner.iloc[1].x, 122.0]
    lat = [inner.iloc[0].y, inner.iloc[1].y, 31.1]
    pop = population.population_from_points(lon, lat, [10.0, 20.0, 30.0], source="three points")
    assert pop.gdf["subdistrict_code"].tolist() == sub["code"].iloc[:2].tolist()
    assert pop.gdf["weight"].tolist() == [10.0, 20.0]
    assert pop.total == 30.0
    assert any("1 point(s) outside every subdistrict" in n for n in pop.notes)
