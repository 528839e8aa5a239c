"""Any district: a data folder built from OSM (geo area init) and used like data/.

The synthetic district is written by the test as OSM XML, in UTM 51N metres around an origin
west of Minhang (x 0..2,000, y 0..1,000), converted to lon/lat:

    y=1000 +---------+---------+---------+---------+
           |         |         |         |         |
    y=500  +=========C=========+====A====H=========+   residential street, two-way
           |         |         |         |         |
    y=0    +---------+---------+---------+---------+
           x=0      500      1000      1500      2000
           subdistrict 甲 (x < 1000)  subdistrict 乙 (x > 1000)

Streets: y=500 from x=0 to 2,000; x=500 and x=1,500 from y=0 to 1,000. C: a community health
service centre (amenity=clinic, named …社区卫生服务中心) at the junction (500, 500); H: a hospital
(1,500, 520); A: an ambulance station (1,000, 480); a doctor's practice outside (3,000, 500);
a clinic named like a spreadsheet formula (1,800, 900), not a basic-level type.
One admin_level=6 relation (the district) and two admin_level=8 relations (甲, 乙).

Residents (a 100 m GeoTIFF, five populated cells; walk15 = 1,000 m at 4 km/h, access legs
included, C the only basic-level facility):
  (250, 450) 100: 50 m to the street + 250 along it = 300 m → covered
  (850, 550) 200: 50 + 350 = 400 m → covered
  (1350, 450) 300: 50 + 850 = 900 m → covered
  (1850, 550) 400: 50 + 1,350 = 1,400 m → not covered
  (1050, 950) 500: 450 m from every street (> 300 m): off network, not covered
  甲: 300 of 300 covered; 乙: 300 of 1,200; the district 600 of 1,500 (40 %).
Area (walk15, 100 m band around the reached streets: y=500 for x 0..1,500, x=500 whole):
  甲: 1,000 × 200 + 200 × 1,000 − 200 × 200 = 360,000 m² of 1 km² (36 %);
  乙: 500 × 200 + a round cap π·100²/2 = 115,708 m² (11.57 %).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from pyproj import Transformer

from geo import area, settings
from geo._errors import DataFolderError, InputFileError

X0, Y0 = 300_000.0, 3_400_000.0  # UTM 51N, multiples of the 20 m area cells
TO_LONLAT = Transformer.from_crs(32651, 4326, always_xy=True)


def ll(x: float, y: float) -> tuple[float, float]:
    lon, lat = TO_LONLAT.transform(X0 + x, Y0 + y)
    return float(lon), float(lat)


def _osm_xml() -> str:
    nodes: dict[int, tuple[float, float, dict[str, str]]] = {}
    ways: list[tuple[int, list[int], dict[str, str]]] = []

    def node(i: int, x: float, y: float, **tags: str) -> int:
        nodes[i] = (x, y, tags)
        return i

    # streets
    h = [node(1 + k, 500.0 * k, 500.0) for k in range(5)]  # 1..5: x 0..2000
    v1 = [node(10, 500.0, 0.0), 2, node(11, 500.0, 1000.0)]
    v2 = [node(12, 1500.0, 0.0), 4, node(13, 1500.0, 1000.0)]
    ways += [(100, h, {"highway": "residential", "name": "横路"})]
    ways += [(101, v1, {"highway": "residential"}), (102, v2, {"highway": "residential"})]
    # facilities
    node(50, 500.0, 500.0 + 0.0, amenity="clinic", name="测试社区卫生服务中心")
    node(51, 1500.0, 520.0, amenity="hospital", name="测试医院")
    node(52, 1000.0, 480.0, emergency="ambulance_station", name="测试急救站")
    node(53, 3000.0, 500.0, amenity="doctors", name="区外诊所")
    node(54, 1200.0, 520.0, healthcare="pharmacy", name="药房")
    node(55, 1800.0, 900.0, amenity="clinic", name="=HYPERLINK(&quot;http://x&quot;)")
    # boundaries: corners
    corners = {
        "sw": node(200, 0.0, 0.0),
        "s": node(201, 1000.0, 0.0),
        "se": node(202, 2000.0, 0.0),
        "ne": node(203, 2000.0, 1000.0),
        "n": node(204, 1000.0, 1000.0),
        "nw": node(205, 0.0, 1000.0),
    }
    c = corners
    ways += [
        (300, [c["sw"], c["s"], c["se"], c["ne"], c["n"], c["nw"], c["sw"]], {}),
        (301, [c["sw"], c["s"], c["n"], c["nw"], c["sw"]], {}),
        (302, [c["s"], c["se"], c["ne"], c["n"], c["s"]], {}),
    ]
    relations = [
        (400, 300, {"admin_level": "6", "name": "测试区", "name:en": "Test District"}),
        (401, 301, {"admin_level": "8", "name": "甲街道", "name:en": "Jia", "ref": "T01"}),
        (402, 302, {"admin_level": "8", "name": "乙镇", "name:en": "Yi", "ref": "T02"}),
    ]

    def tags_xml(tags: dict[str, str]) -> str:
        return "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())

    out = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    for i, (x, y, tags) in sorted(nodes.items()):
        lon, lat = ll(x, y)
        out.append(
            f'<node id="{i}" version="1" timestamp="2026-11-30T00:00:00Z" lat="{lat:.8f}" '
            f'lon="{lon:.8f}">{tags_xml(tags)}</node>'
        )
    for i, refs, tags in ways:
        nds = "".join(f'<nd ref="{r}"/>' for r in refs)
        out.append(f'<way id="{i}" version="1">{nds}{tags_xml(tags)}</way>')
    for i, way, tags in relations:
        out.append(
            f'<relation id="{i}" version="1"><member type="way" ref="{way}" role="outer"/>'
            f"{tags_xml({'type': 'boundary', 'boundary': 'administrative', **tags})}</relation>"
        )
    out.append("</osm>")
    return "\n".join(out)


CELLS = {(250, 450): 100.0, (850, 550): 200.0, (1350, 450): 300.0, (1850, 550): 400.0}
CELLS[(1050, 950)] = 500.0


def _raster(path: Path) -> Path:
    data = np.zeros((10, 20), dtype="float32")
    for (x, y), value in CELLS.items():
        data[int((1000 - y) // 100), int(x // 100)] = value
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=20,
        height=10,
        count=1,
        dtype="float32",
        crs="EPSG:32651",
        transform=Affine(100.0, 0.0, X0, 0.0, -100.0, Y0 + 1000),
    ) as dst:
        dst.write(data, 1)
    return path


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("area")
    osm = tmp / "test.osm"
    osm.write_text(_osm_xml(), encoding="utf-8")
    report = area.init_area(
        "测试区", osm=osm, out=tmp / "测试区", population=_raster(tmp / "pop.tif")
    )
    return report.folder


def test_init_writes_the_layout_with_boundaries_facilities_and_a_readme(built):
    config = area.area_config(built)
    assert config is not None and config.name == "测试区" and config.roads == "roads/test.osm"
    assert config.population == "population/pop.tif"
    assert settings.missing_data_files(built) == []
    import geopandas as gpd

    units = gpd.read_file(built / "boundaries" / "subdistricts.geojson")
    assert sorted(units["code"]) == ["T01", "T02"]
    assert sorted(units["name_zh"]) == ["乙镇", "甲街道"]
    km2 = units.to_crs(32651).area.sum() / 1e6
    assert km2 == pytest.approx(2.0, rel=1e-4)
    fac = (built / "facilities" / "osm_health_facilities.csv").read_text("utf-8")
    rows = {line.split(",")[1]: line.split(",")[2] for line in fac.splitlines()[1:]}
    # the doctor outside the district and the pharmacy are not facilities of the area
    assert rows == {
        "测试社区卫生服务中心": "chc",
        "测试医院": "hospital",
        "测试急救站": "ambulance_substation",
        '"\'=HYPERLINK(""http://x"")"': "clinic",  # a formula stays text in Excel
    }
    from geo import facilities

    settings_folder = settings.data_folder
    settings.data_folder = built
    try:
        names = set(facilities.load_facilities().gdf["name"])
    finally:
        settings.data_folder = settings_folder
    assert '=HYPERLINK("http://x")' in names  # read back as typed
    mapping = (built / area.MAPPING_FILE).read_text("utf-8")
    assert mapping.splitlines()[1] == "emergency,ambulance_station,ambulance_substation"
    readme = (built / "README.md").read_text("utf-8")
    for text in ("ODbL", "2 subdistricts", "4 health facilities", "2026-11-30", "2.0 km²"):
        assert text in readme


def test_geo_coverage_on_the_new_folder_gives_the_hand_figures(built, tmp_path):
    env_cache = tmp_path / "cache"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "geo.cli",
            "--data",
            str(built),
            "coverage",
            "--standard",
            "walk15",
            "--json",
        ],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "GEO_CACHE_DIR": str(env_cache)},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout)
    assert out["residents"] == pytest.approx(1500.0)
    assert out["covered_residents"] == pytest.approx(600.0)
    assert out["resident_share"] == pytest.approx(0.4)
    assert out["facilities"] == 1
    assert out["area_km2"] == pytest.approx(2.0, rel=1e-4)
    assert out["covered_km2"] == pytest.approx(
        (360_000 + 100_000 + math.pi * 100**2 / 2) / 1e6, rel=0.01
    )


def test_per_subdistrict_figures_and_no_repair_on_complete_osm(built, monkeypatch):
    from geo import coverage, facilities, network, population, standards

    monkeypatch.setattr(settings, "data_folder", built)
    walk = network.load_network("walk", use_cache=False)
    assert walk.report.repair_connectors == 0 and walk.report.noded_crossings == 0
    assert "测试区" in walk.report.source
    result = coverage.compute_coverage(
        standards.make_standard("walk15"),
        facilities.load_facilities(),
        population.load_population(),
        network=walk,
    )
    table = result.table.set_index("code")
    assert table.loc["T01", "covered_residents"] == 300 and table.loc["T01", "residents"] == 300
    assert table.loc["T02", "covered_residents"] == 300 and table.loc["T02", "residents"] == 1200
    assert table.loc["T01", "area_share"] == pytest.approx(0.36, rel=0.01)
    assert table.loc["T02", "area_share"] == pytest.approx(0.11571, rel=0.01)
    assert table.loc["T01", "name_zh"] == "甲街道"


def test_the_real_central_shanghai_fixture_builds_an_area_with_a_boundary_file(pack, tmp_path):
    """The pack's OSM fixture (central Shanghai, roads only) with a boundary drawn around it."""
    import geopandas as gpd
    import shapely

    fixture = settings.data_file("fixtures/shanghai_center.osm")
    outline = shapely.box(121.4615, 31.2200, 121.4860, 31.2410)
    gpd.GeoDataFrame({"name": ["黄浦测试"]}, geometry=[outline], crs=4326).to_file(
        tmp_path / "b.geojson", driver="GeoJSON"
    )
    report = area.init_area(
        "黄浦测试", osm=fixture, out=tmp_path / "hp", boundary=tmp_path / "b.geojson"
    )
    assert report.counts["subdistricts"] == 1  # no admin relations: the district is one unit
    assert report.counts["facilities"] == 0
    assert report.counts["area_km2"] == pytest.approx(5.4, rel=0.1)
    from geo import network

    drive = network.load_network(
        "drive", str(report.folder / "roads" / fixture.name), use_cache=False
    )
    assert drive.report.nodes > 500 and drive.report.repair_connectors == 0


