"""Mission file validator: schema, site rules, vehicle rules, estimate (pure: no rclpy).

    report = validate_text(text, 'survey.yaml')
    if not report.ok:
        print('\\n'.join(str(e) for e in report.errors))   # FILE:LINE: rule: message

Every problem is collected (never just the first) as an `Issue` naming the file, the line
of the offending key and a rule id. The checks run in three passes so one mistake does not
hide the others and never causes a crash:

1. schema: types, units' ranges, required and unknown keys, per step (rules `type`,
   `range`, `missing_key`, `unknown_key`, `position`, `steps`, `datum`, `vehicle`);
2. site and vehicle rules on the values that passed pass 1: `geofence` (a usable fence),
   `self_intersection` (fence or survey polygon), `outside_geofence` (every waypoint, every
   survey corner and the straight path between them), `max_depth` (mission limit),
   `vehicle_rating` (the vehicle YAML's max depth and speed, surface-only vehicles),
   `min_altitude`;
3. plan and estimate: `survey` (a survey that cannot be planned), `max_duration` and
   `battery_reserve` against the estimate (see planner.py for the model).

YAML syntax errors (`yaml`, `duplicate_key`) stop at pass 0: nothing else can be trusted.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kaiyo_common.geodesy import TOWER, Datum, GeodesyError, datum_from_spec
from kaiyo_common.vehicles import VehicleFileError, VehicleParams, load_vehicle
from kaiyo_mission import geometry
from kaiyo_mission.marked_yaml import LineIndex, MarkedYamlError, load_marked
from kaiyo_mission.mission import (
    COMMS_LOSS_ACTIONS,
    STEP_KINDS,
    Issue,
    Limits,
    Mission,
    Position,
    Severity,
    Step,
    Vertical,
)
from kaiyo_mission.planner import DEFAULT_WATER_DEPTH_M, Plan, PlanError, build_plan

#: Every rule id the validator can report, with what it checks (for docs and tests).
RULES = {
    'yaml': 'the file is YAML with one mapping at the top',
    'duplicate_key': 'no key appears twice in one mapping',
    'missing_key': 'required keys are present',
    'unknown_key': 'no key outside the schema (catches typos such as `altitute`)',
    'type': 'values have the right type (number, text, list, mapping)',
    'range': 'numbers are finite and inside their range (e.g. speed > 0, overlap < 0.9)',
    'position': 'a position is {lat, lon} or {x, y}, not both, not half of one',
    'steps': 'steps is a non-empty list of single-key step mappings of known kinds',
    'datum': 'datum is a known site name or {lat, lon}',
    'vehicle': 'the vehicle has a readable sim/vehicles/<name>.yaml',
    'geofence': 'the geofence is a polygon of at least 3 distinct points',
    'self_intersection': 'geofence and survey polygons do not cross themselves',
    'outside_geofence': 'every waypoint, survey corner and the path between them is inside',
    'max_depth': 'no step depth is below limits.max_depth',
    'vehicle_rating': "depths and speeds within the vehicle's rating; no altitude/depth steps "
                      'for a surface vessel',
    'min_altitude': 'no step altitude is below limits.min_altitude',
    'survey': 'a survey can be planned (camera sees the seabed, spacing gives a sane line count)',
    'max_duration': 'the estimated mission time is within limits.max_duration',
    'battery_reserve': 'the estimated energy leaves limits.battery_reserve of the battery',
}

TOP_KEYS = {'mission', 'vehicle', 'datum', 'limits', 'on_comms_loss', 'steps', 'description'}
LIMIT_KEYS = {'max_depth', 'min_altitude', 'geofence', 'max_duration', 'battery_reserve'}
STEP_KEYS = {
    'goto': {'lat', 'lon', 'x', 'y', 'depth', 'altitude', 'speed'},
    'survey': {'polygon', 'altitude', 'depth', 'speed', 'overlap', 'heading', 'spacing',
               'run_in'},
    'hover_photo': {'lat', 'lon', 'x', 'y', 'depth', 'altitude', 'duration', 'speed'},
    'hold': {'duration'},
    'surface': set(),
}
MAX_STEPS = 500
MAX_POLYGON_POINTS = 200
MAX_EXTENT_M = 50_000.0       # positions farther than this from the datum are a typo, m
DURATION_WARN_FRACTION = 0.8  # warn when the estimate uses more than this of max_duration
DEFAULT_RUN_IN_M = 3.0        # lead-in before each survey line, m (settle after the turn)


@dataclass
class Report:
    """The validator's verdict. `mission`/`plan` are set only when there are no errors."""

    file: str
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    mission: Mission | None = None
    plan: Plan | None = None
    vehicle: VehicleParams | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def estimated_duration_s(self) -> float:
        return self.plan.duration_s if self.plan else float('nan')

    @property
    def estimated_energy_wh(self) -> float:
        return self.plan.energy_wh if self.plan else float('nan')

    def lines(self) -> list[str]:
        return [str(i) for i in self.errors + self.warnings]


