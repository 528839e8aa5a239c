"""Population as weighted points, each layer carrying the ``source`` label that outputs print.

Three sources:

* :func:`population_from_addresses` — the default proxy: the pack's 1,214 geocoded residential
  addresses, equal weights scaled so the district sums to the census total (2,653,489). A location
  sample of housing, not a census: say so wherever it is used.
* :func:`population_from_table` — subdistrict totals a planner supplies, spread evenly over the
  residential points inside each subdistrict.
* :func:`population_from_raster` — a population raster (GeoTIFF such as WorldPop), one point per
  populated cell at the cell centre.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from geo import boundaries, settings
from geo._errors import InputFileError, RowProblem, UnknownSubdistrictError
from geo._validate import match_columns, parse_float, raise_if_problems, read_table

if TYPE_CHECKING:  # only for annotations: reach does not import population
    from geo.reach import FloatArray, ReachIndex, Snap

__all__ = [
    "POPULATION_ALIASES",
    "Population",
    "load_population",
    "population_from_addresses",
    "population_from_points",
    "population_from_raster",
    "population_from_table",
    "population_from_upload",
    "total_warning",
]

logger = logging.getLogger(__name__)

POPULATION_ALIASES: dict[str, tuple[str, ...]] = {
    "subdistrict": ("街镇", "街道", "街道/镇", "名称", "name", "unit", "code", "代码"),
    "population": ("人口", "常住人口", "人口数", "residents", "pop"),
    "committee": ("居委会", "村委会", "居村委", "居委", "居（村）委会", "neighbourhood", "village"),
}


@dataclass(frozen=True)
class Population:
    """Weighted population points (WGS-84) and where they came from.

    ``gdf`` columns: ``weight`` (residents), ``subdistrict_code`` and geometry. ``source`` is the
    label every output prints; ``notes`` say what was excluded or approximated.
    """

    gdf: gpd.GeoDataFrame
    source: str
    notes: tuple[str, ...] = ()
    _snaps: dict[tuple[int, float], tuple[ReachIndex, Snap]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @cached_property
    def xy_metric(self) -> FloatArray:
        """The points in UTM 51N metres, ``(n, 2)`` (transformed once)."""
        from geo.reach import to_metric

        geom = self.gdf.geometry
        return to_metric(geom.x.to_numpy(), geom.y.to_numpy())

    def snap(self, index: ReachIndex, *, max_snap_meters: float) -> Snap:
        """The points snapped to a network's segments, once per network and snap distance
        (kept with the population: every run and edit on that network reuses it)."""
        key = (id(index), float(max_snap_meters))
        held = self._snaps.get(key)
        if held is None or held[0] is not index:
            held = (index, index.snap(self.xy_metric, max_snap_meters=max_snap_meters))
            self._snaps[key] = held
        return held[1]

    @property
    def total(self) -> float:
        """Residents represented by the points."""
        return float(self.gdf["weight"].sum())

    def totals_by_subdistrict(self) -> pd.Series:
        """Residents per subdistrict code (units with no points are absent)."""
        totals: pd.Series = self.gdf.groupby("subdistrict_code")["weight"].sum()
        return totals


def _read_addresses(path: Path | None = None) -> gpd.GeoDataFrame:
    src = path or settings.data_file("residential/residential_addresses_2022.csv")
    df = pd.read_csv(src, dtype={"subdistrict_code": str})
    missing = {"address", "wgs84_lon", "wgs84_lat"} - set(df.columns)
    if missing:
        msg = f"{src}: residential address file needs columns {sorted(missing)}"
        raise InputFileError(msg)
    gdf = gpd.GeoDataFrame(
        df.rename(columns={"subdistrict_code": "subdistrict_declared"}),
        geometry=gpd.points_from_xy(df["wgs84_lon"], df["wgs84_lat"]),
        crs=settings.wgs84_crs,
    )
    gdf["subdistrict_code"] = boundaries.assign_subdistricts(df["wgs84_lon"], df["wgs84_lat"])
    return gdf


def population_from_addresses(
    *, total: float | None = None, path: str | Path | None = None
) -> Population:
    """The default proxy: residential addresses with equal weights summing to ``total``.

    ``total`` defaults to the census 2020 population (:data:`geo.settings.census_population`).
    Addresses outside every subdistrict are excluded and counted in ``notes``.
    """
    total = float(settings.census_population if total is None else total)
    gdf = _read_addresses(Path(path) if path else None)
    outside = gdf["subdistrict_code"].isna()
    gdf = gdf[~outside].copy()
    gdf["weight"] = total / len(gdf)
    notes = [
        f"{len(gdf)} residential addresses (2022 public-health bulletins, AMap-geocoded) "
        f"given equal weight {total / len(gdf):,.1f}",
    ]
    if outside.any():
        notes.append(f"{int(outside.sum())} addresses lie outside every subdistrict: excluded")
    source = (
        f"proxy: {len(gdf)} residential addresses (2022) scaled to census 2020 total {total:,.0f}"
    )
    logger.info("population %s", source)
    return Population(
        gdf=gdf[["address", "weight", "subdistrict_code", "geometry"]],
        source=source,
        notes=tuple(notes),
    )


def population_from_points(
    lon: npt.ArrayLike,
    lat: npt.ArrayLike,
    weight: npt.ArrayLike,
    *,
    source: str,
    subdistricts: gpd.GeoDataFrame | None = None,
) -> Population:
    """Weighted points from arrays (WGS-84), in one vectorised pass: the subdistrict of every
    point by one point-in-polygon query; points outside every unit are dropped (and counted in
    the notes). About 170 bytes per point beyond the coordinates (``geo bench --scale``)."""
    lon_a, lat_a = np.asarray(lon, float), np.asarray(lat, float)
    w = np.broadcast_to(np.asarray(weight, float), lon_a.shape)
    codes = boundaries.assign_subdistricts(lon_a, lat_a, subdistricts, max_gap_meters=0)
    inside = pd.notna(codes)
    gdf = gpd.GeoDataFrame(
        {
            "address": np.full(int(inside.sum()), "", dtype=object),  # one shared ""
            "weight": w[inside],
            "subdistrict_code": codes[inside],  # references to the units' code strings
        },
        geometry=gpd.points_from_xy(lon_a[inside], lat_a[inside]),
        crs=settings.wgs84_crs,
    )
    notes = [f"{len(gdf):,} points from {source}"]
    if not inside.all():
        notes.append(f"{int((~inside).sum()):,} point(s) outside every subdistrict: excluded")
    return Population(gdf=gdf, source=source, notes=tuple(notes))


#: Spacing of the points a subdistrict's residents are spread over when the data folder has no
#: residential addresses (an area built by ``geo area init``).
GRID_SPACING_M = 200.0


def _addresses_or_grid(sub: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The residential addresses, or (a data folder without them) a 200 m grid of points in
    each subdistrict, so a table's totals are spread evenly over the unit's area."""
    if settings.find_data_file(
        settings.resolve_data_folder(), "residential/residential_addresses_2022.csv"
    ):
        return _read_addresses()
    frames = []
    metric = sub.to_crs(settings.metric_crs)
    for code, geom in zip(metric["code"], metric.geometry, strict=True):
        x0, y0, x1, y1 = geom.bounds
        xs = np.arange(x0 + GRID_SPACING_M / 2, x1, GRID_SPACING_M)
        ys = np.arange(y0 + GRID_SPACING_M / 2, y1, GRID_SPACING_M)
        gx, gy = (a.ravel() for a in np.meshgrid(xs, ys))
        inside = shapely.contains_xy(geom, gx, gy)
        pts = gpd.GeoSeries(
            gpd.points_from_xy(gx[inside], gy[inside]), crs=settings.metric_crs
        ).to_crs(settings.wgs84_crs)
        frames.append(
            gpd.GeoDataFrame(
                {"address": "(200 m grid)", "subdistrict_code": code}, geometry=pts.values
            )
        )
    if not frames:
        return gpd.GeoDataFrame(
            {"address": [], "subdistrict_code": []}, geometry=[], crs=settings.wgs84_crs
        )
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=settings.wgs84_crs)


