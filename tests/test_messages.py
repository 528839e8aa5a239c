"""The common errors a planner meets, shown in 中文: each is raised by the real code path with
hostile input, then rendered by geo.messages; no English word may be left beyond file names,
column names, values and codes."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from geo import GeoError, editor, facilities, messages, population, register, scenarios

#: What stays as it is in Chinese text: codes, systems, formats, values the planner typed.
KEPT = re.compile(
    r"`[^`]*`|'[^']*'|\"[^\"]*\"|\[[^\]]*\]|[\w-]*\.(?:csv|xlsx|xls|tif|toml|gz|pdf)\b|\w+Error|"
    r"WGS-84|GCJ-02|BD-09|UTF-8|GB18030|Big5|CSV|Excel|GeoTIFF|EPSG:\d+|EXAMPLE|"
    r"wgs84|gcj02|bd09|lon|lat|id\b|walk15|existing|planned|closed|under_construction|"
    r"csc|branch|station|clinic|hospital|emergency_department|ambulance_substation|other|"
    r"BadZipFile|Overpass|OSM|ODbL|OpenStreetMap"
)

HEADER = "id,name,type,status,lon,lat,capacity,coord_system,subdistrict\n"
ROWS = [
    "a1,,chc,existing,121.38,31.11,,,",  # no name
    "a2,Site B,spaceship,existing,121.38,31.11,,,",  # unknown type
    "a1,Site C,chc,existing,121.38,31.11,,,",  # duplicate id
    "a4,Site D,chc,sometimes,121.38,31.11,,,",  # unknown status
    "a5,Site E,chc,existing,121.38,31.11,lots,,",  # not a number
    "a6,Site F,chc,existing,121.38,31.11,-3,,",  # negative
    "a7,Site G,chc,existing,121.38,31.11,,mars,",  # unknown system
    "a8,Site H,chc,existing,121.38,31.11,,,Atlantis",  # unknown 街镇
    "a9,Site I,chc,existing,121.38,,,,",  # no latitude
    "a10,Site J,chc,existing,31.11,121.38,,,",  # swapped
    "a11,Site K,chc,existing,116.40,39.90,,,",  # Beijing
    "a12,Site L,chc,existing,121.38,31.11,,,莘庄镇",  # declared elsewhere (maybe)
]


def _english_words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z]{3,}", KEPT.sub("", text))


def _zh(text: object) -> str:
    out = messages.localise(text, "zh")
    assert re.search(r"[\u4e00-\u9fff]", out), out
    return out


def _error(fn, *args, **kwargs) -> str:
    with pytest.raises((GeoError, FileExistsError)) as info:
        fn(*args, **kwargs)
    return str(info.value)


def test_every_rejected_row_reason_reads_in_chinese(pack):
    data = (HEADER + "\n".join(ROWS) + "\n").encode()
    table = facilities.facilities_from_upload("f.csv", data)
    reasons = {p.reason for p in table.problems}
    assert len(reasons) >= 10  # every kind above was found
    for reason in reasons:
        zh = _zh(reason)
        assert not _english_words(zh), (reason, zh)
    shown = messages.localise_frame(register.problems_frame(table.problems), "zh")
    assert list(shown.columns) == ["行", "字段", "值", "原因"]
    assert shown["值"].tolist() == [str(p.value) for p in table.problems]  # values kept


def test_a_strict_read_error_reads_in_chinese_line_by_line(pack, tmp_path):
    path = tmp_path / "f.csv"
    path.write_text(HEADER + "\n".join(ROWS) + "\n", encoding="utf-8")
    text = _error(facilities.read_facilities, path)
    zh = _zh(text)
    assert zh.count("\n") == text.count("\n")
    for line in zh.split("\n"):
        assert not _english_words(line), line
    assert "第 2 行" in zh and "f.csv" in zh


def test_notes_on_a_list_read_in_chinese(pack):
    rows = ["b1,远处一,chc,existing,116.40,39.90,,,", "b2,远处二,chc,existing,116.41,39.90,,,"]
    rows.append("b3,近处站,chc,existing,121.38,31.11,,,浦锦街道")
    data = (HEADER + "\n".join(rows) + "\n\n").encode()
    table = facilities.facilities_from_upload("far.csv", data)
    assert table.notes
    for note in table.notes:
        zh = _zh(note)
        assert not _english_words(zh), (note, zh)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("empty.csv", b""),
        ("big5.csv", "名稱,類型\n莘莊鎮社區衛生服務中心,社區衛生服務中心\n".encode("big5")),
        ("bad.xlsx", b"not a workbook"),
        ("list.pdf", b"%PDF-1.4"),
        ("cols.csv", b"foo,bar\n1,2\n"),
        ("two.csv", "name,名称,type,lon,lat\na,b,chc,121.38,31.11\n".encode()),
        ("bytes.csv", bytes(range(128, 256)) * 4),
        ("header.csv", HEADER.encode()),
    ],
)
def test_file_errors_read_in_chinese(pack, name, data):
    text = _error(facilities.facilities_from_upload, name, data)
    zh = _zh(text)
    assert name in zh
    assert not _english_words(zh), (text, zh)


def test_population_errors_read_in_chinese(pack):
    data = "街镇,人口\nAtlantis,100\n莘庄镇,-5\n莘庄镇,10\n".encode()
    text = _error(population.population_from_upload, "pop.csv", data)
    zh = _zh(text)
    for line in zh.split("\n"):
        assert not _english_words(line), (text, line)


def test_scenario_name_errors_read_in_chinese(pack, tmp_path):
    gdf = facilities.facilities_from_pack().gdf.head(3)
    for name in ("baseline", "a/b", ".hidden", "x" * 200):
        text = _error(scenarios.create_scenario, name, gdf, folder=tmp_path)
        zh = _zh(text)
        assert not _english_words(zh), (text, zh)
    scenarios.create_scenario("mine", gdf, folder=tmp_path)
    text = _error(scenarios.create_scenario, "mine", gdf, folder=tmp_path)
    assert not _english_words(_zh(text)), text
    sc = scenarios.load_scenario("baseline")
    text = _error(scenarios.save_scenario_as, sc, folder=tmp_path)
    assert not _english_words(_zh(text)), text


def test_edit_errors_read_in_chinese(pack):
    ed = editor.open_editor("baseline")
    taken = str(ed.facilities()["name"].iloc[0])
    texts = [
        _error(ed.add_site, 116.40, 39.90, facility_type="chc"),
        _error(ed.add_site, 121.38, 31.11, facility_type="chc", name=taken),
        _error(ed.add_site, 121.38, 31.11, facility_type="spaceship"),
    ]
    for text in texts:
        zh = _zh(text)
        assert not _english_words(zh), (text, zh)


def test_english_is_left_as_it_is_and_unknown_lines_are_not_half_translated():
    text = (
        "f.csv: 1 invalid facility row(s) (rows are numbered as in a spreadsheet, header = row 1):"
    )
    assert messages.localise(text, "en") == text
    assert messages.localise("something new happened", "zh") == "something new happened"
    assert messages.localise_frame(pd.DataFrame({"reason": ["not a number"]}), "en").equals(
        pd.DataFrame({"reason": ["not a number"]})
    )


def test_edit_history_lines_read_in_chinese(pack):
    ed = editor.open_editor("baseline")
    ed.add_site(121.38, 31.11, facility_type="station", name="新站")
    line = ed.history[-1].describe()
    assert messages.localise(line, "zh") == f"新增 新站（{ed.history[-1].facility_id}）"
