"""Type aliases for the public signatures: plain data, so that no signature needs ``Any``."""

from __future__ import annotations

from typing import TypeAlias

#: A value that JSON and TOML can hold: metadata, summaries, scenario fields.
JSONValue: TypeAlias = "str | int | float | bool | list[JSONValue] | dict[str, JSONValue] | None"

#: The metadata of a result (network, population, facilities, parameters, versions, time).
Metadata: TypeAlias = "dict[str, JSONValue]"

__all__ = ["JSONValue", "Metadata"]
