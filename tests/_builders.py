"""Builders for synthetic test cases: places in UTM 51N metres around an origin inside Minhang."""

from __future__ import annotations

import math

import geopandas as gpd
import networkx as nx
import pandas as pd
import shapely
from pyproj import Transformer

from geo.network import Network, NetworkReport
from geo.population import Population

TO_LONLAT = Transformer.from_crs(32651, 4326, always_xy=True)
X0, Y0 = 350_000.0, 3_440_000.0  # a UTM 51N origin inside Minhang
WALK_MPS = 4.0 / 3.6  # 4 km/h: 1 m takes 0.9 s, 15 min = 900 s = 1,000 m


def lonlat(x: float, y: float) -> tuple[float, float]:
    """(lon, lat) of the point (x, y) metres east and north of the origin."""
    lon, lat = TO_LONLAT.transform(X0 + x, Y0 + y)
    return float(lon), float(lat)


def rectangle(x_min: float, y_min: float, x_max: float, y_max: float) -> shapely.Polygon:
    """A rectangle given in metres from the origin, as a lon/lat polygon (4 corners)."""
    corners = [(x_min, y_min), (x_max, y_min), (x_max, y_max), (x_min, y_max)]
    return shapely.Polygon([lonlat(x, y) for x, y in corners])


def graph(nodes: dict[int, tuple[float, float]], roads: list[tuple[int, int, bool]], mps: float):
    """A MultiDiGraph from node positions (metres) and roads (u, v, two_way) at ``mps`` m/s."""
    G = nx.MultiDiGraph(crs="EPSG:4326")
    for node, (x, y) in nodes.items():
        lon, lat = lonlat(x, y)
        G.add_node(node, x=lon, y=lat)
    for u, v, two_way in roads:
        length = math.dist(nodes[u], nodes[v])
        G.add_edge(u, v, length=length, travel_time=length / mps)
        if two_way:
            G.add_edge(v, u, length=length, travel_time=length / mps)
    return G


def network(G: nx.MultiDiGraph, *, mode: str, key: str) -> Network:
    """A Network around a hand-built graph, with a report filled in by hand."""
    report = NetworkReport(
        mode=mode,
        nodes=G.number_of_nodes(),
        edges=G.number_of_edges(),
        length_km=sum(d["length"] for *_, d in G.edges(data=True)) / 2000,
        components=1,
        largest_component_share=1.0,
        repair_connectors=2,
        repair_length_km=0.05,
        noded_crossings=0,
        dropped_islands=0,
        dropped_island_km=0.0,
        source="hand-built test graph",
        source_date="2026-01-01",
        params={"walk_speed_kmh": 4.0} if mode == "walk" else {},
    )
    return Network(G=G, report=report, mode=mode, key=f"test-coverage-{key}")


def facility_frame(rows: list[tuple[str, str, str, str, float, float]]) -> gpd.GeoDataFrame:
    """Facilities from (id, type, status, subdistrict_code, x, y) rows, positions in metres."""
    df = pd.DataFrame(rows, columns=["id", "type", "status", "subdistrict_code", "x", "y"])
    df["name"] = "facility " + df["id"]
    geometry = [shapely.Point(lonlat(x, y)) for x, y in zip(df["x"], df["y"], strict=True)]
    cols = ["id", "name", "type", "status", "subdistrict_code"]
    return gpd.GeoDataFrame(df[cols], geometry=geometry, crs="EPSG:4326")


def population_of(rows: list[tuple[float, float, float, str]], source: str) -> Population:
    """Population points from (x, y, weight, subdistrict_code) rows, positions in metres."""
    df = pd.DataFrame(rows, columns=["x", "y", "weight", "subdistrict_code"])
    geometry = [shapely.Point(lonlat(x, y)) for x, y in zip(df["x"], df["y"], strict=True)]
    gdf = gpd.GeoDataFrame(df[["weight", "subdistrict_code"]], geometry=geometry, crs="EPSG:4326")
    return Population(gdf=gdf, source=source)
