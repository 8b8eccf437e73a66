#!/usr/bin/env python3
"""Build data/geo/cn-provinces.geojson, the simplified province map that nqp bundles.

Sources (Natural Earth, public domain; copies in ../shared/data/boundaries/):
  china_provinces_ne50m.geojson   31 provinces (admin-1, 1:50m), property iso_3166_2 (CN-GD ...)
  ne_50m_admin0_tw_hk_mo.geojson  Taiwan, Hong Kong, Macao (admin-0, 1:50m)

Output: one FeatureCollection, one feature per line (diff-friendly), properties
  code     ISO 3166-2 code, the project's region code (CN-BJ ...; CN-HK, CN-MO, CN-TW)
  name_zh  short Chinese name (北京, 内蒙古, ...; 台湾, 香港, 澳门 for the no-data regions)
  name_en  English name (Taiwan, Hong Kong, Macao for the no-data regions)
  kind     "province" (31) or "no-data" (3)

Simplification is topology-aware in the way TopoJSON does it: rings are cut into arcs at
junctions (vertices where the set of neighbouring vertices differs between the rings that share
it), every shared arc is simplified once with Douglas-Peucker (Douglas & Peucker 1973) and
reused by both neighbours, so shared borders stay shared (no slivers, no gaps). Islands smaller
than MIN_AREA square degrees are dropped, except the largest part of each region (Macao and
Hong Kong are themselves small). Coordinates are rounded to 3 decimals (about 100 m), far below
one pixel at dashboard scale. Rings follow RFC 7946 orientation (exterior counter-clockwise).

Run from the repository root with the standard library only:
  python3 scripts/make_geo.py [--src ../shared/data/boundaries] [--tolerance 0.03]
"""

import argparse
import json
import math
import os
import sys

TOLERANCE = 0.03  # degrees; ~3 km, ~0.4 px on an 800 px wide map of China
MIN_AREA = 0.004  # square degrees; islands smaller than ~1 px^2 at dashboard scale
DECIMALS = 3

# Natural Earth's admin-0 names are replaced by the project's labels for these three.
NO_DATA = {
    "TWN": ("CN-TW", "台湾", "Taiwan"),
    "HKG": ("CN-HK", "香港", "Hong Kong"),
    "MAC": ("CN-MO", "澳门", "Macao"),
}