def population_from_table(path: str | Path, *, sheet: str | int | None = None) -> Population:
    """Subdistrict totals from a planner's table, spread evenly over residential points per unit.

    The table needs a subdistrict column (code, Chinese or English name) and a population column;
    with a 居委会/村委会 column its rows are committees, summed per 街镇. A unit with residents but
    no residential point gets one point at its representative point.
    """
    path = Path(path)
    df = read_table(path, sheet=sheet)
    cols = match_columns(
        df.columns, POPULATION_ALIASES, required=("subdistrict", "population"), source=path.name
    )
    sub = boundaries.subdistricts()
    totals, problems = _parse_totals(df, cols, sub)
    raise_if_problems(problems, source=path.name, what="population")
    addresses = _addresses_or_grid(sub)
    frames: list[gpd.GeoDataFrame] = []
    notes: list[str] = []
    for code, residents in totals.items():
        pts = addresses[addresses["subdistrict_code"] == code]
        if pts.empty:
            rep = sub.loc[sub["code"] == code, "geometry"].representative_point()
            pts = gpd.GeoDataFrame(
                {"address": ["(representative point)"]}, geometry=rep.values, crs=settings.wgs84_crs
            )
            pts["subdistrict_code"] = code
            notes.append(
                f"{code}: no residential points; {residents:,.0f} residents placed at one "
                "representative point"
            )
        pts = pts[["address", "subdistrict_code", "geometry"]].copy()
        pts["weight"] = residents / len(pts)
        frames.append(pts)
    off = total_warning(sum(totals.values()), source=f"population table {path.name}")
    notes.extend([off] if off else [])
    missing = sorted(set(sub["code"]) - set(totals))
    if missing:
        notes.append(
            f"the table covers {len(totals)} of {len(sub)} subdistricts; no population given "
            f"for {', '.join(missing)}: counted as 0 (their coverage shares are not measured)"
        )
    gdf = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=settings.wgs84_crs)
    source = (
        f"table {path.name}: {sum(totals.values()):,.0f} residents in {len(totals)} "
        "subdistricts, spread over residential addresses"
    )
    if "committee" in cols:
        source += (
            f" ({len(df)} 居委会/村委会 rows summed per 街镇; committee boundaries are not used)"
        )
    return Population(
        gdf=gdf[["address", "weight", "subdistrict_code", "geometry"]],
        source=source,
        notes=tuple(notes),
    )


