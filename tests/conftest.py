"""Shared fixtures: the Minhang data pack beside the repository (never copied into it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from geo import settings


@pytest.fixture(scope="session")
def pack() -> Path:
    """The data pack folder; tests that need it fail loudly (not skip) if it is missing."""
    return settings.resolve_data_folder()
