"""Scenarios: every validation path, round trip, hash stability and a hand-computed comparison."""

from __future__ import annotations

import hashlib
import math

import geopandas as gpd
import pytest
from _builders import WALK_MPS, graph, lonlat, network, population_of, rectangle

from geo import scenarios, settings
from geo._errors import GeoError, ScenarioError
from geo.isochrones import QUAD_SEGS
from geo.scenarios import plan2025


def write(folder, name, text):
    path = folder / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


ROOT = 'name = "root"\nfacilities = "pack"\n'


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ('name = "x"\nfacilities = "pack"\ncolour = 1\n', r"unknown keys \['colour'\]"),
        ('facilities = "pack"\n', r"`name` is required"),
        ('name = "a/b"\nfacilities = "pack"\n', r"must not contain"),
        ('name = "x"\n', r"exactly one of `base`.*or `facilities`"),
        ('name = "x"\nbase = "y"\nfacilities = "pack"\n', r"exactly one of `base`"),
        (
            ROOT + "[parameters]\nwalk_speed_kmh = 20\n",
            r"walk_speed_kmh=20: out of range; expected a number from 1 to 8 km/h",
        ),
        (ROOT + "[parameters]\nwalk_speed = 4\n", r"parameters.walk_speed: unknown; allowed"),
        (ROOT + '[parameters]\nstandards = ["walk10"]\n', r"unknown \['walk10'\]; valid: walk15"),
        (ROOT + '[parameters]\nems_types = ["ambulance"]\n', r"ems_types: unknown \['ambulance'\]"),
        (ROOT + '[parameters]\ncongestion_factor = "high"\n', r"'high': not a number"),
        (ROOT + "[parameters]\nbuffer_meters = nan\n", r"buffer_meters=nan: out of range"),
        (
            ROOT + "[parameters]\ndispatch_delay_minutes = 13\n",
            r"dispatch_delay_minutes=13 must be below ems_minutes=12",
        ),
        (
            ROOT + '[[add]]\nname = "s"\ntype = "pharmacy"\nlon = 121.4\nlat = 31.1\n',
            r"add\[1\]: `type`='pharmacy': unknown facility type; valid: chc",
        ),
        (
            ROOT + '[[add]]\ntype = "station"\nlon = 121.4\nlat = 31.1\n',
            r"add\[1\]: `name` is required",
        ),
        (
            ROOT + '[[add]]\nname = "s"\ntype = "station"\nlon = 31.1\nlat = 121.4\n',
            r"add\[1\]: `lon`=31.1, `lat`=121.4: swapped\?",
        ),
        (
            ROOT + '[[add]]\nname = "s"\ntype = "station"\n',
            r"add\[1\]: `lon`=None: a WGS-84 number",
        ),
        (
            ROOT + '[[add]]\nname = "s"\ntype = "station"\nlon = 121.4\nlat = 31.1\nby = "ai"\n',
            r"`by`='ai': use planner or suggested",
        ),
        (
            ROOT
            + '[[add]]\nname = "s"\ntype = "station"\nlon = 121.4\nlat = 31.1\nby = "suggested"\n',
            r"a suggested site must say its `method`",
        ),
        (
            ROOT + '[[add]]\nname = "s"\ntype = "station"\nlon = 121.4\nlat = 31.1\ncolor = 1\n',
            r"add\[1\]: unknown fields \['color'\]",
        ),
        (
            ROOT + '[[add]]\nname = "s"\ntype = "station"\nlon = 121.4\nlat = 31.1\n' * 2,
            r"add\[2\]: duplicate name 's'",
        ),
        (ROOT + "[[move]]\nlon = 121.4\nlat = 31.1\n", r"move\[1\]: `id` of an existing facility"),
        (ROOT + '[[remove]]\nid = "a"\n[[remove]]\nid = "a"\n', r"remove\[2\]: duplicate id 'a'"),
        (ROOT + "name = \n", r"not valid TOML"),
    ],
)
def test_invalid_files_name_the_problem(tmp_path, text, pattern):
    path = write(tmp_path, "bad", text)
    with pytest.raises(ScenarioError, match=pattern) as info:
        scenarios.load_scenario(path)
    assert "bad.toml" in str(info.value)


def test_all_problems_are_listed_together(tmp_path):
    text = ROOT + '[parameters]\nwalk_speed_kmh = 0\n[[add]]\nname = "s"\ntype = "x"\n'
    with pytest.raises(ScenarioError, match=r"3 problem\(s\)"):
        scenarios.load_scenario(write(tmp_path, "bad", text))


