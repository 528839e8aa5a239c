"""Text a user typed, made inert where it is shown: in map HTML (inside folium's JavaScript
template literals) and in spreadsheet cells (never a live formula).

One helper per place, used by every writer: :func:`html_text` for anything placed into map
HTML, :func:`spreadsheet_text` / :func:`spreadsheet_frame` for every CSV and Excel cell.
"""

from __future__ import annotations

import html

import pandas as pd

__all__ = [
    "FORMULA_STARTS",
    "html_text",
    "spreadsheet_frame",
    "spreadsheet_text",
    "unquote_spreadsheet_text",
]

#: A cell starting with one of these is a formula (or becomes one) in Excel, LibreOffice, WPS.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def html_text(value: object) -> str:
    """``value`` as text safe inside HTML *and* inside the JavaScript template literal folium
    builds tooltips and popups with: ``& < > " '`` escaped, and the backtick, ``$`` (so no
    ``${...}``) and backslash written as HTML character references, which the browser shows as
    the characters themselves.

    >>> html_text("</script>${1}<b>x`")
    '&lt;/script&gt;&#36;{1}&lt;b&gt;x&#96;'
    """
    text = html.escape("" if value is None else str(value), quote=True)
    return text.replace("\\", "&#92;").replace("`", "&#96;").replace("$", "&#36;")


def spreadsheet_text(value: object) -> object:
    """A cell value that no spreadsheet runs: text starting with ``= + - @``, tab or CR gets a
    leading ``'`` (shown as text), and a carriage return inside text becomes a line feed (which
    CSV writers quote); numbers and other values pass unchanged.

    >>> spreadsheet_text('=HYPERLINK("http://x")'), spreadsheet_text(-1.5)
    ('\\'=HYPERLINK("http://x")', -1.5)
    """
    if not isinstance(value, str):
        return value
    # a bare CR inside a cell is not quoted by CSV writers and starts a new row in Excel
    text = value.replace("\r\n", "\n").replace("\r", "\n")
    return "'" + text if value.startswith(FORMULA_STARTS) else text


def unquote_spreadsheet_text(value: object) -> object:
    """Undo :func:`spreadsheet_text` on a cell read back from a file the product wrote.

    >>> unquote_spreadsheet_text("'=1+1"), unquote_spreadsheet_text("'quoted")
    ('=1+1', "'quoted")
    """
    if isinstance(value, str) and value.startswith("'") and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value


def spreadsheet_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells (and column names) pass :func:`spreadsheet_text`."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(spreadsheet_text)
    out.columns = [spreadsheet_text(c) for c in out.columns]
    return out
