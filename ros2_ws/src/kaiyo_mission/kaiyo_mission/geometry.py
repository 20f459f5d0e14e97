"""Plane geometry for missions, in local ENU metres (pure: no rclpy, no shapely).

Survey areas and geofences are a few hundred metres across, so after projecting lat/lon to
the datum's ENU plane (kaiyo_common.geodesy) plain 2-D geometry is exact enough. Polygons are
sequences of (x, y) vertices, open (the last vertex is not repeated) and of either winding.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

Point = tuple[float, float]
EPS = 1e-9


def _cross(o: Point, a: Point, b: Point) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def _on_segment(p: Point, a: Point, b: Point, tol: float = 1e-6) -> bool:
    if abs(_cross(a, b, p)) > tol * max(1.0, math.dist(a, b)):
        return False
    return (min(a[0], b[0]) - tol <= p[0] <= max(a[0], b[0]) + tol and
            min(a[1], b[1]) - tol <= p[1] <= max(a[1], b[1]) + tol)


def segments_intersect(p1: Point, p2: Point, q1: Point, q2: Point) -> bool:
    """True if the closed segments p1-p2 and q1-q2 share at least one point."""
    d1, d2 = _cross(q1, q2, p1), _cross(q1, q2, p2)
    d3, d4 = _cross(p1, p2, q1), _cross(p1, p2, q2)
    if ((d1 > EPS and d2 < -EPS) or (d1 < -EPS and d2 > EPS)) and \
            ((d3 > EPS and d4 < -EPS) or (d3 < -EPS and d4 > EPS)):
        return True
    return (_on_segment(p1, q1, q2) or _on_segment(p2, q1, q2) or
            _on_segment(q1, p1, p2) or _on_segment(q2, p1, p2))


def signed_area(poly: Sequence[Point]) -> float:
    """Shoelace area, m^2: positive counter-clockwise."""
    n = len(poly)
    return 0.5 * sum(poly[i][0] * poly[(i + 1) % n][1] - poly[(i + 1) % n][0] * poly[i][1]
                     for i in range(n))


def self_intersections(poly: Sequence[Point]) -> list[tuple[int, int]]:
    """Pairs (i, j) of non-adjacent edges that touch or cross; edge i runs vertex i -> i+1.

    Also reports a repeated vertex as its two edges touching. Empty for a simple polygon.
    """
    n = len(poly)
    out = []
    for i in range(n):
        a1, a2 = poly[i], poly[(i + 1) % n]
        for j in range(i + 1, n):
            if j == i + 1 or (i == 0 and j == n - 1):
                continue  # adjacent edges share a vertex by construction
            if segments_intersect(a1, a2, poly[j], poly[(j + 1) % n]):
                out.append((i, j))
    return out


def point_in_polygon(p: Point, poly: Sequence[Point], tol: float = 1e-6) -> bool:
    """Even-odd test; a point on the boundary counts as inside."""
    n = len(poly)
    inside = False
    for i in range(n):
        a, b = poly[i], poly[(i + 1) % n]
        if _on_segment(p, a, b, tol):
            return True
        if (a[1] > p[1]) != (b[1] > p[1]):
            x = a[0] + (p[1] - a[1]) * (b[0] - a[0]) / (b[1] - a[1])
            if x > p[0]:
                inside = not inside
    return inside


def segment_inside_polygon(a: Point, b: Point, poly: Sequence[Point]) -> bool:
    """True if the whole straight segment a-b lies inside (or on) the polygon."""
    if not (point_in_polygon(a, poly) and point_in_polygon(b, poly)):
        return False
    n = len(poly)
    # The segment may leave a non-convex polygon between two inside end points: test where
    # it meets the boundary, and the midpoints between consecutive meetings.
    ts = [0.0, 1.0]
    dx, dy = b[0] - a[0], b[1] - a[1]
    for i in range(n):
        c, d = poly[i], poly[(i + 1) % n]
        ex, ey = d[0] - c[0], d[1] - c[1]
        den = dx * ey - dy * ex
        if abs(den) < EPS:
            continue
        t = ((c[0] - a[0]) * ey - (c[1] - a[1]) * ex) / den
        u = ((c[0] - a[0]) * dy - (c[1] - a[1]) * dx) / den
        if -EPS <= t <= 1 + EPS and -EPS <= u <= 1 + EPS:
            ts.append(min(1.0, max(0.0, t)))
    ts.sort()
    for t0, t1 in zip(ts, ts[1:], strict=False):
        tm = 0.5 * (t0 + t1)
        if not point_in_polygon((a[0] + tm * dx, a[1] + tm * dy), poly):
            return False
    return True


def rotate(p: Point, angle: float) -> Point:
    """Rotate p about the origin by `angle` rad (counter-clockwise)."""
    c, s = math.cos(angle), math.sin(angle)
    return (c * p[0] - s * p[1], s * p[0] + c * p[1])


def horizontal_intervals(poly: Sequence[Point], y: float) -> list[tuple[float, float]]:
    """Where the horizontal line at `y` is inside the polygon: sorted (x_start, x_end) pairs."""
    xs = []
    n = len(poly)
    for i in range(n):
        a, b = poly[i], poly[(i + 1) % n]
        # half-open rule on y so a vertex exactly on the line is counted once
        if (a[1] <= y < b[1]) or (b[1] <= y < a[1]):
            xs.append(a[0] + (y - a[1]) * (b[0] - a[0]) / (b[1] - a[1]))
    xs.sort()
    return [(xs[k], xs[k + 1]) for k in range(0, len(xs) - 1, 2) if xs[k + 1] - xs[k] > EPS]


def band_intervals(poly: Sequence[Point], y_lo: float, y_hi: float) -> list[tuple[float, float]]:
    """x-extents of the polygon inside the band y_lo <= y <= y_hi, merged and sorted.

    A survey line at the band's centre must reach as far as the polygon does anywhere in its
    footprint strip, not only where the polygon crosses the line itself (which falls short
    at slanted ends).
    """
    ys_poly = [p[1] for p in poly]
    lo, hi = max(y_lo, min(ys_poly) + 1e-9), min(y_hi, max(ys_poly) - 1e-9)
    if lo > hi:
        return []
    samples = {lo, hi, 0.5 * (lo + hi)}
    samples.update(y for y in ys_poly if lo < y < hi)
    for y in ys_poly:   # just either side of a vertex, where the chord changes slope
        for d in (-1e-7, 1e-7):
            if lo <= y + d <= hi:
                samples.add(y + d)
    spans = sorted(iv for y in samples for iv in horizontal_intervals(poly, y))
    merged: list[list[float]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1] + EPS:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]


def distance_to_polygon_edge(p: Point, poly: Sequence[Point]) -> float:
    """Shortest distance from p to the polygon's boundary, m."""
    best = math.inf
    n = len(poly)
    for i in range(n):
        a, b = poly[i], poly[(i + 1) % n]
        ex, ey = b[0] - a[0], b[1] - a[1]
        len2 = ex * ex + ey * ey
        t = 0.0 if len2 == 0 else \
            max(0.0, min(1.0, ((p[0] - a[0]) * ex + (p[1] - a[1]) * ey) / len2))
        best = min(best, math.hypot(p[0] - a[0] - t * ex, p[1] - a[1] - t * ey))
    return best