def test_missing_file_lists_known_scenarios(tmp_path):
    write(tmp_path, "alpha", ROOT)
    with pytest.raises(ScenarioError, match=r"scenario file not found: .*beta.toml .*alpha"):
        scenarios.load_scenario("beta", folder=tmp_path)


def test_cycle_in_base(tmp_path, pack):
    write(tmp_path, "a", 'name = "a"\nbase = "b"\n')
    write(tmp_path, "b", 'name = "b"\nbase = "a"\n')
    with pytest.raises(ScenarioError, match=r"cycle in `base`: a → b → a"):
        scenarios.resolve("a", folder=tmp_path)


@pytest.mark.parametrize(
    ("edit", "pattern"),
    [
        ('[[remove]]\nid = "nope"\n', r"child.toml remove\[1\]: unknown facility id 'nope'"),
        ('[[move]]\nid = "nope"\nlon = 121.4\nlat = 31.1\n', r"move\[1\]: unknown facility id"),
        (
            '[[move]]\nid = "way/1195595581"\nlon = 121.9\nlat = 31.1\n',
            r"move\[1\] \(way/1195595581\): \(121.90000, 31.10000\) is outside the district",
        ),
        (
            '[[add]]\nname = "s"\ntype = "station"\nlon = 121.0\nlat = 31.1\n',
            r"add\[1\] \(s\): .* is outside the district",
        ),
        (
            '[[add]]\nname = "七宝卫生服务中心"\ntype = "chc"\nlon = 121.35\nlat = 31.15\n',
            r"a facility named '七宝卫生服务中心' exists already",
        ),
        (
            '[[add]]\nid = "way/1195595581"\nname = "n"\ntype = "chc"\nlon = 121.35\nlat = 31.15\n',
            r"id 'way/1195595581' is already used",
        ),
        (
            '[[add]]\nname = "s"\ntype = "station"\naddress = "某某小区"\n',
            r"add\[1\] \(s\): address '某某小区' matched only at level .*give lon/lat",
        ),
    ],
)
def test_resolve_errors(tmp_path, pack, edit, pattern):
    write(tmp_path, "root", ROOT)
    write(tmp_path, "child", 'name = "child"\nbase = "root"\n' + edit)
    with pytest.raises(ScenarioError, match=pattern):
        scenarios.resolve("child", folder=tmp_path)


def test_resolve_applies_edits_in_order(tmp_path, pack):
    write(tmp_path, "root", ROOT + "[parameters]\nwalk_speed_kmh = 4.5\n")
    child = (
        'name = "child"\nbase = "root"\n[parameters]\ndispatch_delay_minutes = 3\n'
        '[[remove]]\nid = "node/6592809485"\n'
        '[[move]]\nid = "way/1195595581"\nlon = 121.36\nlat = 31.16\n'
        '[[add]]\nname = "新站"\ntype = "station"\nlon = 121.38\nlat = 31.12\n'
        'by = "suggested"\nmethod = "test"\n'
    )
    write(tmp_path, "child", child)
    res = scenarios.resolve("child", folder=tmp_path)
    gdf = res.facilities.gdf.set_index("id")
    assert len(gdf) == 50 - 1 + 1
    assert "node/6592809485" not in gdf.index
    moved = gdf.loc["way/1195595581"]
    assert (moved.geometry.x, moved.geometry.y) == (121.36, 31.16)
    assert moved["subdistrict_zh"] == "七宝镇"
    new = gdf.loc["child:1"]
    assert (new["type"], new["status"], new["placed_by"]) == ("station", "planned", "suggested")
    assert res.parameters.walk_speed_kmh == 4.5  # inherited
    assert res.parameters.dispatch_delay_minutes == 3  # own
    assert res.changes == {"added": 1, "moved": 1, "removed": 1}
    assert [s.name for s in res.chain] == ["root", "child"]


def test_round_trip_is_identical(tmp_path):
    text = (
        'description = "d"\nname = "rt"\nbase = "baseline"\n'
        '[[add]]\nlat = 31.12\nlon = 121.38\ntype = "station"\nname = "新站"\n'
        '[parameters]\nstandards = ["walk15", "ems_time"]\nwalk_speed_kmh = 4\n'
        '[[remove]]\nid = "node/1"\n'
    )
    first = scenarios.load_scenario(write(tmp_path, "rt", text))
    out = scenarios.save_scenario(first, tmp_path / "saved.toml")
    second = scenarios.load_scenario(out)
    assert second == first
    scenarios.save_scenario(second, tmp_path / "again.toml")
    assert (tmp_path / "again.toml").read_text("utf-8") == out.read_text("utf-8")
    # stable order: name first, then description, base, parameters, add, remove
    keys = [line.split(" =")[0] for line in out.read_text("utf-8").splitlines()[:3]]
    assert keys == ["name", "description", "base"]


