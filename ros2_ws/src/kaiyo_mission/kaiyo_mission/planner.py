"""Survey planner, mission legs and the time / energy estimate (pure: no rclpy).

Design
- A survey is flown as boustrophedon ("lawn-mower") lines over the polygon. The spacing
  between lines is the camera's across-track footprint at the requested altitude times
  (1 - overlap), from the vehicle's intrinsics and mounting: the rays of the image's edge
  pixels (through the principal point) are cast onto a flat seabed `altitude` metres below
  the vehicle and their across-track spread is the footprint width. This works for a
  down-looking camera and for an oblique one (the camera robot looks 40 deg down).
- `heading: auto` picks the line direction (1 deg steps) that needs the fewest lines, then
  the shortest total length: for a long narrow area that is "along its length".
- A mission becomes a flat list of `Leg`s (transit, approach, line, hover, hold, surface);
  the executor flies legs, the estimate sums them, GeoJSON draws them. Each survey line
  starts `run_in` m early; a vehicle that can hover reaches that point with an `approach`
  leg (stop there facing along the line), so it starts the line settled on it instead of
  overshooting a tight U-turn; the wave boat joins lines on the move.
- Estimate model (stated so its limits are plain): still water; horizontal legs at the
  step's speed; depth changes at VERTICAL_SPEED_MPS; electrical power = hotel load + thrust
  power, thrust power = thrust_power_coeff * sum |T_i|^1.5 over the thrusters sharing the
  drag D(v) = d_lin v + d_quad v^2 (and the net buoyancy while submerged). Altitude steps
  assume the site's water depth (`water_depth_m`, 20 m at the tower) to place the vehicle.
  A surface vehicle (the wave boat) is propelled by waves: hotel load only.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from kaiyo_common.vehicles import Camera, VehicleParams
from kaiyo_mission import geometry
from kaiyo_mission.mission import Mission, Step, Vertical

VERTICAL_SPEED_MPS = 0.25     # assumed descent / ascent speed for the estimate, m/s
TURN_TIME_S = 10.0            # assumed extra time per survey line for the turn, s
DEFAULT_WATER_DEPTH_M = 20.0  # water depth at the tower, m (places altitude steps)
MAX_SURVEY_LINES = 2000       # refuse plans with more lines than this (spacing too small)


class PlanError(ValueError):
    """A survey cannot be planned as asked (camera does not see the seabed, too many lines)."""


@dataclass(frozen=True)
class Leg:
    kind: str                     # transit | approach | line | hover | hold | surface
    step_index: int
    start: tuple[float, float] | None  # path start (None: from wherever the vehicle is), m
    end: tuple[float, float] | None    # target (None: stay where the vehicle is), m
    vertical: Vertical
    speed: float = 0.0            # m/s
    duration: float = 0.0         # hover / hold time, s
    line_index: int = -1          # survey line number within its step (-1: not a line)
    est_time_s: float = 0.0
    est_energy_wh: float = 0.0
    run_in_m: float = 0.0         # line: lead-in before the covered part starts, m
    heading_rad: float = math.nan  # approach: ENU yaw to face on arrival (the line's), rad

    @property
    def cover_start(self) -> tuple[float, float] | None:
        """Where the part of a line that must be imaged begins (after the run-in)."""
        if self.start is None or self.end is None or self.run_in_m <= 0:
            return self.start
        length = self.length_m
        if length <= 1e-9:
            return self.start
        f = min(1.0, self.run_in_m / length)
        return (self.start[0] + f * (self.end[0] - self.start[0]),
                self.start[1] + f * (self.end[1] - self.start[1]))

    @property
    def length_m(self) -> float:
        if self.start is None or self.end is None:
            return 0.0
        return math.dist(self.start, self.end)


@dataclass
class Plan:
    legs: list[Leg] = field(default_factory=list)
    spacing_m: dict = field(default_factory=dict)     # survey step index -> line spacing, m
    heading_deg: dict = field(default_factory=dict)   # survey step index -> line heading, deg

    @property
    def duration_s(self) -> float:
        return sum(leg.est_time_s for leg in self.legs)

    @property
    def energy_wh(self) -> float:
        return sum(leg.est_energy_wh for leg in self.legs)

    @property
    def distance_m(self) -> float:
        return sum(leg.length_m for leg in self.legs)

    def lines(self, step_index: int | None = None) -> list[Leg]:
        return [leg for leg in self.legs if leg.kind == 'line' and
                (step_index is None or leg.step_index == step_index)]


# -- camera footprint -------------------------------------------------------------------

def _pixel_ray_body(camera: Camera, u: float, v: float) -> np.ndarray:
    """Direction (body FLU) of the ray through pixel (u, v)."""
    xo, yo = (u - camera.cx) / camera.fx, (v - camera.cy) / camera.fy
    # optical (x right, y down, z forward) -> camera link (x forward, y left, z up)
    d_link = np.array([1.0, -xo, -yo])
    return camera.mounting.rotation() @ d_link


def footprint_width(camera: Camera, altitude_m: float) -> float:
    """Across-track width (m) of the camera's view of a flat seabed `altitude_m` below."""
    if not (math.isfinite(altitude_m) and altitude_m > 0):
        raise PlanError(f'altitude {altitude_m!r} m must be > 0')
    cam_z = float(camera.mounting.position_m[2])
    drop = altitude_m + cam_z     # camera height above the seabed, m
    if drop <= 0:
        raise PlanError(f'altitude {altitude_m} m puts the camera at or below the seabed')
    best = 0.0
    pairs = (((0.0, camera.cy), (float(camera.width), camera.cy)),
             ((camera.cx, 0.0), (camera.cx, float(camera.height))))
    for p, q in pairs:
        hits = []
        for u, v in (p, q):
            d = _pixel_ray_body(camera, u, v)
            if d[2] >= -1e-6:
                hits = None
                break
            t = drop / -d[2]
            hits.append(t * d[:2])
        if hits is not None:
            best = max(best, abs(float(hits[0][1] - hits[1][1])))
    if best <= 1e-6:
        raise PlanError('the camera does not look down at the seabed (no across-track footprint)')
    return best


