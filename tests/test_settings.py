from __future__ import annotations

import pytest

from geo import settings
from geo._errors import DataFolderError


def test_default_is_the_embedded_data_folder(monkeypatch):
    monkeypatch.setattr(settings, "data_folder", None)
    monkeypatch.delenv(settings.DATA_ENV_VAR, raising=False)
    assert settings.resolve_data_folder() == (settings.REPO_ROOT / "data").resolve()
    assert settings.missing_data_files() == []


def test_embedded_data_is_small_and_compressed():
    files = [p for p in (settings.REPO_ROOT / "data").rglob("*") if p.is_file()]
    data_files = [p for p in files if p.suffix == ".gz"]
    assert len(data_files) == len(settings.DATA_FILES) + 1  # + the OSM XML loader fixture
    assert sum(p.stat().st_size for p in files) < 1_000_000  # the aim: under 1 MB


def test_plain_and_gzip_files_are_found(monkeypatch, tmp_path):
    (tmp_path / "roads").mkdir()
    (tmp_path / "roads/a.geojson").write_text("{}")
    (tmp_path / "roads/b.geojson.gz").write_bytes(b"")
    monkeypatch.setattr(settings, "data_folder", tmp_path)
    assert settings.data_file("roads/a.geojson") == tmp_path.resolve() / "roads/a.geojson"
    assert settings.data_file("roads/b.geojson") == tmp_path.resolve() / "roads/b.geojson.gz"
    assert settings.missing_data_files() == list(settings.DATA_FILES)


def test_incomplete_folder_is_stopped_with_one_message(tmp_path):
    import subprocess
    import sys

    (tmp_path / "boundaries").mkdir()
    env = {**__import__("os").environ, settings.DATA_ENV_VAR: str(tmp_path)}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            str(settings.REPO_ROOT / "tests/test_plan.py"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=settings.REPO_ROOT,
        check=False,
    )
    out = run.stdout + run.stderr
    assert run.returncode == 4, out
    assert "needs a complete data folder" in out  # pytest shows the exit reason (twice)
    assert "ERROR" not in out and "passed" not in out and "failed" not in out  # no test ran
    assert "boundaries/district.geojson" in out and "tools/build_data.py" in out


def test_missing_folder_says_where_and_how(monkeypatch, tmp_path):
    monkeypatch.setattr(settings, "data_folder", tmp_path / "nope")
    with pytest.raises(DataFolderError, match=r"looked in .*nope .*--data.*GEO_DATA_DIR"):
        settings.resolve_data_folder()


def test_environment_variable_and_override_order(monkeypatch, tmp_path):
    monkeypatch.setattr(settings, "data_folder", None)
    monkeypatch.setenv(settings.DATA_ENV_VAR, str(tmp_path))
    assert settings.resolve_data_folder() == tmp_path.resolve()
    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.setattr(settings, "data_folder", other)
    assert settings.resolve_data_folder() == other.resolve()


def test_missing_file_inside_folder(monkeypatch, tmp_path):
    monkeypatch.setattr(settings, "data_folder", tmp_path)
    with pytest.raises(DataFolderError, match=r"'roads/x.geojson'.*not found.*build_data"):
        settings.data_file("roads/x.geojson")


def test_embedded_files_match_the_checksums_in_data_readme():
    import gzip
    import hashlib

    readme = (settings.REPO_ROOT / "data/README.md").read_text("utf-8")
    for gz in (settings.REPO_ROOT / "data").rglob("*.gz"):
        rel = gz.relative_to(settings.REPO_ROOT / "data").with_suffix("").as_posix()
        digest = hashlib.sha256(gzip.decompress(gz.read_bytes())).hexdigest()
        assert f"{digest}  {rel}" in readme, rel


def test_the_test_run_caches_outside_the_repository():
    cache = settings.resolve_cache_folder().resolve()
    assert settings.REPO_ROOT not in cache.parents