def test_bad_inputs_are_refused_naming_the_file(built, tmp_path):
    with pytest.raises(DataFolderError, match="not empty"):
        area.init_area("测试区", osm=built / "roads" / "test.osm", out=built)
    bad = tmp_path / "map.csv"
    bad.write_text("osm_key,osm_value,type\namenity,clinic,spa\n", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"map.csv, row 2, field type: 'spa'"):
        area.read_type_mapping(bad)
    empty = tmp_path / "empty.osm"
    empty.write_text('<?xml version="1.0"?><osm version="0.6"></osm>', encoding="utf-8")
    with pytest.raises(InputFileError, match="no boundary"):
        area.init_area("x", osm=empty, out=tmp_path / "x")


def test_the_app_opens_the_new_data_folder(built, tmp_path, monkeypatch):
    """GEO_DATA_DIR=<the new folder>: the app runs the baseline on the area's own facilities,
    residents and networks, under the area's name, with no plan figures claimed."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("GEO_DATA_DIR", str(built))
    monkeypatch.setenv("GEO_CACHE_DIR", str(tmp_path / "cache"))
    app = AppTest.from_file(str(settings.REPO_ROOT / "app.py"), default_timeout=240)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    assert app.title[0].value == "测试区医疗卫生设施覆盖规划"
    text = " ".join(m.value for m in app.markdown)
    assert "本区无规划指标" in text
    assert "68.24" not in text  # Minhang's plan figures are not shown for another area


def test_a_batch_over_two_areas_runs_each_on_its_own_data(built, tmp_path):
    """areas = [the new folder, data/]: the runs of each area read that area's facilities,
    residents and networks (in one worker process, one after the other)."""
    from geo import batch
    from geo.coverage import DISTRICT_CODE

    spec = tmp_path / "two.toml"
    spec.write_text(
        f'name = "two"\nareas = ["{built}", "{settings.DEFAULT_DATA_FOLDER}"]\n'
        'scenarios = ["baseline"]\n[parameters]\nstandards = ["walk15"]\n',
        encoding="utf-8",
    )
    loaded = batch.load_batch_spec(spec)
    assert [t.area for t in loaded.tasks] == [str(built), str(settings.DEFAULT_DATA_FOLDER)]
    new, minhang = (batch.run_task(t) for t in loaded.tasks)
    row = new[new["code"] == "测试区"].iloc[0]  # the area's code (area.toml) names its row
    assert (row["area"], row["covered_residents"], row["residents"]) == ("测试区", 600, 1500)
    assert set(new["code"]) == {"T01", "T02", "测试区"}
    m = minhang[minhang["code"] == DISTRICT_CODE].iloc[0]
    assert m["area"] == "闵行区" and m["residents"] == pytest.approx(settings.census_population)
    assert settings.data_folder is None  # the task put the data folder back
    bad = tmp_path / "bad.toml"
    bad.write_text('areas = ["nowhere"]\nscenarios = ["baseline"]\n', encoding="utf-8")
    with pytest.raises(InputFileError, match="areas: 'nowhere' is not a folder"):
        batch.load_batch_spec(bad)
