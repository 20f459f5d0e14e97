"""Safety supervisor rules, latching and the persistent event log (pure: no rclpy).

The supervisor is independent of the mission executor and does not trust it: it watches
the vehicle's own status, odometry, sensors, thrusters and the station heartbeat, and it
enforces its configured limits (tightened, never loosened, by the running mission's).

    sup = Supervisor(SupervisorConfig(vehicle='hover_auv', max_depth_m=25.0, ...))
    sup.on_status(now, StatusSample(...)); sup.on_position(now, x, y, depth) ...
    for event in sup.check(now):      # new events: publish + log
        ...
    sup.commanded_action()            # the action to enforce now (most conservative latched)
    sup.acknowledge(now, 'leak', 'operator')   # -> events reporting the clearance

Rules (id -> default action), each evaluated at every `check`:
  max_depth        depth > max_depth_m                                    -> SURFACE
  min_altitude     altitude < min_altitude_m while submerged (0: off)     -> SURFACE
  geofence         position outside the fence polygon                     -> RETURN
  battery_to_home  charge left - reserve < energy to return to the datum  -> RETURN
  leak             any leak sensor wet                                    -> SURFACE
  comms_loss       no station heartbeat for heartbeat_timeout_s           -> mission's on_comms_loss
  heartbeat_loss   no vehicle status for status_timeout_s                 -> SURFACE
  thruster_fault   a thruster reports not ok                              -> SURFACE
  stale_sensor     a monitored sensor silent for its stale timeout        -> SURFACE
  frozen_sensor    a monitored sensor repeats the exact same reading      -> SURFACE
  mission_timeout  mission running longer than its max_duration           -> SURFACE
Watchdog rules (comms, heartbeat, stale) arm on the first message of their input, so a
station without a heartbeat node is not "in comms loss" forever; that is logged as such.

A rule that fires emits one CRITICAL event and latches: it does not repeat, and its action
stays enforced until an operator acknowledges it. Acknowledging emits an INFO event with
active=False; a condition that still holds fires again at the next check.
"""
from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from enum import IntEnum
from pathlib import Path

from kaiyo_mission import geometry


class Action(IntEnum):
    """Same values as SafetyEvent.ACTION_*."""

    NONE = 0
    HOLD = 1
    SURFACE = 2
    RETURN = 3
    DISARM = 4


class Level(IntEnum):
    """Same values as SafetyEvent.SEVERITY_*."""

    INFO = 0
    WARNING = 1
    CRITICAL = 2


# Most conservative first: when several rules are latched the first of these wins.
ACTION_PRIORITY = (Action.DISARM, Action.SURFACE, Action.RETURN, Action.HOLD)
ACTION_NAMES = {'none': Action.NONE, 'hold': Action.HOLD, 'surface': Action.SURFACE,
                'return': Action.RETURN, 'disarm': Action.DISARM}

RULES = ('max_depth', 'min_altitude', 'geofence', 'battery_to_home', 'leak', 'comms_loss',
         'heartbeat_loss', 'thruster_fault', 'stale_sensor', 'frozen_sensor', 'mission_timeout')

DEFAULT_ACTIONS = {
    'max_depth': Action.SURFACE, 'min_altitude': Action.SURFACE, 'geofence': Action.RETURN,
    'battery_to_home': Action.RETURN, 'leak': Action.SURFACE, 'comms_loss': Action.SURFACE,
    'heartbeat_loss': Action.SURFACE, 'thruster_fault': Action.SURFACE,
    'stale_sensor': Action.SURFACE, 'frozen_sensor': Action.SURFACE,
    'mission_timeout': Action.SURFACE,
}


class SafetyConfigError(ValueError):
    """A supervisor setting is unusable (names the setting and the value)."""


@dataclass(frozen=True)
class Event:
    """One SafetyEvent, as data (the node copies it into kaiyo_interfaces/SafetyEvent)."""

    stamp: float
    vehicle: str
    rule: str                     # rule id (RULES)
    severity: Level
    action: Action
    message: str
    value: float = math.nan
    limit: float = math.nan
    latched: bool = True
    active: bool = True
    subject: str = ''             # what broke the rule when it can be several (a sensor name)

    @property
    def key(self) -> str:
        """Latching key: one latch per rule and subject (e.g. stale_sensor:dvl)."""
        return f'{self.rule}:{self.subject}' if self.subject else self.rule

    def to_json(self) -> str:
        d = asdict(self)
        d['severity'] = self.severity.name.lower()
        d['action'] = self.action.name.lower()
        for k in ('value', 'limit'):
            if not math.isfinite(d[k]):
                d[k] = None
        return json.dumps(d, sort_keys=True)