class _Ctx:
    """Collects issues with their lines while the checks walk the document."""

    def __init__(self, file: str, lines: LineIndex):
        self.file, self.lines = file, lines
        self.errors: list[Issue] = []
        self.warnings: list[Issue] = []

    def error(self, path: tuple, rule: str, message: str) -> None:
        self.errors.append(Issue(self.file, self.lines.line(path), rule, message))

    def warn(self, path: tuple, rule: str, message: str) -> None:
        self.warnings.append(Issue(self.file, self.lines.line(path), rule, message,
                                   Severity.WARNING))

    @staticmethod
    def where(path: tuple) -> str:
        out = ''
        for p in path:
            out += f'[{p}]' if isinstance(p, int) else (f'.{p}' if out else str(p))
        return out or '(top level)'

    # -- typed getters: return None (after recording an error) when the value is unusable --
    def mapping(self, value: Any, path: tuple, what: str) -> dict | None:
        if not isinstance(value, dict):
            self.error(path, 'type', f'{self.where(path)} must be a mapping ({what}), '
                       f'got {_kind(value)}')
            return None
        return value

    def keys(self, d: dict, allowed: set, required: set, path: tuple) -> None:
        for k in d:
            if k not in allowed:
                hint = _closest(str(k), allowed)
                self.error(path + (k,), 'unknown_key',
                           f'unknown key {_key(k)} in {self.where(path)}'
                           + (f"; did you mean '{hint}'?" if hint else
                              f"; allowed: {', '.join(sorted(allowed)) or 'none'}"))
        for k in sorted(required):
            if k not in d:
                self.error(path, 'missing_key', f"{self.where(path)} needs '{k}'")

    def number(self, d: dict, key: str, path: tuple, unit: str, *, required: bool = True,
               default: float | None = None, lo: float | None = None, hi: float | None = None,
               lo_open: bool = False) -> float | None:
        p = path + (key,)
        if key not in d:
            if required:
                self.error(path, 'missing_key', f"{self.where(path)} needs '{key}' ({unit})")
            return default
        v = d[key]
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            self.error(p, 'type', f'{self.where(p)} must be a number ({unit}), got {_kind(v)}')
            return None
        v = float(v)
        if not math.isfinite(v):
            self.error(p, 'range', f'{self.where(p)} = {v} must be finite ({unit})')
            return None
        if lo is not None and (v <= lo if lo_open else v < lo):
            self.error(p, 'range', f"{self.where(p)} = {v:g} {unit} must be "
                       f"{'>' if lo_open else '>='} {lo:g}")
            return None
        if hi is not None and v > hi:
            self.error(p, 'range', f'{self.where(p)} = {v:g} {unit} must be <= {hi:g}')
            return None
        return v

    def text(self, d: dict, key: str, path: tuple, required: bool = True) -> str | None:
        if key not in d:
            if required:
                self.error(path, 'missing_key', f"{self.where(path)} needs '{key}'")
            return None
        v = d[key]
        if not isinstance(v, str) or not v.strip():
            self.error(path + (key,), 'type',
                       f'{self.where(path + (key,))} must be non-empty text, got {_kind(v)}')
            return None
        return v


