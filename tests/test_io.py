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