@dataclass(frozen=True)
class SensorWatch:
    name: str
    stale_timeout_s: float        # silence longer than this is `stale_sensor`, s
    frozen_window_s: float        # identical readings for longer than this is `frozen_sensor`, s
    frozen_min_samples: int = 3   # ...and at least this many identical samples


@dataclass
class SupervisorConfig:
    vehicle: str
    max_depth_m: float = 25.0
    min_altitude_m: float = 0.0             # 0: rule off (e.g. an ROV resting on the bottom)
    geofence_xy: Sequence[tuple[float, float]] | None = None
    battery_capacity_wh: float = 1000.0
    battery_reserve: float = 0.2            # fraction of capacity
    return_speed_mps: float = 0.5
    return_power_w: float = 200.0           # electrical power while returning, W
    ascent_speed_mps: float = 0.25
    ascent_power_w: float = 150.0           # W
    heartbeat_timeout_s: float = 5.0        # station heartbeat (comms) silence, s
    status_timeout_s: float = 3.0           # vehicle status silence, s
    surface_depth_m: float = 0.5            # shallower than this counts as surfaced, m
    sensors: Sequence[SensorWatch] = ()
    actions: dict = field(default_factory=lambda: dict(DEFAULT_ACTIONS))

    def __post_init__(self) -> None:
        positive = ('max_depth_m', 'battery_capacity_wh', 'return_speed_mps', 'ascent_speed_mps',
                    'heartbeat_timeout_s', 'status_timeout_s', 'surface_depth_m')
        for name in positive:
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise SafetyConfigError(f'{name} = {v!r} must be a finite number > 0')
        for name in ('min_altitude_m', 'return_power_w', 'ascent_power_w'):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise SafetyConfigError(f'{name} = {v!r} must be a finite number >= 0')
        if not 0.0 <= self.battery_reserve < 1.0:
            raise SafetyConfigError(f'battery_reserve = {self.battery_reserve!r} must be in [0, 1)')
        if self.geofence_xy is not None:
            fence = [tuple(map(float, p)) for p in self.geofence_xy]
            if len(fence) < 3 or geometry.self_intersections(fence) or \
                    abs(geometry.signed_area(fence)) < 1e-3:
                raise SafetyConfigError('geofence must be a simple polygon of >= 3 points')
            self.geofence_xy = fence
        unknown = set(self.actions) - set(RULES)
        if unknown:
            raise SafetyConfigError(f'actions for unknown rules: {", ".join(sorted(unknown))}')
        for rule, act in self.actions.items():
            if not isinstance(act, Action):
                raise SafetyConfigError(f'action for {rule} must be an Action, got {act!r}')
        for s in self.sensors:
            if not (s.stale_timeout_s > 0 and s.frozen_window_s > 0 and s.frozen_min_samples >= 2):
                raise SafetyConfigError(f'sensor watch {s.name}: timeouts must be > 0 and '
                                        'frozen_min_samples >= 2')


@dataclass(frozen=True)
class MissionLimits:
    """Limits of the running mission, as the supervisor applies them."""

    max_depth_m: float
    min_altitude_m: float
    geofence_xy: Sequence[tuple[float, float]]
    max_duration_s: float
    battery_reserve: float
    on_comms_loss: Action


@dataclass
class _SensorTrack:
    watch: SensorWatch
    last_time: float | None = None
    last_value: tuple | None = None
    same_since: float | None = None
    same_count: int = 0