def _key(k: Any) -> str:
    """A key for a one-line message: quoted, control characters escaped, shortened."""
    r = repr(str(k))
    return r if len(r) <= 40 else r[:37] + '...'


def _kind(v: Any) -> str:
    if v is None:
        return 'nothing (null)'
    if isinstance(v, bool):
        return f'true/false ({v})'
    if isinstance(v, (int, float)):
        return f'a number ({v!r})'
    if isinstance(v, str):
        short = v if len(v) <= 30 else v[:27] + '...'
        return f'text ({short!r})'
    if isinstance(v, list):
        return f'a list of {len(v)}'
    if isinstance(v, dict):
        return 'a mapping'
    return type(v).__name__


def _closest(word: str, options: set) -> str | None:
    import difflib
    m = difflib.get_close_matches(word, sorted(options), n=1, cutoff=0.75)
    return m[0] if m else None


# -- positions --------------------------------------------------------------------------

def _make_position(ctx: _Ctx, datum: Datum | None, path: tuple, lat=None, lon=None,
                   x=None, y=None) -> Position | None:
    """Build a Position from lat/lon or x/y (already type-checked numbers)."""
    if datum is None:
        return None
    try:
        if lat is not None:
            ex, ny, _ = datum.to_enu(lat, lon, 0.0)
            pos = Position(ex, ny, lat, lon)
        else:
            la, lo, _ = datum.to_geodetic(x, y, 0.0)
            pos = Position(x, y, la, lo)
    except GeodesyError as err:
        ctx.error(path, 'range', f'{ctx.where(path)}: {err}')
        return None
    if math.hypot(pos.x, pos.y) > MAX_EXTENT_M:
        ctx.error(path, 'range', f'{ctx.where(path)} is {math.hypot(pos.x, pos.y) / 1000:.1f} km '
                  f'from the datum (more than {MAX_EXTENT_M / 1000:g} km): a typo?')
        return None
    return pos


def _position_in_mapping(ctx: _Ctx, d: dict, path: tuple, datum: Datum | None) -> Position | None:
    has_geo = 'lat' in d or 'lon' in d
    has_xy = 'x' in d or 'y' in d
    if has_geo and has_xy:
        ctx.error(path, 'position', f'{ctx.where(path)} gives both lat/lon and x/y; use one')
        return None
    if not has_geo and not has_xy:
        ctx.error(path, 'position', f'{ctx.where(path)} needs a position: lat and lon (deg) '
                  'or x and y (m from the datum)')
        return None
    if has_geo:
        lat = ctx.number(d, 'lat', path, 'deg', lo=-90.0, hi=90.0)
        lon = ctx.number(d, 'lon', path, 'deg', lo=-180.0, hi=180.0)
        if lat is None or lon is None:
            return None
        return _make_position(ctx, datum, path, lat=lat, lon=lon)
    x = ctx.number(d, 'x', path, 'm east of the datum')
    y = ctx.number(d, 'y', path, 'm north of the datum')
    if x is None or y is None:
        return None
    return _make_position(ctx, datum, path, x=x, y=y)


def _point(ctx: _Ctx, v: Any, path: tuple, datum: Datum | None) -> Position | None:
    """A polygon vertex: [lat, lon] or {lat, lon} or {x, y}."""
    if isinstance(v, list):
        if len(v) != 2:
            ctx.error(path, 'position', f'{ctx.where(path)} must be [lat, lon] (deg), '
                      f'got {len(v)} values')
            return None
        d = {'lat': v[0], 'lon': v[1]}
        return _position_in_mapping(ctx, d, path, datum)
    if isinstance(v, dict):
        ctx.keys(v, {'lat', 'lon', 'x', 'y'}, set(), path)
        return _position_in_mapping(ctx, v, path, datum)
    ctx.error(path, 'type', f'{ctx.where(path)} must be [lat, lon] or {{x: m, y: m}}, '
              f'got {_kind(v)}')
    return None


