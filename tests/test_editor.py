"""The map editor: incremental edits agree with a full recomputation; saved edits re-resolve."""

from __future__ import annotations

import numpy as np
import pytest

from geo import coverage, editor, scenarios, settings
from geo._errors import ScenarioError


@pytest.fixture(scope="module")
def ed(pack):
    return editor.open_editor("baseline")


def full_table(ed: editor.ScenarioEditor, standard: str):
    std = ed.standards[standard]
    return coverage.compute_coverage(
        std, ed.facilities(), ed.population, network=ed.networks.get(std.mode)
    ).table


def test_edits_agree_with_full_recomputation_and_undo_restores(ed):
    start = ed.session("walk15").table()
    fid = ed.add_site(121.38, 31.05, facility_type="station")
    ed.move_site(fid, 121.40, 31.06)
    ed.remove_site("way/1195595581")  # 七宝卫生服务中心
    ed.add_site(121.50, 31.02, facility_type="hospital")  # not counted by walk15
    got, want = ed.session("walk15").table(), full_table(ed, "walk15")
    np.testing.assert_allclose(got["covered_km2"], want["covered_km2"], atol=1e-9)
    np.testing.assert_allclose(got["covered_residents"], want["covered_residents"], atol=1e-6)
    assert got["facilities"].tolist() == want["facilities"].tolist()
    view = editor.editor_view(ed, "walk15")
    assert view.deltas.iloc[-1]["facilities_delta"] == 0  # +1 station, -1 centre
    assert "baseline as opened" in view.reference
    for _ in range(4):
        assert ed.undo() is not None
    assert ed.undo() is None
    back = ed.session("walk15").table()
    np.testing.assert_allclose(back["covered_km2"], start["covered_km2"], atol=1e-9)
    assert back["covered_residents"].tolist() == start["covered_residents"].tolist()


def test_session_result_equals_compute_coverage(ed):
    res = ed.result("ems_time")
    want = full_table(ed, "ems_time")
    np.testing.assert_allclose(res.table["covered_km2"], want["covered_km2"], atol=1e-9)
    assert res.metadata["standard"] == "ems_time"
    assert "scenario baseline" in res.metadata["facilities_source"]


def test_bad_edits_are_refused(ed):
    with pytest.raises(ScenarioError, match="outside the district"):
        ed.add_site(121.0, 31.5, facility_type="station")
    with pytest.raises(ScenarioError, match="unknown facility type 'pharmacy'"):
        ed.add_site(121.4, 31.1, facility_type="pharmacy")
    with pytest.raises(ScenarioError, match="unknown facility id 'nope'"):
        ed.move_site("nope", 121.4, 31.1)


def test_saved_edits_resolve_to_the_same_sites(ed, tmp_path):
    fid = ed.add_site(121.42, 31.12, facility_type="station", name="测试站")
    ed.move_site("way/1195595581", 121.349, 31.153)
    ed.remove_site("node/6592809485")
    sc = ed.to_scenario("edited", "from the editor")
    (tmp_path / "baseline.toml").write_text(
        (settings.scenario_folder / "baseline.toml").read_text("utf-8"), "utf-8"
    )
    path = scenarios.save_scenario(sc, tmp_path / "edited.toml")
    res = scenarios.resolve(path)
    got = res.facilities.gdf.set_index("id")
    now = ed.facilities().set_index("id")
    assert sorted(got.index) == sorted(now.index)
    assert got.loc[fid, "name"] == "测试站"
    assert (got.loc["way/1195595581"].geometry.x, got.loc["way/1195595581"].geometry.y) == (
        pytest.approx(121.349),
        pytest.approx(31.153),
    )
    for _ in range(3):
        ed.undo()


def test_app_geo_suggest_and_plan_scenario_place_the_same_substations(capsys, pack):
    """One suggestion function: the app's "Suggest sites", `geo suggest` and the shipped
    plan-2025 (written by `geo plan-scenario`) give the same 5 corridor substations."""
    import json

    from geo.cli import main

    fresh = editor.open_editor("baseline")
    ids = fresh.suggest("ems_time")
    rows = fresh.facilities().set_index("id").loc[ids]
    in_app = sorted(zip(rows["lon"].round(6), rows["lat"].round(6), strict=True))
    assert main(["suggest", "--standard", "ems_time", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["objective_kind"] == "max_coverage" and summary["n_sites"] == 5
    plan = scenarios.load_scenario("plan-2025")
    shipped = sorted(
        (round(e.number("lon"), 6), round(e.number("lat"), 6))
        for e in plan.edits
        if e.kind == "add" and e.get("type") == "ambulance_substation"
    )
    assert len(in_app) == 5
    assert in_app == shipped
    assert summary["residents_covered_after"] == round(
        fresh.session("ems_time").table().iloc[-1]["covered_residents"]
    )


def test_undo_removes_a_whole_suggestion_and_leaves_earlier_edits(pack):
    """ "Suggest sites" is one step: one undo removes its 5 substations, the planner's own earlier
    add stays; each proposal can still be moved or removed one by one before that."""
    ed = editor.open_editor("baseline")
    own = ed.add_site(121.38, 31.12, facility_type="station")
    ids = ed.suggest("ems_time")
    assert len(ids) == 5 and len(ed.history) == 6
    ed.remove_site(ids[0])  # one proposal removed by hand: its own step
    undone = ed.undo()
    assert undone is not None and undone.kind == "remove"
    assert ids[0] in set(ed.facilities()["id"])
    ed.undo()
    current = set(ed.facilities()["id"])
    assert own in current and not current & set(ids)
    assert [c.facility_id for c in ed.history] == [own]
    assert ed.session("ems_time").table().iloc[-1]["facilities"] == 0
