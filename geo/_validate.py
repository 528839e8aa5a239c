"""Input checks shared by the loaders: header matching, numbers, coordinate systems."""

from __future__ import annotations

import gzip
import math
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd

from geo._errors import InputFileError, RowError, RowProblem
from geo._io import plain_suffix
from geo._safe import unquote_spreadsheet_text

#: Accepted spellings of coordinate systems (lower-cased, spaces/hyphens/underscores removed).
COORD_SYSTEM_ALIASES: dict[str, str] = {
    "wgs84": "wgs84",
    "epsg4326": "wgs84",
    "epsg:4326": "wgs84",
    "gps": "wgs84",
    "wgs": "wgs84",
    "gcj02": "gcj02",
    "gcj": "gcj02",
    "amap": "gcj02",
    "gaode": "gcj02",
    "高德": "gcj02",
    "火星": "gcj02",
    "tencent": "gcj02",
    "腾讯": "gcj02",
    "bd09": "bd09",
    "baidu": "bd09",
    "百度": "bd09",
}


def normalise_key(text: object) -> str:
    """Lower-case ``text`` and drop spaces, hyphens, underscores and full-width spaces."""
    return "".join(ch for ch in str(text).strip().lower() if ch not in " -_\u3000")


def coord_system(value: object) -> str | None:
    """Return ``wgs84``, ``gcj02`` or ``bd09`` for a spelling of one, or None if unknown."""
    return COORD_SYSTEM_ALIASES.get(normalise_key(value))


def match_columns(
    columns: Iterable[object],
    aliases: Mapping[str, tuple[str, ...]],
    *,
    required: Iterable[str],
    source: str,
) -> dict[str, str]:
    """Map canonical field names to the file's own headers using ``aliases``.

    Raises
    ------
    InputFileError
        If a required field has no matching header, or two headers match one field.
    """
    found: dict[str, str] = {}
    lookup = {normalise_key(a): field for field, names in aliases.items() for a in (field, *names)}
    for col in columns:
        field = lookup.get(normalise_key(col))
        if field is None:
            continue
        if field in found:
            msg = f"{source}: columns {found[field]!r} and {col!r} both mean `{field}`; keep one"
            raise InputFileError(msg)
        found[field] = str(col)
    missing = [f for f in required if f not in found]
    if missing:
        accepted = "; ".join(f"{f}: {', '.join((f, *aliases[f]))}" for f in missing)
        msg = (
            f"{source}: missing required column(s) {missing}. "
            f"Columns found: {list(map(str, columns))}. Accepted headers — {accepted}"
        )
        raise InputFileError(msg)
    return found


def parse_float(text: object) -> float | None:
    """Parse a number written by a person (full-width digits, thousands separators); None if blank.

    Raises ValueError for text that is not a number.
    """
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return None
    s = str(text).strip().translate(_FULLWIDTH).replace(",", "")
    if s == "":
        return None
    value = float(s)
    if not math.isfinite(value):
        raise ValueError(s)
    return value


_FULLWIDTH = str.maketrans("０１２３４５６７８９．－＋，", "0123456789.-+,")


def _read_excel(path: Path, sheet: str | int | None) -> pd.DataFrame:
    try:
        df = pd.read_excel(path, sheet_name=sheet if sheet is not None else 0, dtype=str)
    except ImportError as exc:  # .xls needs xlrd, which the product does not install
        msg = f"{path.name}: old Excel (.xls) files are not read; save it as .xlsx or CSV"
        raise InputFileError(msg) from exc
    except Exception as exc:  # corrupt or mislabelled workbooks raise many types
        msg = (
            f"{path.name}: cannot be read as an Excel workbook ({type(exc).__name__}); "
            "is it really .xlsx? save it again from Excel, or as UTF-8 CSV"
        )
        raise InputFileError(msg) from exc
    return _unguarded(df.fillna(""))


def _unguarded(df: pd.DataFrame) -> pd.DataFrame:
    """Cells the product wrote formula-safe ('=…) read back as typed (geo._safe)."""
    for column in df.columns:
        cells = df[column]
        if cells.dtype != object and not pd.api.types.is_string_dtype(cells):
            continue
        if cells.astype(str).str.startswith("'").any():
            df[column] = cells.map(unquote_spreadsheet_text)
    return df