def _polygon(ctx: _Ctx, v: Any, path: tuple, datum: Datum | None,
             rule_short: str) -> list[Position] | None:
    if not isinstance(v, list):
        ctx.error(path, 'type', f'{ctx.where(path)} must be a list of points '
                  f'([lat, lon] or {{x, y}}), got {_kind(v)}')
        return None
    if len(v) > MAX_POLYGON_POINTS:
        ctx.error(path, 'range', f'{ctx.where(path)} has {len(v)} points '
                  f'(at most {MAX_POLYGON_POINTS})')
        return None
    pts = [_point(ctx, item, path + (i,), datum) for i, item in enumerate(v)]
    if any(p is None for p in pts):
        return None
    # a closing point equal to the first is allowed (GeoJSON habit) and dropped
    if len(pts) >= 2 and math.dist(pts[0].xy, pts[-1].xy) < 1e-6:
        pts = pts[:-1]
    if len(pts) < 3:
        ctx.error(path, rule_short, f'{ctx.where(path)} needs at least 3 distinct points, '
                  f'got {len(pts)}')
        return None
    xy = [p.xy for p in pts]
    if abs(geometry.signed_area(xy)) < 1e-3:
        ctx.error(path, rule_short, f'{ctx.where(path)} encloses no area (points on a line?)')
        return None
    crossings = geometry.self_intersections(xy)
    if crossings:
        i, j = crossings[0]
        n = len(xy)
        ctx.error(path + (j,), 'self_intersection',
                  f'{ctx.where(path)} crosses itself: edge {i}->{(i + 1) % n} meets edge '
                  f'{j}->{(j + 1) % n}' + (f' (and {len(crossings) - 1} more crossings)'
                                           if len(crossings) > 1 else ''))
        return None
    return pts


# -- pass 1: schema ---------------------------------------------------------------------

def _vertical(ctx: _Ctx, d: dict, path: tuple, kind: str) -> Vertical | None:
    has_d, has_a = 'depth' in d, 'altitude' in d
    if has_d and has_a:
        ctx.error(path, 'position', f'{ctx.where(path)} gives both depth and altitude; use one')
        return None
    if not has_d and not has_a:
        ctx.error(path, 'missing_key', f"{ctx.where(path)} needs 'depth' (m below the surface) "
                  "or 'altitude' (m above the seabed)")
        return None
    if has_d:
        v = ctx.number(d, 'depth', path, 'm', lo=0.0, hi=11000.0)
        return None if v is None else Vertical(depth=v)
    v = ctx.number(d, 'altitude', path, 'm', lo=0.0, lo_open=True, hi=1000.0)
    return None if v is None else Vertical(altitude=v)