def test_save_refuses_to_overwrite_and_leaves_no_temporary_file(tmp_path):
    sc = scenarios.load_scenario(write(tmp_path, "x", ROOT))
    target = tmp_path / "x.toml"
    with pytest.raises(FileExistsError, match=r"x.toml already exists: pass overwrite=True"):
        scenarios.save_scenario(sc, target)
    scenarios.save_scenario(sc, target, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.toml"]


def test_save_never_writes_an_invalid_scenario(tmp_path):
    bad = scenarios.Scenario(name="x")  # neither base nor facilities
    with pytest.raises(ScenarioError, match="exactly one of"):
        scenarios.save_scenario(bad, tmp_path / "x.toml")
    assert not (tmp_path / "x.toml").exists()


def test_content_hash_is_the_canonical_texts_sha256(tmp_path):
    a = scenarios.load_scenario(write(tmp_path, "a", 'name = "h"\nfacilities = "pack"\n'))
    b = scenarios.load_scenario(write(tmp_path, "b", 'facilities   =  "pack"  # same\nname="h"\n'))
    c = scenarios.load_scenario(write(tmp_path, "c", 'name = "h2"\nfacilities = "pack"\n'))
    canonical = 'name = "h"\ndescription = ""\nfacilities = "pack"\n'
    assert a.to_toml() == canonical
    assert a.content_hash() == hashlib.sha256(canonical.encode()).hexdigest()
    assert b.content_hash() == a.content_hash()  # formatting does not matter
    assert c.content_hash() != a.content_hash()


def test_shipped_baseline_states_its_limits(pack):
    sc = scenarios.load_scenario("baseline")
    assert sc.facilities == "pack"
    assert "INCOMPLETE" in sc.description and "0 of 50 village clinics" in sc.description
    assert len(scenarios.resolve(sc).facilities.gdf) == 50


# --- comparison on a synthetic district ----------------------------------------------------------
#
#   y=1000 +---------------+---------------+
#   y=500  A=====F1========+=======F2==q===C   one two-way road x=0..2,000, 4 km/h
#   y=0    +---------------+---------------+
#          x=0    unit "1"  x=1000  "2"   x=2000
#
# Scenario A: F1 at x=500 on the road reaches 1,000 m each way: the road x ∈ [0, 1,500].
# Scenario B = A + F2 at x=1,500: the road x ∈ [0, 2,000] is covered.
# Buffer b = 100 m. In unit 2, A covers [1,000, 1,500] × [400, 600] plus the round cap at
# x=1,500 (half an octagon with QUAD_SEGS=2: √2·b²); B covers [1,000, 2,000] × [400, 600]
# (its caps lie outside). Gained in unit 2: 1,000·200 − (500·200 + √2·b²) m²; nothing lost.
# A resident q at x=1,800 (weight 1,000) is 1,300 m from F1, 300 m from F2: gained.

SUBS = gpd.GeoDataFrame(
    {
        "code": ["1", "2"],
        "name_zh": ["一", "二"],
        "name_en": ["One", "Two"],
        "boundary_status": "surveyed",
    },
    geometry=[rectangle(0, 0, 1000, 1000), rectangle(1000, 0, 2000, 1000)],
    crs="EPSG:4326",
)


def test_compare_on_a_synthetic_district(tmp_path, pack):
    f1, f2 = lonlat(500, 500), lonlat(1500, 500)
    (tmp_path / "fac.csv").write_text(
        f"id,name,type,lon,lat\nF1,甲,chc,{f1[0]},{f1[1]}\n", encoding="utf-8"
    )
    params = '[parameters]\nstandards = ["walk15"]\narea_cell_meters = 0\n'  # exact areas
    write(tmp_path, "a", 'name = "a"\nfacilities = "fac.csv"\n' + params)
    write(
        tmp_path,
        "b",
        f'name = "b"\nbase = "a"\n[[add]]\nid = "F2"\nname = "乙"\ntype = "station"\n'
        f"lon = {f2[0]}\nlat = {f2[1]}\n",
    )
    road = graph(
        {0: (0, 500), 1: (1000, 500), 2: (2000, 500)}, [(0, 1, True), (1, 2, True)], WALK_MPS
    )
    net = network(road, mode="walk", key="scen")
    pop = population_of([(200, 500, 500.0, "1"), (1800, 500, 1000.0, "2")], "two points")
    kw = {"networks": {"walk": net}, "population": pop, "subdistricts": SUBS, "folder": tmp_path}
    run_a = scenarios.run_scenario("a", **kw)
    run_b = scenarios.run_scenario("b", **kw)
    cmp = scenarios.compare(run_a, run_b, subdistricts=SUBS)
    t = cmp.table.set_index("code")
    cap = QUAD_SEGS * 100.0**2 * math.sin(math.pi / (2 * QUAD_SEGS))  # half a 4q-gon
    assert t.loc["1", "covered_km2_delta"] == pytest.approx(0.0, abs=1e-9)
    assert t.loc["2", "covered_km2_delta"] == pytest.approx((1000 * 200 - (500 * 200 + cap)) / 1e6)
    assert t.loc["2", "covered_residents_delta"] == pytest.approx(1000.0)
    assert t.loc["310112", "covered_residents_delta"] == pytest.approx(1000.0)
    assert t.loc["310112", "resident_share_a"] == pytest.approx(500 / 1500)
    assert t.loc["310112", "resident_share_b"] == pytest.approx(1.0)
    gained = cmp.gained.set_index("code")["area_km2"]
    assert gained.index.tolist() == ["2"]
    assert gained["2"] == pytest.approx((1000 * 200 - (500 * 200 + cap)) / 1e6, rel=1e-6)
    assert cmp.lost.empty
    assert cmp.sites[["change", "id"]].values.tolist() == [["added", "F2"]]
    # reproducibility: each result carries the hashes; a second run gives the same table
    hashes = run_b.results[0].metadata["hashes"]
    assert isinstance(hashes, dict) and hashes["scenario"] == run_b.resolved.content_hash
    again = scenarios.run_scenario("b", **kw)
    assert again.hashes == run_b.hashes
    assert again.results[0].table.equals(run_b.results[0].table)


def test_shipped_plan_2025_follows_table_2_and_the_corridors(pack):
    from collections import Counter

    from geo import boundaries, plan

    sc = scenarios.load_scenario("plan-2025")
    assert sc.base == "baseline"
    adds = [e for e in sc.edits if e.kind == "add"]
    assert all(e.get("by") == "suggested" and e.get("method") for e in adds)
    community = [e for e in adds if e.get("type") in ("chc", "branch", "station")]
    substations = [e for e in adds if e.get("type") == "ambulance_substation"]
    assert len(community) == 32 and len(substations) == 5
    # per-unit counts from the sites' own coordinates against Table 2 (centres + stations)
    codes = boundaries.assign_subdistricts(
        [e.number("lon") for e in community], [e.number("lat") for e in community]
    )
    names = boundaries.subdistricts().set_index("code")["name_zh"]
    got = Counter(names[c] for c in codes)
    want = {k: sum(v) for k, v in plan.TABLE2_NEW_SITES.items() if sum(v)}
    assert dict(got) == want
    assert sum(1 for e in community if e.get("type") == "branch") == 6
    # substations lie on the corridors: within 150 m of one of the seven named roads
    corridors = plan.corridor_layer().to_crs(32651)
    pts = gpd.GeoSeries(
        gpd.points_from_xy(
            [e.get("lon") for e in substations], [e.get("lat") for e in substations]
        ),
        crs=4326,
    ).to_crs(32651)
    assert all(corridors.distance(p).min() < 150 for p in pts)
    resolved = scenarios.resolve(sc)
    assert resolved.changes == {"added": 37, "moved": 0, "removed": 0}


def test_add_by_address_is_geocoded_offline(tmp_path, pack):
    write(tmp_path, "root", ROOT)
    text = (
        'name = "child"\nbase = "root"\n[[add]]\nname = "s"\ntype = "station"\n'
        'address = "七宝镇 漕宝路 1500号"\n'
    )
    write(tmp_path, "child", text)
    res = scenarios.resolve("child", folder=tmp_path)
    row = res.facilities.gdf.set_index("id").loc["child:1"]
    assert row["address"] == "七宝镇 漕宝路 1500号"
    assert row["subdistrict_zh"] == "七宝镇"


def test_shipped_scenarios_have_no_nan_text():
    import re

    for path in settings.scenario_folder.glob("*.toml"):
        assert not re.search(r"\bnan\b", path.read_text("utf-8"), re.IGNORECASE), path.name


def test_a_site_without_a_road_name_says_so():
    assert plan2025._road_label(float("nan")) == "an unnamed road"
    assert plan2025._road_label(None) == "an unnamed road"
    assert plan2025._road_label("  ") == "an unnamed road"
    assert plan2025._road_label(" 莘西路") == "莘西路"


def test_saves_never_destroy_a_scenario(tmp_path):
    import threading

    shipped = 'name = "baseline"\nfacilities = "pack"\n'
    (tmp_path / "baseline.toml").write_text(shipped, "utf-8")
    edited = scenarios.Scenario(name="baseline", base="baseline")
    with pytest.raises(ScenarioError, match="shipped scenario and cannot be replaced"):
        scenarios.save_scenario_as(edited, folder=tmp_path, overwrite=True)
    assert (tmp_path / "baseline.toml").read_text("utf-8") == shipped
    # a child cannot be saved under the name of a scenario in its own base chain
    mid = scenarios.Scenario(name="mid", base="baseline")
    scenarios.save_scenario_as(mid, folder=tmp_path)
    child = scenarios.Scenario(name="mid", base="mid")
    with pytest.raises(ScenarioError, match=r"in its own base chain \(baseline → mid\)"):
        scenarios.save_scenario_as(child, folder=tmp_path, overwrite=True)
    # name and file follow one rule: "Qibao plan 2" is Qibao plan 2.toml, and its child loads
    spaced = scenarios.Scenario(name="Qibao plan 2", base="baseline")
    path = scenarios.save_scenario_as(spaced, folder=tmp_path)
    assert path.name == "Qibao plan 2.toml"
    grandchild = scenarios.Scenario(name="Qibao plan 3", base="Qibao plan 2")
    scenarios.save_scenario_as(grandchild, folder=tmp_path)
    assert scenarios.resolve("Qibao plan 3", folder=tmp_path).chain[1].name == "Qibao plan 2"
    # an overwrite keeps the previous file
    before = path.read_text("utf-8")
    changed = scenarios.Scenario(name="Qibao plan 2", description="v2", base="baseline")
    scenarios.save_scenario_as(changed, folder=tmp_path, overwrite=True)
    assert (tmp_path / "Qibao plan 2.toml.bak").read_text("utf-8") == before
    # 8 concurrent no-overwrite saves of one new name: exactly one wins, the rest are refused
    results: list[str] = []

    def save(i: int) -> None:
        sc = scenarios.Scenario(name="race", description=f"writer {i}", base="baseline")
        try:
            scenarios.save_scenario_as(sc, folder=tmp_path)
            results.append("saved")
        except FileExistsError:
            results.append("refused")

    threads = [threading.Thread(target=save, args=(i,)) for i in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(results) == ["refused"] * 7 + ["saved"]
    assert scenarios.load_scenario("race", folder=tmp_path).description.startswith("writer ")
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary folder left behind


@pytest.mark.parametrize(
    ("name", "pattern"),
    [
        ("a/b", "must not contain"),
        ("tab\there", "control characters"),
        (".hidden", "must not start with a dot"),
        ("x" * 81, "at most 80"),
    ],
)
def test_scenario_names_are_safe_file_names(tmp_path, name, pattern):
    with pytest.raises(ScenarioError, match=pattern):
        scenarios.scenario_from_dict({"name": name, "facilities": "pack"})


@pytest.mark.parametrize("source", ["/etc/passwd", "../outside.csv"])
def test_paths_in_a_scenario_file_stay_inside(tmp_path, monkeypatch, source):
    folder = tmp_path / "shared"
    folder.mkdir()
    (tmp_path / "outside.csv").write_text("secret,columns\n1,2\n", "utf-8")
    write(folder, "s", f'name = "s"\nfacilities = "{source}"\n')
    with pytest.raises(ScenarioError, match="outside the scenario's folder") as info:
        scenarios.resolve("s", folder=folder)
    assert "secret" not in str(info.value) and "root:" not in str(info.value)
    monkeypatch.setattr(settings, "allow_outside_paths", True)  # geo --allow-outside-paths
    with pytest.raises(GeoError) as read:  # now the file is read, and refused as a facility list
        scenarios.resolve("s", folder=folder)
    assert "outside the scenario's folder" not in str(read.value)
