"""Facility-coverage planner for public health services in Minhang District, Shanghai.

The package follows the data's path: load (``settings``, ``boundaries``, ``facilities``,
``population``, ``coords``) → ``network`` → ``reach`` → ``coverage`` → ``export``.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("minhang-care-coverage")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