def _step(ctx: _Ctx, raw: Any, i: int, datum: Datum | None,
          vp: VehicleParams | None) -> Step | None:
    path = ('steps', i)
    if not isinstance(raw, dict) or len(raw) != 1:
        got = f'{len(raw)} keys' if isinstance(raw, dict) else _kind(raw)
        ctx.error(path, 'steps', f'steps[{i}] must be one step like `- goto: {{...}}` '
                  f'(one of {", ".join(STEP_KINDS)}), got {got}')
        return None
    kind, body = next(iter(raw.items()))
    if kind not in STEP_KINDS:
        hint = _closest(str(kind), set(STEP_KINDS))
        ctx.error(path, 'steps', f'steps[{i}]: unknown step {_key(kind)}'
                  + (f"; did you mean '{hint}'?" if hint else
                     f'; known: {", ".join(STEP_KINDS)}'))
        return None
    path = path + (kind,)
    if body is None:
        body = {}
    body = ctx.mapping(body, path, f'the {kind} step settings')
    if body is None:
        return None
    ctx.keys(body, STEP_KEYS[kind], set(), path)
    line = ctx.lines.line(path)
    n_err = len(ctx.errors)
    default_speed = vp.nominal_speed_mps if vp else None

    def speed():
        v = ctx.number(body, 'speed', path, 'm/s', required=default_speed is None,
                       default=default_speed, lo=0.0, lo_open=True, hi=10.0)
        if v is not None and vp is not None and v > vp.max_speed_mps + 1e-9:
            ctx.error(path + ('speed',), 'vehicle_rating',
                      f'{ctx.where(path)}.speed = {v:g} m/s is above {vp.name}\'s maximum '
                      f'{vp.max_speed_mps:g} m/s')
            return None
        return v

    if kind in ('goto', 'hover_photo'):
        target = _position_in_mapping(ctx, body, path, datum)
        vertical = _vertical(ctx, body, path, kind)
        spd = speed()
        duration = 0.0
        if kind == 'hover_photo':
            duration = ctx.number(body, 'duration', path, 's', lo=0.0, lo_open=True, hi=86400.0)
        if len(ctx.errors) > n_err:
            return None
        return Step(kind, i, line, target=target, vertical=vertical, speed=spd,
                    duration=duration)
    if kind == 'hold':
        duration = ctx.number(body, 'duration', path, 's', lo=0.0, lo_open=True, hi=86400.0)
        return None if duration is None else Step(kind, i, line, duration=duration)
    if kind == 'surface':
        return Step(kind, i, line)
    # survey
    if 'polygon' not in body:
        ctx.error(path, 'missing_key', f"{ctx.where(path)} needs 'polygon' (list of [lat, lon])")
        polygon = None
    else:
        polygon = _polygon(ctx, body['polygon'], path + ('polygon',), datum, 'survey')
    vertical = _vertical(ctx, body, path, kind)
    spd = speed()
    overlap = ctx.number(body, 'overlap', path, 'fraction', required=False, default=0.3,
                         lo=0.0, hi=0.9)
    spacing = ctx.number(body, 'spacing', path, 'm', required=False, default=None,
                         lo=0.0, lo_open=True, hi=1000.0)
    run_in = ctx.number(body, 'run_in', path, 'm', required=False, default=DEFAULT_RUN_IN_M,
                        lo=0.0, hi=100.0)
    heading = body.get('heading', 'auto')
    if heading != 'auto':
        if isinstance(heading, bool) or not isinstance(heading, (int, float)) or \
                not math.isfinite(heading):
            ctx.error(path + ('heading',), 'type', f"{ctx.where(path)}.heading must be 'auto' or "
                      f'a compass heading in deg, got {_kind(heading)}')
            heading = None
        elif not 0.0 <= heading < 360.0:
            ctx.error(path + ('heading',), 'range', f'{ctx.where(path)}.heading = {heading:g} deg '
                      'must be in [0, 360)')
            heading = None
        else:
            heading = float(heading)
    if len(ctx.errors) > n_err or polygon is None or vertical is None or heading is None:
        return None
    return Step(kind, i, line, polygon=tuple(polygon), vertical=vertical, speed=spd,
                overlap=overlap, heading=heading, spacing=spacing, run_in=run_in)


# -- pass 2: site and vehicle rules -----------------------------------------------------