class Supervisor:
    """Evaluates the rules on the latest inputs; holds latched events."""

    def __init__(self, config: SupervisorConfig, now: float = 0.0):
        self.config = config
        self.latched: dict[str, Event] = {}
        self.mission: MissionLimits | None = None
        self.mission_started: float | None = None
        self.mission_name = ''
        self.started = now
        # latest inputs (None / NaN: not received)
        self.depth = math.nan
        self.altitude = math.nan
        self.xy: tuple[float, float] | None = None
        self.battery_fraction = math.nan
        self.leak = False
        self.thrusters_bad: list[str] = []
        self.last_status: float | None = None
        self.last_heartbeat: float | None = None
        self.sensors = {s.name: _SensorTrack(s) for s in config.sensors}

    # -- inputs -------------------------------------------------------------------------
    def on_status(self, now: float, depth: float, altitude: float, battery_fraction: float,
                  leak: bool) -> None:
        self.last_status = now
        if math.isfinite(depth):
            self.depth = depth
        self.altitude = altitude if math.isfinite(altitude) else self.altitude
        self.battery_fraction = battery_fraction
        self.leak = self.leak or bool(leak)

    def on_position(self, now: float, x: float, y: float, depth: float) -> None:
        if math.isfinite(x) and math.isfinite(y):
            self.xy = (x, y)
        if math.isfinite(depth):
            self.depth = depth

    def on_altitude(self, now: float, altitude: float) -> None:
        """Altimeter range, m (NaN / inf: no bottom lock)."""
        self.altitude = altitude if math.isfinite(altitude) else math.nan

    def on_leak(self, now: float, wet: bool) -> None:
        # A leak latches in the input too: a sensor that dries must not un-leak the hull.
        self.leak = self.leak or bool(wet)

    def on_battery(self, now: float, fraction: float) -> None:
        if math.isfinite(fraction):
            self.battery_fraction = fraction

    def on_thrusters(self, now: float, names: Sequence[str], ok: Sequence[bool]) -> None:
        self.thrusters_bad = [names[i] if i < len(names) else str(i)
                              for i, good in enumerate(ok) if not good]

    def on_heartbeat(self, now: float) -> None:
        self.last_heartbeat = now

    def on_sensor(self, now: float, name: str, value: tuple) -> None:
        """A monitored sensor's sample; `value` is the tuple of its numbers."""
        track = self.sensors.get(name)
        if track is None:
            return
        track.last_time = now
        if value == track.last_value:
            track.same_count += 1
        else:
            track.last_value = value
            track.same_since = now
            track.same_count = 1

    def set_mission(self, now: float, limits: MissionLimits | None, name: str = '') -> None:
        """A mission started (limits) or ended (None)."""
        self.mission = limits
        self.mission_started = now if limits is not None else None
        self.mission_name = name if limits is not None else ''

    # -- effective limits (the mission may only tighten the configured ones) -------------
    def max_depth(self) -> float:
        m = self.mission
        return min(self.config.max_depth_m, m.max_depth_m) if m else self.config.max_depth_m

    def min_altitude(self) -> float:
        m = self.mission
        c = self.config.min_altitude_m
        return max(c, m.min_altitude_m) if m else c

    def reserve(self) -> float:
        m = self.mission
        c = self.config.battery_reserve
        return max(c, m.battery_reserve) if m else c

    def fences(self) -> list:
        out = []
        if self.config.geofence_xy:
            out.append(self.config.geofence_xy)
        if self.mission and self.mission.geofence_xy:
            out.append(list(self.mission.geofence_xy))
        return out

    def energy_to_home_wh(self) -> float:
        """Energy to ascend and return to the datum at the surface from here, Wh."""
        c = self.config
        dist = math.hypot(*self.xy) if self.xy else 0.0
        depth = self.depth if math.isfinite(self.depth) else 0.0
        return (dist / c.return_speed_mps * c.return_power_w +
                max(0.0, depth) / c.ascent_speed_mps * c.ascent_power_w) / 3600.0

    # -- evaluation ---------------------------------------------------------------------
    def _violations(self, now: float) -> list[tuple[str, str, float, float]]:
        """(key, message, value, limit) for every rule broken now; key = rule[:subject]."""
        c = self.config
        out = []
        depth, alt = self.depth, self.altitude
        md = self.max_depth()
        if math.isfinite(depth) and depth > md:
            out.append(('max_depth', f'depth {depth:.2f} m is below the limit {md:g} m', depth, md))
        ma = self.min_altitude()
        if ma > 0 and math.isfinite(alt) and alt < ma and math.isfinite(depth) and \
                depth > c.surface_depth_m:
            out.append(('min_altitude', f'altitude {alt:.2f} m is below the limit {ma:g} m',
                        alt, ma))
        if self.xy is not None:
            for fence in self.fences():
                if not geometry.point_in_polygon(self.xy, fence):
                    d = geometry.distance_to_polygon_edge(self.xy, fence)
                    out.append(('geofence', f'position ({self.xy[0]:.1f}, {self.xy[1]:.1f}) m is '
                                f'{d:.1f} m outside the geofence', d, 0.0))
                    break
        if math.isfinite(self.battery_fraction):
            cap = c.battery_capacity_wh
            available = (self.battery_fraction - self.reserve()) * cap
            need = self.energy_to_home_wh()
            if available < need:
                out.append(('battery_to_home', f'{self.battery_fraction * cap:.0f} Wh left, '
                            f'{need:.0f} Wh needed to return plus {self.reserve() * cap:.0f} Wh '
                            'reserve', self.battery_fraction * cap,
                            need + self.reserve() * cap))
        if self.leak:
            out.append(('leak', 'leak detected', 1.0, 0.0))
        if self.last_heartbeat is not None and now - self.last_heartbeat > c.heartbeat_timeout_s:
            silent = now - self.last_heartbeat
            out.append(('comms_loss', f'no station heartbeat for {silent:.1f} s '
                        f'(limit {c.heartbeat_timeout_s:g} s)', silent, c.heartbeat_timeout_s))
        if self.last_status is not None and now - self.last_status > c.status_timeout_s:
            silent = now - self.last_status
            out.append(('heartbeat_loss', f'no vehicle status for {silent:.1f} s '
                        f'(limit {c.status_timeout_s:g} s)', silent, c.status_timeout_s))
        if self.thrusters_bad:
            out.append(('thruster_fault', f'thruster fault: {", ".join(self.thrusters_bad)}',
                        float(len(self.thrusters_bad)), 0.0))
        for name, t in self.sensors.items():
            w = t.watch
            if t.last_time is not None and now - t.last_time > w.stale_timeout_s:
                silent = now - t.last_time
                out.append((f'stale_sensor:{name}', f'{name} silent for {silent:.2f} s '
                            f'(limit {w.stale_timeout_s:g} s)', silent, w.stale_timeout_s))
            elif t.same_since is not None and t.same_count >= w.frozen_min_samples and \
                    now - t.same_since > w.frozen_window_s:
                frozen = now - t.same_since
                out.append((f'frozen_sensor:{name}', f'{name} repeated the same reading '
                            f'{t.same_count} times over {frozen:.2f} s', frozen,
                            w.frozen_window_s))
        if self.mission is not None and self.mission_started is not None:
            run = now - self.mission_started
            if run > self.mission.max_duration_s:
                out.append(('mission_timeout', f'mission {self.mission_name!r} running for '
                            f'{run:.0f} s (limit {self.mission.max_duration_s:g} s)', run,
                            self.mission.max_duration_s))
        return out

    def action_for(self, rule: str) -> Action:
        if rule == 'comms_loss' and self.mission is not None:
            return self.mission.on_comms_loss
        return self.config.actions.get(rule, Action.SURFACE)

    def check(self, now: float) -> list[Event]:
        """Evaluate every rule; return the events that are new (fired this call)."""
        new = []
        for key, message, value, limit in self._violations(now):
            if key in self.latched:
                continue
            rule, _, subject = key.partition(':')
            action = self.action_for(rule)
            level = Level.CRITICAL if action is not Action.NONE else Level.WARNING
            ev = Event(now, self.config.vehicle, rule, level, action, message,
                       float(value), float(limit), latched=True, active=True, subject=subject)
            self.latched[key] = ev
            new.append(ev)
        return new

    def commanded_action(self) -> Action:
        """The action to enforce now: the most conservative of the latched events."""
        acts = {e.action for e in self.latched.values()}
        for a in ACTION_PRIORITY:
            if a in acts:
                return a
        return Action.NONE

    def acknowledge(self, now: float, rule: str = '', operator: str = '') -> list[Event]:
        """Clear latched events (all, or one rule id / base rule). Returns the INFO events."""
        who = operator or 'unknown operator'
        cleared = []
        for key in list(self.latched):
            if rule and key != rule and key.split(':', 1)[0] != rule:
                continue
            old = self.latched.pop(key)
            if old.rule == 'leak':
                self.leak = False   # the operator has checked the hull
            cleared.append(Event(now, self.config.vehicle, old.rule, Level.INFO, Action.NONE,
                                 f'acknowledged by {who}: {old.message}', old.value, old.limit,
                                 latched=False, active=False, subject=old.subject))
        return cleared