def line_spacing(camera: Camera, altitude_m: float, overlap: float) -> float:
    """Distance between survey lines, m: footprint width at altitude times (1 - overlap)."""
    if not (0.0 <= overlap < 1.0):
        raise PlanError(f'overlap {overlap!r} must be in [0, 1)')
    return footprint_width(camera, altitude_m) * (1.0 - overlap)


# -- boustrophedon ----------------------------------------------------------------------

def _line_count(poly: Sequence[tuple[float, float]], yaw: float,
                spacing: float) -> tuple[int, float]:
    rot = [geometry.rotate(p, -yaw) for p in poly]
    ys = [p[1] for p in rot]
    width = max(ys) - min(ys)
    return max(1, math.ceil(width / spacing - 1e-9)), width


def best_heading_yaw(poly: Sequence[tuple[float, float]], spacing: float) -> float:
    """Line direction (ENU yaw, rad) needing the fewest lines, ties -> narrowest sweep."""
    best = None
    for deg in range(180):
        yaw = math.radians(deg)
        n, width = _line_count(poly, yaw, spacing)
        key = (n, round(width, 6), deg)
        if best is None or key < best[0]:
            best = (key, yaw)
    return best[1]


def survey_lines(poly: Sequence[tuple[float, float]], spacing: float,
                 yaw: float) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    """Boustrophedon lines (start, end) in ENU m, lines along `yaw`, alternating direction.

    Lines are centred across the polygon so the outer footprints overhang both edges equally;
    each line reaches as far as the polygon does anywhere in its footprint strip (so a
    slanted end is covered), which may put a line end up to half a spacing outside the
    polygon.
    """
    if not (math.isfinite(spacing) and spacing > 0):
        raise PlanError(f'line spacing {spacing!r} m must be > 0')
    n, width = _line_count(poly, yaw, spacing)
    if n > MAX_SURVEY_LINES:
        raise PlanError(f'{n} survey lines at {spacing:.3g} m spacing over a {width:.0f} m '
                        f'wide area (more than {MAX_SURVEY_LINES}); raise the altitude, lower '
                        'the overlap or split the area')
    rot = [geometry.rotate(p, -yaw) for p in poly]
    ymin = min(p[1] for p in rot)
    y0 = ymin + (width - (n - 1) * spacing) / 2.0
    out = []
    for k in range(n):
        y = y0 + k * spacing
        # the strip edges are shrunk by a micrometre so a strip that only touches a far
        # edge exactly does not pull the line across a notch
        half = spacing / 2.0 - 1e-6
        intervals = geometry.band_intervals(rot, y - half, y + half)
        if k % 2 == 1:
            intervals = [(b, a) for a, b in reversed(intervals)]
        for a, b in intervals:
            out.append((geometry.rotate((a, y), yaw), geometry.rotate((b, y), yaw)))
    return out


# -- energy model -----------------------------------------------------------------------

def _thrust_power_w(vp: VehicleParams, force_n: float, axis: int) -> float:
    movers = [t for t in vp.thrusters if abs(float(t.direction[axis])) > 0.5]
    if not movers or force_n <= 0:
        return 0.0
    per = force_n / sum(abs(float(t.direction[axis])) for t in movers)
    return vp.battery.thrust_power_coeff * len(movers) * per ** 1.5