def _check_rules(ctx: _Ctx, steps: list[Step], limits: Limits | None,
                 vp: VehicleParams | None) -> None:
    fence = limits.geofence_xy if limits else None
    prev: tuple[float, float] | None = None
    prev_step: Step | None = None
    for s in steps:
        spath = ('steps', s.index, s.kind)
        v = s.vertical
        # depth / altitude limits
        if v.depth is not None:
            vpath = spath + ('depth',)
            if limits is not None and v.depth > limits.max_depth:
                ctx.error(vpath, 'max_depth', f'{ctx.where(spath)}.depth = {v.depth:g} m is deeper '
                          f'than limits.max_depth {limits.max_depth:g} m')
            if vp is not None and v.depth > vp.max_depth_m:
                ctx.error(vpath, 'vehicle_rating', f'{ctx.where(spath)}.depth = {v.depth:g} m is '
                          f"beyond {vp.name}'s rated depth {vp.max_depth_m:g} m")
        if v.altitude is not None:
            apath = spath + ('altitude',)
            if limits is not None and v.altitude < limits.min_altitude:
                ctx.error(apath, 'min_altitude', f'{ctx.where(spath)}.altitude = {v.altitude:g} m '
                          f'is below limits.min_altitude {limits.min_altitude:g} m')
            if vp is not None and vp.kind == 'surface':
                ctx.error(apath, 'vehicle_rating', f'{ctx.where(spath)}: {vp.name} is a surface '
                          'vessel and cannot hold an altitude above the seabed; use depth: 0')
        # geofence: points, polygon corners and edges, and the straight path from the last point
        if fence is None:
            continue
        points: list[tuple[tuple[float, float], tuple]] = []
        if s.target is not None:
            points.append((s.target.xy, spath))
        for k, p in enumerate(s.polygon):
            points.append((p.xy, spath + ('polygon', k)))
        for xy, ppath in points:
            if not geometry.point_in_polygon(xy, fence):
                d = geometry.distance_to_polygon_edge(xy, fence)
                ctx.error(ppath, 'outside_geofence', f'{ctx.where(ppath)} at ({xy[0]:.1f}, '
                          f'{xy[1]:.1f}) m is {d:.1f} m outside the geofence')
        if s.polygon and all(geometry.point_in_polygon(p.xy, fence) for p in s.polygon):
            n = len(s.polygon)
            for k in range(n):
                a, b = s.polygon[k].xy, s.polygon[(k + 1) % n].xy
                if not geometry.segment_inside_polygon(a, b, fence):
                    ctx.error(spath + ('polygon', k), 'outside_geofence',
                              f'{ctx.where(spath)}.polygon edge {k}->{(k + 1) % n} leaves the '
                              'geofence')
        first = s.target.xy if s.target is not None else (s.polygon[0].xy if s.polygon else None)
        if first is not None and prev is not None and prev_step is not None and \
                geometry.point_in_polygon(first, fence) and geometry.point_in_polygon(prev, fence) \
                and not geometry.segment_inside_polygon(prev, first, fence):
            ctx.error(spath, 'outside_geofence', f'the straight path from steps[{prev_step.index}] '
                      f'to steps[{s.index}] leaves the geofence; add a goto around the corner')
        if s.target is not None:
            prev, prev_step = s.target.xy, s
        elif s.polygon:
            prev, prev_step = s.polygon[-1].xy, s


# -- entry points -----------------------------------------------------------------------

def _default_vehicle_loader(name: str) -> VehicleParams:
    return load_vehicle(name)


