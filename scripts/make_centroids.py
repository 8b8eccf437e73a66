#!/usr/bin/env python3
"""data/geo/cn-provinces-centroids.csv: one point per province for inverse-distance weights.

Reads the bundled boundaries (data/geo/cn-provinces.geojson) and writes, for each of the 31
provinces (kind = province), the area-weighted centroid of all its polygons' outer rings,
computed with the planar shoelace formula on longitude/latitude degrees (the polygons are small
enough that the difference from a spherical centroid is far below the spacing of provincial
capitals). Holes are ignored. Standard library only; run from the repository root:

    python3 scripts/make_centroids.py
"""
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "data/geo/cn-provinces.geojson"
OUT = ROOT / "data/geo/cn-provinces-centroids.csv"


def ring_centroid(ring):
    a = cx = cy = 0.0
    for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1]):
        cross = x0 * y1 - x1 * y0
        a += cross
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    a /= 2.0
    return abs(a), cx / (6.0 * a), cy / (6.0 * a)


def main():
    features = json.loads(SRC.read_text(encoding="utf-8"))["features"]
    rows = []
    for f in features:
        p = f["properties"]
        if p["kind"] != "province":
            continue
        g = f["geometry"]
        polys = [g["coordinates"]] if g["type"] == "Polygon" else g["coordinates"]
        total = sx = sy = 0.0
        for poly in polys:
            area, x, y = ring_centroid([tuple(pt) for pt in poly[0]])
            total += area
            sx += area * x
            sy += area * y
        rows.append((p["code"], round(sx / total, 4), round(sy / total, 4)))
    rows.sort()
    assert len(rows) == 31, len(rows)
    lines = ["region,lon,lat"] + [f"{c},{x},{y}" for c, x, y in rows]
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