def cruise_power_w(vp: VehicleParams, speed: float, submerged: bool = True) -> float:
    """Electrical power, W, to move at `speed` m/s in still water (hotel load included)."""
    if vp.kind == 'surface':
        return vp.battery.hotel_load_w
    drag = vp.damping_linear[0] * speed + vp.damping_quadratic[0] * speed ** 2
    power = vp.battery.hotel_load_w + _thrust_power_w(vp, float(drag), 0)
    if submerged:
        power += _thrust_power_w(vp, abs(vp.weight_n() - vp.buoyancy_n()), 2)
    return power


def vertical_power_w(vp: VehicleParams, speed: float = VERTICAL_SPEED_MPS) -> float:
    if vp.kind == 'surface':
        return vp.battery.hotel_load_w
    drag = vp.damping_linear[2] * speed + vp.damping_quadratic[2] * speed ** 2
    net = abs(vp.weight_n() - vp.buoyancy_n())
    return vp.battery.hotel_load_w + _thrust_power_w(vp, float(drag) + net, 2)


def depth_of(vertical: Vertical, water_depth_m: float) -> float:
    if vertical.depth is not None:
        return vertical.depth
    if vertical.altitude is not None:
        return max(0.0, water_depth_m - vertical.altitude)
    return 0.0


# -- plan -------------------------------------------------------------------------------

def survey_spacing(step: Step, vp: VehicleParams | None) -> float:
    """Line spacing for a survey step: the file's `spacing`, else from the camera footprint."""
    if step.spacing is not None:
        return step.spacing
    if step.vertical.altitude is None:
        raise PlanError('a survey at a fixed depth needs an explicit `spacing` (m): the camera '
                        'footprint depends on the height above the seabed')
    if vp is None or vp.camera is None:
        raise PlanError('the vehicle has no camera to derive line spacing from; give `spacing` (m)')
    return line_spacing(vp.camera, step.vertical.altitude, step.overlap)


def build_plan(mission: Mission, vp: VehicleParams | None,
               water_depth_m: float = DEFAULT_WATER_DEPTH_M,
               start: tuple[float, float] = (0.0, 0.0), start_depth: float = 0.0) -> Plan:
    """Mission -> legs with times and energies. Raises PlanError for an unplannable survey."""
    plan = Plan()
    hover_capable = vp is None or vp.kind != 'surface'
    pos, depth = start, start_depth
    vert_now = Vertical(depth=start_depth)

    def add(kind, step, end, vertical, speed=0.0, duration=0.0, line_index=-1, path_start=None,
            run_in=0.0, heading=math.nan):
        nonlocal pos, depth, vert_now
        new_depth = depth_of(vertical, water_depth_m)
        t_vert = abs(new_depth - depth) / VERTICAL_SPEED_MPS
        dist = math.dist(pos, end) if end is not None else 0.0
        t_horiz = dist / speed if speed > 0 else 0.0
        t_turn = TURN_TIME_S if kind == 'approach' else 0.0
        e_wh = 0.0
        if vp is not None:
            submerged = new_depth > 0.5 or depth > 0.5
            e_wh = (t_vert * vertical_power_w(vp) +
                    (t_horiz + t_turn) * cruise_power_w(vp, speed, submerged) +
                    duration * cruise_power_w(vp, 0.0, new_depth > 0.5)) / 3600.0
        plan.legs.append(Leg(kind, step.index, path_start if path_start is not None else pos,
                             end, vertical, speed, duration, line_index,
                             t_vert + t_horiz + t_turn + duration, e_wh, run_in, heading))
        if end is not None:
            pos = end
        depth, vert_now = new_depth, vertical

    for step in mission.steps:
        if step.kind == 'goto':
            add('transit', step, step.target.xy, step.vertical, step.speed)
        elif step.kind == 'hover_photo':
            add('transit', step, step.target.xy, step.vertical, step.speed)
            add('hover', step, step.target.xy, step.vertical, step.speed, step.duration)
        elif step.kind == 'hold':
            add('hold', step, pos, vert_now, 0.0, step.duration)
        elif step.kind == 'surface':
            add('surface', step, pos, Vertical(depth=0.0), 0.0)
        elif step.kind == 'survey':
            spacing = survey_spacing(step, vp)
            poly = [p.xy for p in step.polygon]
            if step.heading == 'auto':
                yaw = best_heading_yaw(poly, spacing)
            else:
                yaw = math.pi / 2.0 - math.radians(float(step.heading))
            plan.spacing_m[step.index] = spacing
            plan.heading_deg[step.index] = (90.0 - math.degrees(yaw)) % 360.0
            for k, (a, b) in enumerate(survey_lines(poly, spacing, yaw)):
                # run-in: start each line `run_in` m early so the vehicle has settled on it
                # (turned, converged cross-track) before the part that must be imaged
                length = math.dist(a, b)
                ux, uy = ((b[0] - a[0]) / length, (b[1] - a[1]) / length) if length > 1e-9 \
                    else (0.0, 0.0)
                a0 = (a[0] - step.run_in * ux, a[1] - step.run_in * uy)
                # a vehicle that can hover stops at the line's start facing along it, so it
                # begins the line on it instead of overshooting a U-turn; one that cannot
                # (the wave boat) joins it on the move
                if hover_capable:
                    add('approach', step, a0, step.vertical, step.speed,
                        heading=math.atan2(uy, ux))
                else:
                    add('transit', step, a0, step.vertical, step.speed)
                add('line', step, b, step.vertical, step.speed, line_index=k, path_start=a0,
                    run_in=step.run_in)
    return plan