def validate_text(text: str, file: str = '<mission>',
                  vehicle_loader: Callable[[str], VehicleParams] = _default_vehicle_loader,
                  water_depth_m: float = DEFAULT_WATER_DEPTH_M) -> Report:
    """Validate a mission file's text. Never raises for bad input: problems are in the Report."""
    report = Report(file)
    try:
        data, lines = load_marked(text)
    except MarkedYamlError as err:
        report.errors.append(Issue(file, max(err.line, 1), err.rule, err.message))
        return report
    ctx = _Ctx(file, lines)
    top = ctx.mapping(data, (), 'the mission: mission, vehicle, datum, limits, steps')
    if top is None:
        report.errors = ctx.errors
        return report
    ctx.keys(top, TOP_KEYS, {'limits', 'steps'}, ())  # mission, vehicle: ctx.text
    name = ctx.text(top, 'mission', ())
    if 'description' in top and not isinstance(top['description'], str):
        ctx.error(('description',), 'type', f'description must be text, got '
                  f'{_kind(top["description"])}')

    # vehicle
    vp = None
    vname = ctx.text(top, 'vehicle', ())
    if vname is not None:
        if not all(c.isalnum() or c in '_-' for c in vname):
            ctx.error(('vehicle',), 'vehicle', f"vehicle '{vname}' must be a plain name like "
                      'hover_auv (letters, digits, _ and -)')
        else:
            try:
                vp = vehicle_loader(vname)
            except (VehicleFileError, FileNotFoundError, OSError) as err:
                ctx.error(('vehicle',), 'vehicle', f"vehicle '{vname}': {err}")

    # datum
    datum: Datum | None = TOWER
    if 'datum' in top:
        try:
            spec = top['datum']
            if isinstance(spec, dict):
                ctx.keys(spec, {'lat', 'lon', 'alt'}, {'lat', 'lon'}, ('datum',))
                for k in ('lat', 'lon', 'alt'):
                    if k in spec and (isinstance(spec[k], bool) or
                                      not isinstance(spec[k], (int, float))):
                        raise GeodesyError(f'datum.{k} must be a number (deg/m), '
                                           f'got {_kind(spec[k])}')
            datum = datum_from_spec(spec)
        except GeodesyError as err:
            ctx.error(('datum',), 'datum', str(err))
            datum = None

    # limits
    limits = None
    lim = ctx.mapping(top['limits'], ('limits',), 'max_depth, min_altitude, geofence, '
                      'max_duration, battery_reserve') if 'limits' in top else None
    if lim is not None:
        p = ('limits',)
        ctx.keys(lim, LIMIT_KEYS, {'geofence'}, p)
        max_depth = ctx.number(lim, 'max_depth', p, 'm', lo=0.0, hi=11000.0)
        min_alt = ctx.number(lim, 'min_altitude', p, 'm', lo=0.0, hi=1000.0)
        max_dur = ctx.number(lim, 'max_duration', p, 's', lo=0.0, lo_open=True, hi=7 * 86400.0)
        reserve = ctx.number(lim, 'battery_reserve', p, 'fraction', lo=0.0, hi=0.95)
        fence = (_polygon(ctx, lim['geofence'], p + ('geofence',), datum, 'geofence')
                 if 'geofence' in lim else None)
        if max_depth is not None and vp is not None and max_depth > vp.max_depth_m:
            ctx.error(p + ('max_depth',), 'vehicle_rating', f'limits.max_depth {max_depth:g} m '
                      f"is beyond {vp.name}'s rated depth {vp.max_depth_m:g} m")
        if None not in (max_depth, min_alt, max_dur, reserve, fence):
            limits = Limits(max_depth, min_alt, tuple(fence), max_dur, reserve)

    # on_comms_loss
    on_loss = top.get('on_comms_loss', 'surface')
    if on_loss not in COMMS_LOSS_ACTIONS:
        ctx.error(('on_comms_loss',), 'range', f'on_comms_loss = {on_loss!r} must be one of '
                  f'{", ".join(COMMS_LOSS_ACTIONS)}')

    # steps
    steps: list[Step] = []
    raw_steps = top.get('steps')
    if 'steps' in top:
        if not isinstance(raw_steps, list) or not raw_steps:
            ctx.error(('steps',), 'steps',
                      f'steps must be a non-empty list, got {_kind(raw_steps)}')
        elif len(raw_steps) > MAX_STEPS:
            ctx.error(('steps',), 'steps', f'{len(raw_steps)} steps (at most {MAX_STEPS})')
        else:
            for i, raw in enumerate(raw_steps):
                s = _step(ctx, raw, i, datum, vp)
                if s is not None:
                    steps.append(s)

    _check_rules(ctx, steps, limits, vp)

    # pass 3: plan and estimate, only on a file with no errors so far
    if not ctx.errors and name is not None and vp is not None and limits is not None and \
            datum is not None:
        mission = Mission(name, vname, datum, limits, on_loss, tuple(steps), file,
                          top.get('description', '') or '')
        plan = None
        try:
            plan = build_plan(mission, vp, water_depth_m)
        except PlanError as err:
            bad = next((s for s in steps if s.kind == 'survey'), None)
            ctx.error(('steps', bad.index, 'survey') if bad else ('steps',), 'survey', str(err))
        if plan is not None:
            _check_planned_lines(ctx, mission, plan)
            _check_estimate(ctx, mission, plan, vp, water_depth_m)
            report.mission, report.plan = mission, plan
    report.vehicle = vp
    report.errors, report.warnings = ctx.errors, ctx.warnings
    if report.errors:
        report.mission = report.plan = None
    return report


