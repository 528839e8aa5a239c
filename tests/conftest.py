"""Shared fixtures: the embedded data folder ``data/`` (or the one ``GEO_DATA_DIR`` names).

If the data folder is missing or incomplete the whole run stops at once with one message that
says what is missing, where it looked and how to point elsewhere — not one error per test.
The run uses a temporary cache folder (networks are built once per run) and never writes into
the repository's ``.cache/``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from geo import settings


def pytest_sessionstart(session: pytest.Session) -> None:
    """Stop the run before any test if the data folder is missing or incomplete."""
    folder, how, missing = settings.check_data_folder()
    if missing:
        pytest.exit(
            f"the test suite needs a complete data folder: {folder} ({how}) lacks "
            f"{', '.join(missing)} (plain or .gz). Re-create data/ with "
            f"`python tools/build_data.py` or point {settings.DATA_ENV_VAR} at a complete folder.",
            returncode=4,
        )
    os.environ.pop(settings.CACHE_ENV_VAR, None)  # the attribute below decides
    settings.cache_folder = Path(tempfile.mkdtemp(prefix="geo-test-cache-"))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Remove the run's temporary cache folder."""
    if settings.cache_folder.name.startswith("geo-test-cache-"):
        shutil.rmtree(settings.cache_folder, ignore_errors=True)


@pytest.fixture(scope="session")
def pack() -> Path:
    """The data folder; tests that need it fail loudly (not skip) if it is missing."""
    return settings.resolve_data_folder()
