"""The app's main flows with Streamlit's AppTest (no browser): render, switch, edit, undo, save."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from geo import scenarios, settings

APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.fixture
def at(pack):
    app = AppTest.from_file(APP, default_timeout=180)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def metric(app: AppTest, label: str) -> str:
    return next(m.value for m in app.metric if m.label == label)


def test_first_render_in_chinese_with_plan_figures(at):
    assert at.title[0].value == "闵行区医疗卫生设施覆盖规划"
    assert metric(at, "计入设施数") == "17"
    assert any("85.84%" in md.value for md in at.markdown)
    assert not at.error


def test_switch_language_and_standard(at):
    assert not at.warning  # walk15 counts 17 facilities: nothing to explain
    at.selectbox(key="standard").select_index(2).run()  # walk15, ems_distance, ems_time, ...
    assert metric(at, "计入设施数") == "0"
    assert "没有急救分站" in at.warning[0].value  # a 0 % with no substation is explained
    at.radio(key="lang_choice").set_value("English").run()
    assert at.title[0].value == "Minhang health facility coverage planner"
    assert metric(at, "Facilities counted") == "0"
    assert any("≤ 12 min" in md.value for md in at.markdown)
    assert "no ambulance substation" in at.warning[0].value
    assert "hospital,emergency_department" in at.warning[0].value


@pytest.mark.parametrize("make", ["absent", "incomplete"])
def test_no_data_folder_shows_a_bilingual_page(make, tmp_path, monkeypatch):
    folder = tmp_path / "data"
    if make == "incomplete":
        (folder / "boundaries").mkdir(parents=True)
    monkeypatch.setenv("GEO_DATA_DIR", str(folder))
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    assert str(folder) in app.error[0].value
    text = app.markdown[0].value
    assert "GEO_DATA_DIR" in text and "tools/build_data.py" in text
    assert "数据文件夹" in text and "data folder" in text  # both languages
    assert "roads/minhang_roads_osm_simplified.geojson" in text


def test_remove_undo_and_edit_history(at):
    at.radio(key="mode").set_value("删除站点").run()
    at.selectbox(key="site_remove_zh").set_value(
        "way/1195595581"
    ).run()  # 七宝卫生服务中心, a centre
    at.button(key="remove_button").click().run()
    assert metric(at, "计入设施数") == "16"
    assert any("移除 七宝卫生服务中心" in c.value for c in at.caption)  # in 中文, not "remove"
    at.button(key="undo").click().run()
    assert metric(at, "计入设施数") == "17"


def test_save_as_new_scenario_refuses_to_overwrite(at, tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "scenario_folder", tmp_path)
    shipped = 'name = "baseline"\nfacilities = "pack"\n'
    (tmp_path / "baseline.toml").write_text(shipped, "utf-8")
    # the shipped baseline cannot be replaced, not even with "Replace if it exists"
    at.text_input(key="save_name").set_value("baseline").run()
    at.checkbox(key="save_overwrite").check().run()
    at.button(key="save_button").click().run()
    assert any("是随附情景，不能替换" in e.value for e in at.error)
    assert (tmp_path / "baseline.toml").read_text("utf-8") == shipped
    # a name with spaces is saved under that very name, so a child can name it as its base
    at.checkbox(key="save_overwrite").uncheck().run()
    at.text_input(key="save_name").set_value("my plan").run()
    at.button(key="save_button").click().run()
    assert (tmp_path / "my plan.toml").exists()
    saved = scenarios.load_scenario("my plan", folder=tmp_path)
    assert saved.base == "baseline" and saved.edits == ()
    # saving again without "Replace" is refused; with it, the old file is kept as a backup
    at.button(key="save_button").click().run()
    assert any("已存在" in e.value for e in at.error)
    at.checkbox(key="save_overwrite").check().run()
    at.button(key="save_button").click().run()
    assert (tmp_path / "my plan.toml.bak").exists()


def test_suggest_sites_adds_the_plan_quota_as_editable_sites(at):
    at.button(key="suggest").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert metric(at, "计入设施数") == "49"  # 17 + Table 2's 32
    at.button(key="undo").click().run()  # one undo removes the whole suggestion
    assert metric(at, "计入设施数") == "17"


def test_coverage_curve_chart(at):
    at.button(key="curve_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    table = next(df.value for df in at.dataframe if "n_sites" in df.value.columns)
    assert table["n_sites"].tolist()[:3] == [0, 1, 2]
    covered = table["residents_covered"].tolist()
    assert covered == sorted(covered)  # each extra site covers at least as many residents


def test_an_unexpected_error_is_a_short_notice_not_a_traceback(pack, monkeypatch, caplog):
    from geo import editor

    def broken(*_args, **_kwargs):
        raise RuntimeError("internal detail /secret/path")

    monkeypatch.setattr(editor, "editor_view", broken)
    app = AppTest.from_file(APP, default_timeout=180)
    with caplog.at_level("ERROR", logger="geo.app"):
        app.run()
    assert not app.exception
    assert any("An unexpected error occurred" in e.value for e in app.error)
    assert not any("/secret/path" in e.value for e in app.error)
    assert "internal detail /secret/path" in caplog.text  # the details go to the log


def test_travel_time_distribution_before_and_after(at):
    from geo import access, editor

    at.button(key="access_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    table = next(df.value for df in at.dataframe if "平均（分钟）（变化）" in df.value.columns)
    district = table.iloc[-1]
    assert district["街镇"] == "闵行区"
    # the app shows what geo.access computes for the scenario as opened (no edit: no change)
    ed = editor.open_editor("baseline")
    std, facilities = ed.standards["walk15"], ed.facilities()
    expected = access.travel_times(
        std, facilities, ed.population, network=ed.networks["walk"]
    ).district()
    assert float(district["平均（分钟）（情景）"]) == round(expected["mean_min"], 2)
    assert district["平均（分钟）（变化）"] == 0
    units = at.selectbox(key="access_unit")
    assert len(units.options) == 15  # the district and the 14 units
    units.select_index(3).run()
    assert not at.exception
    at.button(key="catchments_run").click().run()  # the catchment map is drawn
    assert not at.exception, [e.value for e in at.exception]


def test_capacity_per_thousand_residents(at):
    at.button(key="access_run").click().run()
    at.button(key="fca_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    table = next(df.value for df in at.dataframe if "每千人可及供给" in df.value.columns)
    district = table.iloc[-1]
    assert district["街镇"] == "闵行区" and district["规划目标"] == 4.6
    assert district["与目标差距"] == round(district["每千人可及供给"] - 4.6, 2)
    missing = next(df.value for df in at.dataframe if list(df.value.columns) == ["名称", "类型"])
    assert "仁济医院南院" in set(missing["名称"])  # no total bed count: listed, not guessed
    assert set(missing["类型"]) == {"医院"}
