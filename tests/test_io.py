"""File plumbing: atomic writes that never clobber, stale temporary folders cleaned up."""

from __future__ import annotations

import os
import time

import pytest

from geo import _io


def test_stale_temporary_folders_are_removed_and_fresh_ones_kept(tmp_path):
    stale = tmp_path / ".out.csv.abc123.tmp"
    fresh = tmp_path / ".out.csv.def456.tmp"
    for folder in (stale, fresh):
        folder.mkdir()
        (folder / "out.csv").write_text("half written")
    old = time.time() - _io.STALE_TEMP_SECONDS - 60
    os.utime(stale, (old, old))
    with _io.atomic_target(tmp_path / "other.csv", overwrite=False) as tmp:
        tmp.write_text("done")
    assert not stale.exists() and fresh.exists()
    assert (tmp_path / "other.csv").read_text() == "done"


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "table.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError), _io.atomic_target(target, overwrite=True) as tmp:
        tmp.write_text("partial")
        raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert not list(tmp_path.glob(".*.tmp"))
    with (
        pytest.raises(FileExistsError, match="already exists"),
        _io.atomic_target(target, overwrite=False) as tmp,
    ):
        tmp.write_text("new")
    assert target.read_text() == "old"


def test_twenty_concurrent_re_pins_keep_twenty(tmp_path):
    import threading

    from geo import geocoding

    path = tmp_path / "overrides.csv"
    errors: list[BaseException] = []

    def pin(i: int) -> None:
        try:
            geocoding.add_override(path, f"七宝镇 漕宝路 {i}号", 121.35 + i * 1e-4, 31.15)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=pin, args=(i,)) for i in range(20)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    assert len(geocoding.read_overrides(path)) == 20


def test_concurrent_geocode_caches_merge_instead_of_overwriting(tmp_path):
    from geo import geocoding

    path = tmp_path / "cache.json"
    a, b = geocoding.GeocodeCache(path), geocoding.GeocodeCache(path)
    for cache, address in ((a, "甲路1号"), (b, "乙路2号")):
        result = geocoding.GeocodeResult(
            address=address, lon=121.4, lat=31.1, match_level="road", confidence=0.8,
            provider="amap", review=False,
        )  # fmt: skip
        cache.put(result)
    a.save()
    b.save()  # b did not see a's entry when it was opened
    fresh = geocoding.GeocodeCache(path)
    assert fresh.get("amap", "甲路1号") is not None and fresh.get("amap", "乙路2号") is not None


def test_an_export_set_is_replaced_whole_or_not_at_all(tmp_path):
    for name, text in (("t.csv", "old csv"), ("t.gpkg", "old gpkg")):
        (tmp_path / name).write_text(text)
    with (
        pytest.raises(RuntimeError),
        _io.staged_set(tmp_path, ["t.csv", "t.gpkg"], overwrite=True) as stage,
    ):
        (stage / "t.csv").write_text("new csv")
        raise RuntimeError("killed before the GeoPackage was written")
    assert (tmp_path / "t.csv").read_text() == "old csv"  # no new CSV beside the old GeoPackage
    assert not list(tmp_path.glob(".*.tmp"))
    with _io.staged_set(tmp_path, ["t.csv", "t.gpkg"], overwrite=True) as stage:
        (stage / "t.csv").write_text("new csv")
        (stage / "t.gpkg").write_text("new gpkg")
    assert [(tmp_path / n).read_text() for n in ("t.csv", "t.gpkg")] == ["new csv", "new gpkg"]