# -- GeoJSON ----------------------------------------------------------------------------

def _lonlat(mission: Mission, xy) -> list[float]:
    lat, lon, _ = mission.datum.to_geodetic(xy[0], xy[1], 0.0)
    return [round(lon, 8), round(lat, 8)]


def _ccw_ring(points: list) -> list:
    """Closed ring, counter-clockwise as RFC 7946 asks for exterior rings."""
    if geometry.signed_area([tuple(p) for p in points]) < 0:
        points = points[::-1]
    return points + [points[0]]


def plan_to_geojson(mission: Mission, plan: Plan) -> dict:
    """A FeatureCollection for review on a map: geofence, survey areas, lines, path, points.

    Coordinates are [lon, lat] (RFC 7946). Properties name the step and its numbers.
    """
    feats = []
    fence = [[p.lon, p.lat] for p in mission.limits.geofence]
    feats.append({'type': 'Feature', 'properties': {'role': 'geofence', 'mission': mission.name},
                  'geometry': {'type': 'Polygon', 'coordinates': [_ccw_ring(fence)]}})
    for step in mission.steps:
        props = {'role': step.kind, 'step': step.index, 'line_in_file': step.line}
        if step.kind == 'survey':
            ring = [[p.lon, p.lat] for p in step.polygon]
            props.update(spacing_m=round(plan.spacing_m.get(step.index, float('nan')), 3),
                         heading_deg=round(plan.heading_deg.get(step.index, float('nan')), 1),
                         altitude_m=step.vertical.altitude, depth_m=step.vertical.depth,
                         overlap=step.overlap, speed_mps=step.speed,
                         lines=len(plan.lines(step.index)))
            feats.append({'type': 'Feature', 'properties': {**props, 'role': 'survey_area'},
                          'geometry': {'type': 'Polygon', 'coordinates': [_ccw_ring(ring)]}})
        elif step.target is not None:
            props.update(depth_m=step.vertical.depth, altitude_m=step.vertical.altitude,
                         speed_mps=step.speed, duration_s=step.duration)
            feats.append({'type': 'Feature', 'properties': props,
                          'geometry': {'type': 'Point',
                                       'coordinates': [step.target.lon, step.target.lat]}})
    for leg in plan.lines():
        feats.append({'type': 'Feature',
                      'properties': {'role': 'survey_line', 'step': leg.step_index,
                                     'line': leg.line_index, 'run_in_m': leg.run_in_m,
                                     'length_m': round(leg.length_m - leg.run_in_m, 2)},
                      'geometry': {'type': 'LineString',
                                   'coordinates': [_lonlat(mission, leg.cover_start),
                                                   _lonlat(mission, leg.end)]}})
    path = [_lonlat(mission, plan.legs[0].start)] if plan.legs and plan.legs[0].start else []
    for leg in plan.legs:
        if leg.end is not None:
            path.append(_lonlat(mission, leg.end))
    if len(path) >= 2:
        feats.append({'type': 'Feature',
                      'properties': {'role': 'path', 'distance_m': round(plan.distance_m, 1),
                                     'duration_s': round(plan.duration_s, 1),
                                     'energy_wh': round(plan.energy_wh, 2)},
                      'geometry': {'type': 'LineString', 'coordinates': path}})
    return {'type': 'FeatureCollection',
            'properties': {'mission': mission.name, 'vehicle': mission.vehicle,
                           'datum': [mission.datum.lon_deg, mission.datum.lat_deg]},
            'features': feats}
