"""One language at a time: every text the app shows (labels, options, placeholders, figures,
notes, table headers and values) is in the chosen language, beyond proper names and units."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from geo import boundaries, facilities, scenarios

APP = str(Path(__file__).resolve().parent.parent / "app.py")

#: Shown in both languages on purpose: the language switch itself.
BILINGUAL = ("语言 / Language", "中文", "English")

#: Map providers, named as their users know them in both languages.
BRANDS = {"高德", "腾讯", "百度"}

#: Names of things, codes and units that stay as they are in Chinese text.
ZH_ALLOWED = re.compile(
    r"OpenStreetMap|AMap|GCJ-02|WGS-84|BD-09|GPS|CSV|Excel|GeoTIFF|PuLP/CBC|MCLP|E?2SFCA|TOML|toml|"
    r"PDF|HTML|"
    r"walk15|ems_distance|ems_time|straight_line|km²|km|min|pp|[\w/]+\.(csv|xlsx|toml|geojson)|"
    r"OSM|Overpass|ODbL|`[^`]*`|\[parameters\]|"
    r"ems_types|hospital|emergency_department|ambulance_substation|--types|GEO_\w+"
)


def _texts(app: AppTest) -> list[str]:
    """Every text the page shows, element by element (the map's own texts are tested in
    tests/test_maps.py)."""
    out: list[str] = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error"):
        out += [str(e.value) for e in getattr(app, kind)]
    out += [f"{m.label} {m.value}" for m in app.metric]
    for widget in (*app.selectbox, *app.radio, *app.multiselect):
        out.append(str(widget.label))
        out += [str(o) for o in widget.options]
        placeholder = getattr(widget, "placeholder", None)
        out += [str(placeholder)] if placeholder else []
    out += [str(b.label) for b in app.button]
    out += [str(e.label) for e in app.expander]
    out += [str(c.label) for c in app.checkbox]
    out += [str(u.label) for u in app.text_input]
    for frame in app.dataframe:
        table = frame.value
        out += [str(c) for c in table.columns]
        out += [str(v) for v in table.select_dtypes(exclude="number").to_numpy().ravel()]
    return [t for t in out if t not in BILINGUAL]


def _proper_names() -> set[str]:
    sub = boundaries.subdistricts()
    names = set(sub["name_zh"]) | set(sub["name_en"])
    names |= set(facilities.facilities_from_pack().gdf["name"])
    return names | set(scenarios.list_scenarios())  # scenario names are file names


def _strip(text: str, names: set[str]) -> str:
    for name in sorted(names, key=len, reverse=True):
        text = text.replace(name, "")
    return text


@pytest.fixture(scope="module")
def names(pack) -> set[str]:
    return _proper_names()


def _render(lang: str, standard_index: int) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=180)
    app.run()
    if lang == "en":
        app.radio(key="lang_choice").set_value("English").run()
    app.selectbox(key="standard").select_index(standard_index).run()
    app.button(key="access_run").click().run()  # the travel-time tables and chart too
    app.button(key="fca_run").click().run()  # and the capacity tables
    assert not app.exception, [e.value for e in app.exception]
    return app


@pytest.mark.parametrize("standard_index", [0, 2], ids=["walk15", "ems_time"])
def test_english_pages_show_no_chinese(names, standard_index):
    app = _render("en", standard_index)
    leftovers = [t for t in _texts(app) if re.search(r"[\u4e00-\u9fff]", _strip(t, names | BRANDS))]
    assert not leftovers, leftovers


@pytest.mark.parametrize("standard_index", [0, 2], ids=["walk15", "ems_time"])
def test_chinese_pages_show_no_english_words(names, standard_index):
    app = _render("zh", standard_index)
    leftovers = []
    for text in _texts(app):
        rest = ZH_ALLOWED.sub("", _strip(text, names))
        words = re.findall(r"[A-Za-z]{4,}", rest)
        if words:
            leftovers.append((text[:120], words[:5]))
    assert not leftovers, leftovers


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("zh", "（116.40000, 39.90000）在区界之外：请在闵行区内选址"), ("en", None)],
)
def test_an_edit_error_is_shown_in_the_chosen_language(lang, expected):
    english = "(116.40000, 39.90000) is outside the district: place sites inside Minhang"
    app = _render(lang, 0)
    app.session_state["error"] = english  # what a refused click leaves for the next run
    app.run()
    assert [e.value for e in app.error] == [expected or english]