def _parse_totals(
    df: pd.DataFrame, cols: dict[str, str], sub: gpd.GeoDataFrame
) -> tuple[dict[str, float], list[RowProblem]]:
    """Residents per subdistrict code. With a 居委会/村委会 column, rows are committees and are
    summed per 街镇 (a committee listed twice in one 街镇 is a problem)."""
    totals: dict[str, float] = {}
    problems: list[RowProblem] = []
    seen: dict[tuple[str, str], int] = {}
    valid = "; ".join(f"{r.code} {r.name_zh} ({r.name_en})" for r in sub.itertuples())
    for i, raw in enumerate(df.to_dict("records")):
        row_no = i + 2
        name, value = str(raw[cols["subdistrict"]]).strip(), raw[cols["population"]]
        committee = str(raw[cols["committee"]]).strip() if "committee" in cols else ""
        try:
            code = str(boundaries.find_subdistrict(name, sub)["code"])
        except UnknownSubdistrictError:
            reason = f"unknown subdistrict; valid units are: {valid}"
            problems.append(RowProblem(row_no, "subdistrict", name, reason))
            continue
        try:
            residents = parse_float(value)
        except ValueError:
            residents = None
        if residents is None or residents < 0:
            problems.append(RowProblem(row_no, "population", value, "must be a number ≥ 0"))
            continue
        key = (code, committee)
        if key in seen:
            field, shown = ("committee", committee) if committee else ("subdistrict", name)
            problems.append(RowProblem(row_no, field, shown, f"listed twice (row {seen[key]})"))
            continue
        seen[key] = row_no
        totals[code] = totals.get(code, 0.0) + residents
    return totals, problems