def read_table(path: str | Path, *, sheet: str | int | None = None) -> pd.DataFrame:
    """Read a CSV (UTF-8, UTF-8 with BOM or GB18030) or Excel sheet with every cell as text."""
    path = Path(path)
    if not path.exists():
        msg = f"file not found: {path}"
        raise InputFileError(msg)
    if not path.is_file():
        msg = f"{path}: not a file (a directory or a device); give a .csv or .xlsx file"
        raise InputFileError(msg)
    suffix = path.suffix.lower()
    if suffix == ".gz" and plain_suffix(path) in {".csv", ".txt", ".tsv"}:
        suffix = plain_suffix(path)  # pandas decompresses gzip by the file name
    if suffix in {".xlsx", ".xlsm", ".xls"}:
        return _read_excel(path, sheet)
    if suffix not in {".csv", ".txt", ".tsv"}:
        msg = (
            f"{path.name}: unsupported table format {suffix!r}; use .csv (or .csv.gz), .xlsx "
            "or .xls"
        )
        raise InputFileError(msg)
    sep = "\t" if suffix == ".tsv" else ","
    for encoding in ("utf-8-sig", "gb18030"):
        if encoding == "gb18030":
            _refuse_big5(path)
        try:
            return _unguarded(
                pd.read_csv(
                    path,
                    dtype=str,
                    keep_default_na=False,
                    sep=sep,
                    encoding=encoding,
                    skip_blank_lines=False,  # keep row numbers equal to the spreadsheet's
                )
            )
        except UnicodeDecodeError:
            continue
        except pd.errors.EmptyDataError as exc:
            msg = f"{path.name} is empty: expected a header row and at least one data row"
            raise InputFileError(msg) from exc
        except pd.errors.ParserError as exc:  # an unterminated quote, a stray delimiter ...
            msg = f"{path.name}: not a well-formed CSV table ({exc}); check quotes and commas"
            raise InputFileError(msg) from exc
    msg = f"{path.name}: cannot decode the file as UTF-8 or GB18030; save it as UTF-8 CSV"
    raise InputFileError(msg)


#: A non-UTF-8 file is taken for Big5 when it decodes as Big5 and at least this share of its
#: non-ASCII characters, decoded as GB18030, fall outside GB 2312 (a mainland register written
#: in GB18030 has almost none there; Big5 bytes read as GB18030 give kana, box drawing and rare
#: characters). Measured: 33–67 % on Big5 samples of 4–23 characters, 0 % on GB samples.
BIG5_SHARE = 0.25

#: Fewest non-ASCII characters for the Big5 test: two-character names cannot be told apart.
BIG5_MIN_CHARS = 4


def _refuse_big5(path: Path) -> None:
    """Raise :class:`InputFileError` if the (non-UTF-8) file looks Big5-encoded."""
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    with opener(path, "rb") as fh:
        data = fh.read(1 << 20)
    try:
        data.decode("big5")
        text = data.decode("gb18030")
    except UnicodeDecodeError:  # not Big5 (or cut mid-character: then not sure either)
        return
    wide = [c for c in text if ord(c) > 127]
    rare = sum(1 for c in wide if not _in_gb2312(c))
    if len(wide) >= BIG5_MIN_CHARS and rare / len(wide) >= BIG5_SHARE:
        msg = (
            f"{path.name}: looks like Big5 (traditional Chinese) — read as GB18030, {rare} of its "
            f"{len(wide)} Chinese characters would be rare symbols, so it is not read; save it "
            "as UTF-8 CSV (Excel: Save As → CSV UTF-8) or as .xlsx"
        )
        raise InputFileError(msg)


def _in_gb2312(char: str) -> bool:
    try:
        char.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def read_upload(file_name: str, data: bytes) -> pd.DataFrame:
    """:func:`read_table` for an uploaded file (its name and bytes); messages name the planner's
    file, not a temporary one."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / (Path(file_name).name or "upload")
        path.write_bytes(data)
        return read_table(path)


def raise_if_problems(
    problems: list[RowProblem],
    *,
    source: str,
    what: str,
    limit: int = 25,
    summary: str | None = None,
) -> None:
    """Raise :class:`RowError` listing every problem (up to ``limit`` in the message), after
    ``summary`` (what the problems have in common) when given."""
    if not problems:
        return
    rows = sorted({p.row for p in problems})
    lines = [f"  {p}" for p in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"  ... and {len(problems) - limit} more (see the error's .problems)")
    msg = (
        f"{source}: {len(rows)} invalid {what} row(s) (rows are numbered as in a spreadsheet, "
        "header = row 1):\n" + (f"  {summary}\n" if summary else "") + "\n".join(lines)
    )
    raise RowError(msg, problems)