# Short Chinese names as used on the dashboard (Natural Earth has the full official names).
SUFFIXES = ("维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "省", "市")


def short_zh(name):
    for suffix in SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def polygons_of(geometry):
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"]]
    if geometry["type"] == "MultiPolygon":
        return geometry["coordinates"]
    raise ValueError("unexpected geometry type " + geometry["type"])


def open_ring(ring):
    """Ring as a list of (x, y) tuples without the repeated closing point."""
    pts = [(float(p[0]), float(p[1])) for p in ring]
    if len(pts) > 1 and pts[0] == pts[-1]:
        pts.pop()
    # Drop consecutive duplicates, which would make junction detection ambiguous.
    out = []
    for p in pts:
        if not out or out[-1] != p:
            out.append(p)
    return out


def load(src):
    regions = []
    with open(os.path.join(src, "china_provinces_ne50m.geojson"), encoding="utf-8") as f:
        provinces = json.load(f)
    for feat in provinces["features"]:
        p = feat["properties"]
        rings = [[open_ring(r) for r in poly] for poly in polygons_of(feat["geometry"])]
        regions.append(
            {
                "code": p["iso_3166_2"],
                "name_zh": short_zh(p["name_zh"]),
                "name_en": p["name_en"],
                "kind": "province",
                "polygons": rings,
            }
        )
    with open(os.path.join(src, "ne_50m_admin0_tw_hk_mo.geojson"), encoding="utf-8") as f:
        others = json.load(f)
    for feat in others["features"]:
        code, zh, en = NO_DATA[feat["properties"]["ADM0_A3"]]
        rings = [[open_ring(r) for r in poly] for poly in polygons_of(feat["geometry"])]
        regions.append(
            {"code": code, "name_zh": zh, "name_en": en, "kind": "no-data", "polygons": rings}
        )
    regions.sort(key=lambda r: r["code"])
    return regions


def junctions(regions):
    """Vertices where neighbouring vertex pairs differ between rings (TopoJSON's rule)."""
    neighbours = {}
    result = set()
    for region in regions:
        for poly in region["polygons"]:
            for ring in poly:
                n = len(ring)
                for i, p in enumerate(ring):
                    pair = frozenset((ring[i - 1], ring[(i + 1) % n]))
                    seen = neighbours.get(p)
                    if seen is None:
                        neighbours[p] = pair
                    elif seen != pair:
                        result.add(p)
    return result


def perpendicular(p, a, b):
    (x, y), (x1, y1), (x2, y2) = p, a, b
    dx, dy = x2 - x1, y2 - y1
    if dx == 0 and dy == 0:
        return math.hypot(x - x1, y - y1)
    return abs(dy * x - dx * y + x2 * y1 - y2 * x1) / math.hypot(dx, dy)


def douglas_peucker(points, tolerance):
    """Keep the end points and every vertex farther than `tolerance` from the kept chord."""
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        best, index = 0.0, None
        for i in range(first + 1, last):
            d = perpendicular(points[i], points[first], points[last])
            if d > best:
                best, index = d, i
        if index is not None and best > tolerance:
            keep[index] = True
            stack.append((first, index))
            stack.append((index, last))
    return [p for p, k in zip(points, keep) if k]


class ArcCache:
    """Simplifies each arc once, whichever direction a ring walks it in."""

    def __init__(self, tolerance):
        self.tolerance = tolerance
        self.cache = {}

    def simplify(self, arc):
        forward = tuple(arc)
        backward = forward[::-1]
        key = min(forward, backward)
        if key not in self.cache:
            self.cache[key] = douglas_peucker(list(key), self.tolerance)
        done = self.cache[key]
        return done if key == forward else done[::-1]


def simplify_ring(ring, cuts, arcs):
    idx = [i for i, p in enumerate(ring) if p in cuts]
    if not idx:
        # A ring with no neighbours (island, Taiwan, ...): cut at a fixed point and at the
        # vertex farthest from it, so that neither half degenerates to a chord.
        start = min(range(len(ring)), key=lambda i: ring[i])
        ring = ring[start:] + ring[:start]
        far = max(range(len(ring)), key=lambda i: math.hypot(ring[i][0] - ring[0][0], ring[i][1] - ring[0][1]))
        idx = [0, far]
    else:
        ring = ring[idx[0] :] + ring[: idx[0]]
        idx = [i - idx[0] if i >= idx[0] else i + len(ring) - idx[0] for i in idx]
        idx.sort()
    out = []
    bounds = idx + [len(ring)]
    closed = ring + [ring[0]]
    for a, b in zip(bounds, bounds[1:]):
        piece = arcs.simplify(closed[a : b + 1])
        out.extend(piece[:-1])
    return out


def ring_area(ring):
    s = 0.0
    n = len(ring)
    for i in range(n):
        x1, y1 = ring[i]
        x2, y2 = ring[(i + 1) % n]
        s += x1 * y2 - x2 * y1
    return s / 2.0


def rounded(ring):
    out = []
    for x, y in ring:
        p = [round(x, DECIMALS), round(y, DECIMALS)]
        if not out or out[-1] != p:
            out.append(p)
    if len(out) > 1 and out[0] == out[-1]:
        out.pop()
    return out


def build(regions, tolerance):
    cuts = junctions(regions)
    arcs = ArcCache(tolerance)
    features = []
    for region in regions:
        polys = []
        for poly in region["polygons"]:
            rings = [rounded(simplify_ring(r, cuts, arcs)) for r in poly]
            if len(rings[0]) < 3:
                continue
            polys.append(rings)
        if not polys:
            raise SystemExit("region %s vanished at tolerance %s" % (region["code"], tolerance))
        largest = max(abs(ring_area(p[0])) for p in polys)
        polys = [p for p in polys if abs(ring_area(p[0])) >= min(MIN_AREA, largest)]
        coords = []
        for rings in polys:
            fixed = []
            for i, ring in enumerate(rings):
                if len(ring) < 3:
                    continue
                ccw = ring_area(ring) > 0
                if ccw != (i == 0):  # RFC 7946: exterior counter-clockwise, holes clockwise
                    ring = ring[::-1]
                fixed.append(ring + [ring[0]])
            coords.append(fixed)
        geometry = (
            {"type": "Polygon", "coordinates": coords[0]}
            if len(coords) == 1
            else {"type": "MultiPolygon", "coordinates": coords}
        )
        props = {k: region[k] for k in ("code", "name_zh", "name_en", "kind")}
        features.append({"type": "Feature", "properties": props, "geometry": geometry})
    return features


def write(features, path):
    lines = ['{"type":"FeatureCollection","features":[']
    for i, feat in enumerate(features):
        text = json.dumps(feat, ensure_ascii=False, separators=(",", ":"))
        lines.append(text + ("," if i + 1 < len(features) else ""))
    lines.append("]}")
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines) + "\n")


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--src", default=os.path.join(root, "..", "shared", "data", "boundaries"))
    parser.add_argument("--out", default=os.path.join(root, "data", "geo", "cn-provinces.geojson"))
    parser.add_argument("--tolerance", type=float, default=TOLERANCE)
    args = parser.parse_args(argv)
    regions = load(args.src)
    before = sum(len(r) for reg in regions for poly in reg["polygons"] for r in poly)
    features = build(regions, args.tolerance)
    after = sum(len(r) - 1 for f in features for poly in polygons_of(f["geometry"]) for r in poly)
    write(features, args.out)
    size = os.path.getsize(args.out)
    print(
        "%d regions, %d -> %d vertices, %d bytes -> %s"
        % (len(features), before, after, size, os.path.relpath(args.out, root))
    )


if __name__ == "__main__":
    main(sys.argv[1:])