def _check_planned_lines(ctx: _Ctx, mission: Mission, plan: Plan) -> None:
    """Survey lines (with their run-in, and up to half a spacing past the polygon) must stay
    inside the fence."""
    fence = mission.limits.geofence_xy
    for leg in plan.lines():
        if not geometry.segment_inside_polygon(leg.start, leg.end, fence):
            ctx.error(('steps', leg.step_index, 'survey', 'polygon'), 'outside_geofence',
                      f'survey line {leg.line_index + 1} of steps[{leg.step_index}] leaves the '
                      'geofence (lines start `run_in` m early and reach up to half a line spacing '
                      'past the polygon)')
            return


def _check_estimate(ctx: _Ctx, mission: Mission, plan: Plan, vp: VehicleParams,
                    water_depth_m: float) -> None:
    lim = mission.limits
    t, e = plan.duration_s, plan.energy_wh
    if t > lim.max_duration:
        ctx.error(('limits', 'max_duration'), 'max_duration',
                  f'estimated mission time {t:.0f} s ({t / 60:.1f} min) exceeds '
                  f'limits.max_duration {lim.max_duration:g} s')
    elif t > DURATION_WARN_FRACTION * lim.max_duration:
        ctx.warn(('limits', 'max_duration'), 'max_duration',
                 f'estimated mission time {t:.0f} s is over {DURATION_WARN_FRACTION:.0%} of '
                 f'limits.max_duration {lim.max_duration:g} s (currents will eat the margin)')
    usable = vp.battery.capacity_wh * (1.0 - lim.battery_reserve)
    if e > usable:
        ctx.error(('limits', 'battery_reserve'), 'battery_reserve',
                  f'estimated energy {e:.0f} Wh exceeds the {usable:.0f} Wh usable with '
                  f'battery_reserve {lim.battery_reserve:g} of {vp.battery.capacity_wh:g} Wh '
                  f'({vp.name}, full battery assumed)')
    for s in mission.steps:
        if s.kind == 'survey' and s.vertical.altitude is not None:
            d = water_depth_m - s.vertical.altitude
            if d > lim.max_depth:
                ctx.warn(('steps', s.index, 'survey', 'altitude'), 'max_depth',
                         f'at altitude {s.vertical.altitude:g} m over ~{water_depth_m:g} m '
                         f'of water the depth would be ~{d:g} m, below limits.max_depth '
                         f'{lim.max_depth:g} m; the supervisor will stop the vehicle there')


def validate_file(path: str | Path, **kwargs) -> Report:
    """Read and validate a mission file. A file that cannot be read is a `yaml` error."""
    p = Path(path)
    try:
        text = p.read_text(encoding='utf-8')
    except (OSError, UnicodeDecodeError) as err:
        r = Report(str(path))
        reason = err.strerror if isinstance(err, OSError) else f'not UTF-8 text ({err.reason})'
        r.errors.append(Issue(str(path), 1, 'yaml', f'cannot read the file: {reason}'))
        return r
    return validate_text(text, str(path), **kwargs)
