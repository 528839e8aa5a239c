"""Shared fixtures: the embedded data folder ``data/`` (or the one ``GEO_DATA_DIR`` names).

If the data folder is missing or incomplete the whole run stops at once with one message that
says what is missing, where it looked and how to point elsewhere — not one error per test.
"""

from __future__ import annotations

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


@pytest.fixture(scope="session")
def pack() -> Path:
    """The data folder; tests that need it fail loudly (not skip) if it is missing."""
    return settings.resolve_data_folder()