def population_from_raster(path: str | Path, *, band: int = 1) -> Population:
    """One weighted point per populated raster cell (e.g. WorldPop GeoTIFF) inside the district.

    Cell values are residents per cell; nodata, NaN and values ≤ 0 are skipped. Any CRS rasterio
    knows is accepted; points are converted to WGS-84.
    """
    import rasterio  # imported here: only this loader needs it

    path = Path(path)
    try:
        with rasterio.open(path) as src:
            data = src.read(band, masked=True).astype(float).filled(np.nan)
            transform, crs = src.transform, src.crs
    except rasterio.errors.RasterioIOError as exc:
        msg = f"cannot read population raster {path}: {exc}"
        raise InputFileError(msg) from exc
    if crs is None:
        msg = f"population raster {path.name} has no CRS; set one (e.g. EPSG:4326) before use"
        raise InputFileError(msg)
    infinite = int(np.isinf(data).sum())
    if infinite:
        msg = f"population raster {path.name}: {infinite} cells are infinite; fix the raster"
        raise InputFileError(msg)
    rows, cols = np.nonzero(np.nan_to_num(data, nan=0.0) > 0)
    if len(rows) == 0:
        msg = (
            f"population raster {path.name} holds no populated cell (all zero, negative or "
            "nodata); check the band and the nodata value"
        )
        raise InputFileError(msg)
    c, r = cols + 0.5, rows + 0.5  # cell centres, by the affine transform's coefficients
    xs = transform.c + c * transform.a + r * transform.b
    ys = transform.f + c * transform.d + r * transform.e
    pts = gpd.GeoSeries(gpd.points_from_xy(xs, ys), crs=crs).to_crs(settings.wgs84_crs)
    gdf = gpd.GeoDataFrame(
        {"weight": data[rows, cols]}, geometry=pts.values, crs=settings.wgs84_crs
    )
    gdf["address"] = ""
    gdf["subdistrict_code"] = boundaries.assign_subdistricts(
        pts.x.to_numpy(), pts.y.to_numpy(), max_gap_meters=0
    )
    inside = gdf["subdistrict_code"].notna()
    notes = [
        f"{int((~inside).sum())} populated cells outside the district excluded "
        f"({gdf.loc[~inside, 'weight'].sum():,.0f} residents)"
    ]
    outside_share = float(gdf.loc[~inside, "weight"].sum() / gdf["weight"].sum())
    if not inside.any():
        msg = (
            f"population raster {path.name}: none of its {len(gdf):,} populated cells lies in the "
            f"district; is its CRS ({crs}) right, and does it cover the district?"
        )
        raise InputFileError(msg)
    if outside_share > 0.5:
        notes.append(
            f"{100 * outside_share:.0f}% of the raster's residents lie outside the district: "
            "a wider extract, or a wrong CRS?"
        )
    gdf = gdf[inside].reset_index(drop=True)
    off = total_warning(float(gdf["weight"].sum()), source=f"population raster {path.name}")
    notes.extend([off] if off else [])
    source = f"raster {path.name}: {gdf['weight'].sum():,.0f} residents in {len(gdf)} cells"
    return Population(
        gdf=gdf[["address", "weight", "subdistrict_code", "geometry"]],
        source=source,
        notes=tuple(notes),
    )


def total_warning(total: float, *, source: str) -> str | None:
    """A warning (printed with every output) if a population total is far from the census
    (< 0.5× or > 2×), saying by how much; None if it is within.

    A table in 万人 (10,000s) or in households, or a raster of another district, gives figures
    that look plausible per unit and are wrong for the district.
    """
    census = settings.census_population
    ratio = total / census if census else float("nan")
    if 0.5 <= ratio <= 2.0:
        return None
    hint = " — is it in 万人 (10,000s)? multiply by 10,000" if 1e-5 < ratio < 1e-3 else ""
    return (
        f"WARNING: {source}: {total:,.0f} residents in all, {ratio:.4g}× the census 2020 "
        f"total {census:,}{hint}; shares are computed, but check the units and the extent"
    )


def population_from_upload(file_name: str, data: bytes) -> Population:
    """:func:`load_population` for an uploaded table or raster (its name and bytes); messages
    name the planner's file."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / (Path(file_name).name or "population")
        path.write_bytes(data)
        return load_population(path)


def load_population(source: str | Path = "pack") -> Population:
    """``"pack"`` (the address proxy), a subdistrict table (.csv/.xlsx) or a raster (.tif)."""
    if str(source) == "pack":
        area = settings.area_inputs()
        folder = settings.resolve_data_folder()
        if not area.get("population") and settings.find_data_file(
            folder, "residential/residential_addresses_2022.csv"
        ):
            return population_from_addresses()
        if not area.get("population"):
            msg = (
                f"the area {area.get('name')!r} has no population file: coverage of residents "
                "needs one (geo area init ... --population FILE.tif|table, or set population "
                "in the scenario's [parameters])"
            )
            raise InputFileError(msg)
        source = settings.data_file(area["population"])
    path = Path(source)
    if path.suffix.lower() in {".tif", ".tiff", ".vrt"}:
        return population_from_raster(path)
    return population_from_table(path)
