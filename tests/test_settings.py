from __future__ import annotations

import pytest

from geo import settings
from geo._errors import DataFolderError


def test_default_is_the_pack_beside_the_repo(monkeypatch):
    monkeypatch.setattr(settings, "data_folder", None)
    monkeypatch.delenv(settings.DATA_ENV_VAR, raising=False)
    assert (
        settings.resolve_data_folder() == (settings.REPO_ROOT.parent / "shared/minhang").resolve()
    )


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
    with pytest.raises(DataFolderError, match=r"'roads/x.geojson'.*not found"):
        settings.data_file("roads/x.geojson")