def altitude_from_altimeter(range_m: float, position_m, beam_body) -> float:
    """Altitude of the vehicle's origin (the frame missions and the controller use), m,
    from an altimeter's range, with the vehicle taken as level (roll and pitch are passively
    small on kaiyo's vehicles): range along the beam's down component plus the height of
    the sensor below the origin. NaN if the beam does not point down."""
    down = -float(beam_body[2])
    if not (math.isfinite(range_m) and down > 0.1):
        return math.nan
    return range_m * down - float(position_m[2])


# -- persistent log ---------------------------------------------------------------------

class EventLog:
    """Append-only JSON-lines log of safety events; each line is flushed and fsync'ed so a
    power cut loses at most the line being written."""

    def __init__(self, path: str | Path):
        self.path = Path(path).expanduser()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, 'a', encoding='utf-8')

    def append(self, event: Event, **extra) -> None:
        line = event.to_json()
        if extra:
            d = json.loads(line)
            d.update(extra)
            line = json.dumps(d, sort_keys=True)
        self._file.write(line + '\n')
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()

    @staticmethod
    def read(path: str | Path) -> list[dict]:
        out = []
        with open(Path(path).expanduser(), encoding='utf-8') as f:
            for line in f:
                if line.strip():
                    out.append(json.loads(line))
        return out


def default_log_path(vehicle: str) -> Path:
    """$KAIYO_LOG_DIR/safety/<vehicle>.jsonl, else ~/.local/state/kaiyo/safety/<vehicle>.jsonl."""
    base = os.environ.get('KAIYO_LOG_DIR')
    root = Path(base) if base else Path('~/.local/state/kaiyo').expanduser()
    return root / 'safety' / f'{vehicle}.jsonl'
