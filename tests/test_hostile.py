"""Hostile and broken input: every case ends in a clear error (a GeoError naming the file and
what is wrong, never a raw traceback) and changes or loses no file."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from geo import GeoError, facilities, geocoding, network, population, scenarios, settings

HEADER = "name,type,lon,lat\n"


def snapshot(*folders: Path) -> dict[str, str]:
    return {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest()
        for folder in folders
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


# --- facility lists: (file name, bytes, what the message must say) ---------------------------
FACILITY_FILES = [
    ("empty.csv", b"", "empty"),
    ("header_only.csv", HEADER.encode(), "no facility rows"),
    ("no_type.csv", b"name,lon,lat\na,121.4,31.1\n", "type"),
    ("unterminated.csv", (HEADER + 'a,station,"121.4,31.1\n').encode(), "unsupported|quote|row"),
    ("extra_comma.csv", (HEADER + "a,station,121.4,31.1,extra,more\n").encode(), "row|field"),
    ("swapped.csv", (HEADER + "a,station,31.1,121.4\n").encode(), "swap"),
    ("outside.csv", (HEADER + "a,station,116.4,39.9\n").encode(), "outside Minhang"),
    ("nan.csv", (HEADER + "a,station,nan,31.1\n").encode(), "lon"),
    ("inf.csv", (HEADER + "a,station,inf,31.1\n").encode(), "lon"),
    ("text_lon.csv", (HEADER + "a,station,east,31.1\n").encode(), "not a number"),
    ("bad_type.csv", (HEADER + "a,药店,121.4,31.1\n").encode(), "unknown facility type"),
    (
        "dup_id.csv",
        b"id,name,type,lon,lat\n1,a,station,121.4,31.1\n1,b,station,121.41,31.11\n",
        "duplicate id",
    ),
    ("no_name.csv", (HEADER + ",station,121.4,31.1\n").encode(), "needs a name"),
    ("bad_status.csv", b"name,type,lon,lat,status\na,station,121.4,31.1,maybe\n", "status"),
    ("bad_crs.csv", b"name,type,lon,lat,crs\na,station,121.4,31.1,wgs85\n", "coordinate system"),
    ("neg_capacity.csv", b"name,type,lon,lat,capacity\na,station,121.4,31.1,-3\n", "capacity"),
    (
        "bad_sub.csv",
        b"name,type,lon,lat,subdistrict\na,station,121.4,31.1,Atlantis\n",
        "unknown subdistrict",
    ),
    ("big5.csv", "名稱,類型,經度,緯度\n醫院,醫院,121.4,31.1\n".encode("big5"), "looks like Big5"),
    (
        "big5_names.csv",
        (HEADER + "七寶社區衛生服務中心,chc,121.35,31.15\n").encode("big5"),
        "looks like Big5",
    ),
    (
        "mostly_elsewhere.csv",
        (
            HEADER + "a,station,121.40,31.11\nb,station,116.40,39.90\nc,station,116.41,39.91\n"
        ).encode(),
        r"2 of 3 rows .* \(66\.7%\) lie outside the district",
    ),
    ("binary.csv", bytes(range(256)) * 4, "column|decode|header"),
    ("fake.xlsx", b"this is not a workbook", "xlsx|Excel|read"),
    ("old.xls", b"\xd0\xcf\x11\xe0not really", "xls|Excel|read"),
    ("image.png", b"\x89PNG\r\n\x1a\n", "unsupported table format"),
    ("noext", HEADER.encode(), "unsupported table format"),
    ("formula.csv", (HEADER + '"=HYPERLINK(""x"")",station,31.1,121.4\n').encode(), "swap"),
]


@pytest.mark.parametrize(
    ("name", "data", "says"), FACILITY_FILES, ids=[f[0] for f in FACILITY_FILES]
)
def test_facility_files(tmp_path, pack, name, data, says):
    path = tmp_path / name
    path.write_bytes(data)
    before = snapshot(tmp_path)
    with pytest.raises(GeoError, match=says) as info:
        facilities.read_facilities(path)
    assert name in str(info.value) or "row" in str(info.value)
    assert snapshot(tmp_path) == before
    # the app's upload path says the same, naming the planner's file, not a temporary name
    with pytest.raises(GeoError) as upload:
        facilities.facilities_from_upload(name, data, strict=True)
    assert "upload" not in str(upload.value).lower() or name in str(upload.value)


def test_a_directory_or_a_missing_file_is_named(tmp_path, pack):
    with pytest.raises(GeoError, match=r"not found|directory|folder"):
        facilities.read_facilities(tmp_path / "missing.csv")
    (tmp_path / "dir.csv").mkdir()
    with pytest.raises(GeoError, match=r"dir\.csv"):
        facilities.read_facilities(tmp_path / "dir.csv")
    os.mkfifo(tmp_path / "pipe.csv")  # reading a FIFO would block forever
    with pytest.raises(GeoError, match=r"pipe\.csv: not a file"):
        facilities.read_facilities(tmp_path / "pipe.csv")


# --- scenario files -------------------------------------------------------------------------
ROOT = 'name = "s"\nfacilities = "pack"\n'
SCENARIO_TEXTS = [
    ("not_toml", "name = \n", "not valid TOML"),
    ("binary", "\udcff", "TOML|UTF-8|decode"),
    ("deep", "a = " + "[" * 600 + "]" * 600 + "\n", "TOML|deep|nest|unknown"),
    ("no_name", 'facilities = "pack"\n', "`name` is required"),
    ("slash_name", 'name = "../x"\nfacilities = "pack"\n', "must not contain"),
    ("both", ROOT + 'base = "baseline"\n', "exactly one of"),
    ("unknown_key", ROOT + "colour = 1\n", "unknown keys"),
    ("nan_param", ROOT + "[parameters]\nbuffer_meters = nan\n", "buffer_meters=nan"),
    ("inf_param", ROOT + "[parameters]\nwalk_speed_kmh = inf\n", "walk_speed_kmh=inf"),
    ("huge_param", ROOT + "[parameters]\nmax_snap_meters = 1e300\n", "max_snap_meters"),
    ("text_param", ROOT + '[parameters]\ncongestion_factor = "high"\n', "not a number"),
    ("bad_std", ROOT + '[parameters]\nstandards = ["walk10"]\n', "unknown"),
    (
        "bad_add",
        ROOT + '[[add]]\nname = "x"\ntype = "station"\nlon = 300\nlat = 31.1\n',
        "lon|WGS-84",
    ),
    ("add_no_type", ROOT + '[[add]]\nname = "x"\nlon = 121.4\nlat = 31.1\n', "type"),
    ("move_no_id", ROOT + "[[move]]\nlon = 121.4\nlat = 31.1\n", "`id`"),
    ("dup_remove", ROOT + '[[remove]]\nid = "a"\n[[remove]]\nid = "a"\n', "duplicate id"),
    ("add_table", ROOT + "add = 3\n", "array of tables"),
    ("ctrl_name", 'name = "a\\u0007b"\nfacilities = "pack"\n', "control characters"),
]


@pytest.mark.parametrize(
    ("name", "text", "says"), SCENARIO_TEXTS, ids=[s[0] for s in SCENARIO_TEXTS]
)
def test_scenario_files(tmp_path, pack, name, text, says):
    path = tmp_path / f"{name}.toml"
    path.write_bytes(text.encode("utf-8", errors="surrogateescape"))
    before = snapshot(tmp_path, settings.scenario_folder)
    with pytest.raises(GeoError, match=says):
        scenarios.load_scenario(path)
    assert snapshot(tmp_path, settings.scenario_folder) == before


def test_a_base_cycle_and_an_unknown_base_are_named(tmp_path, pack):
    (tmp_path / "a.toml").write_text('name = "a"\nbase = "b"\n', "utf-8")
    (tmp_path / "b.toml").write_text('name = "b"\nbase = "a"\n', "utf-8")
    with pytest.raises(GeoError, match="cycle in `base`"):
        scenarios.resolve("a", folder=tmp_path)
    (tmp_path / "c.toml").write_text('name = "c"\nbase = "nowhere"\n', "utf-8")
    with pytest.raises((GeoError, FileNotFoundError), match="nowhere"):
        scenarios.resolve("c", folder=tmp_path)


# --- population ------------------------------------------------------------------------------
POPULATION_FILES = [
    ("no_cols.csv", b"a,b\n1,2\n", "subdistrict|population"),
    ("bad_unit.csv", "街镇,常住人口\n火星,100\n".encode(), "unknown|valid"),
    ("neg.csv", "街镇,常住人口\n七宝镇,-5\n".encode(), "≥ 0"),
    ("text.csv", "街镇,常住人口\n七宝镇,many\n".encode(), "≥ 0|number"),
    ("twice.csv", "街镇,常住人口\n七宝镇,5\n七宝,6\n".encode(), "listed twice"),
    ("not_a_tiff.tif", b"not a tiff", "cannot read population raster"),
    ("unknown.xyz", b"1,2\n", "unsupported|population"),
]


@pytest.mark.parametrize(("name", "data", "says"), POPULATION_FILES,
                         ids=[p[0] for p in POPULATION_FILES])  # fmt: skip
def test_population_files(tmp_path, pack, name, data, says):
    path = tmp_path / name
    path.write_bytes(data)
    before = snapshot(tmp_path)
    with pytest.raises(GeoError, match=says):
        population.load_population(path)
    assert snapshot(tmp_path) == before


# --- road files ------------------------------------------------------------------------------
ROAD_FILES = [
    ("empty.geojson", b"", "empty"),
    ("broken.geojson", b'{"type": "FeatureCollection", "features": [', "cannot be read"),
    (
        "points.geojson",
        b'{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"highway":'
        b'"residential"},"geometry":{"type":"Point","coordinates":[121.4,31.1]}}]}',
        "line",
    ),
    (
        "no_class.geojson",
        b'{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},'
        b'"geometry":{"type":"LineString","coordinates":[[121.4,31.1],[121.41,31.1]]}}]}',
        "highway|class|column",
    ),
    (
        "nan.geojson",
        b'{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"highway":'
        b'"residential","name":"a"},"geometry":{"type":"LineString","coordinates":[[121.4,31.1],'
        b"[NaN,31.1]]}}]}",
        "NaN or infinite coordinates",
    ),
    ("empty.osm", b"", "empty"),
    ("broken.osm", b"<osm><node id='1'", "OSM XML"),
    ("roads.txt", b"x", "unknown road file type"),
]


@pytest.mark.parametrize(("name", "data", "says"), ROAD_FILES, ids=[r[0] for r in ROAD_FILES])
def test_road_files(tmp_path, name, data, says):
    path = tmp_path / name
    path.write_bytes(data)
    before = snapshot(tmp_path)
    with pytest.raises(GeoError, match=says):
        network.network_from_file(path, mode="walk")
    assert snapshot(tmp_path) == before


# --- geocoding -------------------------------------------------------------------------------
ADDRESSES = [
    "七宝镇 漕宝路 99999999999999999999号",
    "\x00\x07\x1b[31m漕宝路1号",
    '=HYPERLINK("http://x")',
    "",
    "路" * 5000,
    "<script>alert(1)</script>",
]


def test_one_bad_address_does_not_kill_a_batch(tmp_path, pack):
    import pandas as pd

    frame = pd.DataFrame({"address": [*ADDRESSES, "七宝镇 漕宝路 1500号"],
                          "subdistrict": ["七宝镇"] * (len(ADDRESSES) + 1)})  # fmt: skip
    result = geocoding.geocode_table(frame)
    assert len(result.table) == len(ADDRESSES) + 1
    assert result.table["match_level"].iloc[-1] in ("road+number", "road")


@pytest.mark.parametrize(
    ("lon", "lat", "says"),
    [(float("nan"), 31.1, "override"), (31.1, 121.4, "swap|Shanghai|outside"),
     (200.0, 31.1, "Shanghai|outside")],
)  # fmt: skip
def test_bad_overrides_are_refused_and_the_file_kept(tmp_path, lon, lat, says):
    path = tmp_path / "overrides.csv"
    geocoding.add_override(path, "七宝镇 漕宝路 1号", 121.35, 31.15)
    before = snapshot(tmp_path)
    with pytest.raises(GeoError, match=says):
        geocoding.add_override(path, "七宝镇 漕宝路 2号", lon, lat)
    assert snapshot(tmp_path) == before
