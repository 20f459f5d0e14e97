"""State and command gate of the live web view (pure: no rclpy, no sockets).

`LiveState` keeps the latest value of everything the station screen shows (vehicles on
the map, depth, altitude, battery, mode, health, alarms, plant power, sea state) from
plain-Python updates and turns it into one JSON-able snapshot with ages, so a browser sees
when a vehicle has gone quiet (`stale`).

`CommandGate` decides whether a message from a browser may become a command. The view is
read-only by default: without a configured token every command is refused; with one, the
message must carry the same token (compared in constant time) and name a known command
with valid arguments. Results are `CommandResult` values with a plain reason, never
exceptions, so the server can answer the browser and keep going.
"""
from __future__ import annotations

import enum
import hmac
import math
import re
from dataclasses import dataclass, field

MODES = {0: 'manual', 1: 'stabilized', 2: 'auto', 3: 'hold', 4: 'surface', 5: 'return'}
HEALTH = {0: 'ok', 1: 'warn', 2: 'error', 3: 'stale'}
SEVERITY = {0: 'info', 1: 'warning', 2: 'critical'}
GENERATOR = {0: 'stopped', 1: 'running', 2: 'fault', 3: 'unknown'}
MIN_TOKEN_CHARS = 16
_VEHICLE = re.compile(r'^[a-z][a-z0-9_]{0,63}$')


class LiveError(ValueError):
    """A configuration value of the live view is unusable."""


def _f(v) -> float | None:
    """JSON-safe float: NaN/inf become None (shown as '—')."""
    return float(v) if v is not None and math.isfinite(v) else None


@dataclass
class VehicleView:
    name: str
    x: float | None = None            # map east, m
    y: float | None = None            # map north, m
    yaw: float | None = None          # ENU yaw, rad
    depth_m: float | None = None
    altitude_m: float | None = None
    battery_fraction: float | None = None
    battery_voltage_v: float | None = None
    mode: str = ''
    armed: bool = False
    leak: bool = False
    health: str = ''
    health_message: str = ''
    updated_s: float | None = None    # monotonic time of the last status/odometry


@dataclass
class LiveState:
    """stale_after_s: a vehicle or the plant with no update for this long is stale, s."""

    vehicles: list[str]
    stale_after_s: float = 5.0
    views: dict = field(default_factory=dict)
    alarms: dict = field(default_factory=dict)      # (vehicle, rule) -> alarm dict
    plant: dict = field(default_factory=dict)
    sea_state: dict = field(default_factory=dict)
    plant_updated_s: float | None = None

    def __post_init__(self) -> None:
        for v in self.vehicles:
            if not _VEHICLE.match(v):
                raise LiveError(f'vehicle name {v!r} must be a ROS name like hover_auv')
        if not (self.stale_after_s > 0):
            raise LiveError(f'stale_after_s {self.stale_after_s!r} must be > 0 s')
        self.views = {v: VehicleView(v) for v in self.vehicles}

    def update_status(self, vehicle: str, now_s: float, *, mode: int, armed: bool,
                      battery_fraction: float, battery_voltage_v: float, leak: bool,
                      depth_m: float, altitude_m: float, health: int,
                      health_message: str) -> None:
        v = self.views[vehicle]
        v.mode = MODES.get(int(mode), f'mode {mode}')
        v.armed, v.leak = bool(armed), bool(leak)
        v.battery_fraction, v.battery_voltage_v = _f(battery_fraction), _f(battery_voltage_v)
        v.depth_m, v.altitude_m = _f(depth_m), _f(altitude_m)
        v.health, v.health_message = HEALTH.get(int(health), str(health)), str(health_message)
        v.updated_s = now_s

    def update_pose(self, vehicle: str, now_s: float, x: float, y: float, z: float,
                    yaw: float) -> None:
        v = self.views[vehicle]
        v.x, v.y, v.yaw = _f(x), _f(y), _f(yaw)
        if v.depth_m is None and math.isfinite(z):
            v.depth_m = max(0.0, -z)   # until a status gives the measured depth
        v.updated_s = now_s

    def update_safety(self, vehicle: str, wall_time_s: float, *, rule: str, severity: int,
                      message: str, active: bool) -> None:
        key = (vehicle, rule)
        if active:
            self.alarms[key] = {'vehicle': vehicle, 'rule': rule,
                                'severity': SEVERITY.get(int(severity), str(severity)),
                                'message': message, 'time': wall_time_s}
        else:
            self.alarms.pop(key, None)

    def update_plant(self, now_s: float, *, power_kw: float, energy_today_kwh: float,
                     generator_state: int, active_alarms, data_stale: bool) -> None:
        self.plant = {'power_kw': _f(power_kw), 'energy_today_kwh': _f(energy_today_kwh),
                      'generator': GENERATOR.get(int(generator_state), str(generator_state)),
                      'alarms': list(active_alarms), 'data_stale': bool(data_stale)}
        self.plant_updated_s = now_s

    def update_sea_state(self, *, hs_m: float, tp_s: float, source: str) -> None:
        self.sea_state = {'hs_m': _f(hs_m), 'tp_s': _f(tp_s), 'source': source}

    def snapshot(self, now_s: float, wall_time_s: float) -> dict:
        """Everything the page shows; ages in s, stale flags from stale_after_s."""
        vehicles = []
        for v in self.views.values():
            age = None if v.updated_s is None else round(now_s - v.updated_s, 1)
            vehicles.append({
                'name': v.name, 'x': v.x, 'y': v.y, 'yaw': v.yaw, 'depth_m': v.depth_m,
                'altitude_m': v.altitude_m, 'battery_fraction': v.battery_fraction,
                'battery_voltage_v': v.battery_voltage_v, 'mode': v.mode, 'armed': v.armed,
                'leak': v.leak, 'health': v.health, 'health_message': v.health_message,
                'age_s': age, 'stale': age is None or age > self.stale_after_s})
        plant_age = None if self.plant_updated_s is None else round(now_s - self.plant_updated_s, 1)
        order = {'critical': 0, 'warning': 1, 'info': 2}
        alarms = sorted(self.alarms.values(),
                        key=lambda a: (order.get(a['severity'], 3), -a['time']))
        return {'type': 'state', 'time': wall_time_s, 'vehicles': vehicles, 'alarms': alarms,
                'plant': {**self.plant, 'age_s': plant_age,
                          'stale': plant_age is None or plant_age > self.stale_after_s},
                'sea_state': self.sea_state}


class CommandStatus(enum.Enum):
    ACCEPTED = 'accepted'
    REFUSED_NO_TOKEN_CONFIGURED = 'refused: this station is read-only (no command token configured)'
    REFUSED_BAD_TOKEN = 'refused: missing or wrong token'
    REFUSED_UNKNOWN_COMMAND = 'refused: unknown command'
    REFUSED_MALFORMED = 'refused: malformed command'


@dataclass(frozen=True)
class CommandResult:
    status: CommandStatus
    reason: str = ''
    command: str = ''
    args: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status is CommandStatus.ACCEPTED


class CommandGate:
    """token: the configured secret ('' or None: read-only, every command refused)."""

    COMMANDS = ('acknowledge_safety',)

    def __init__(self, token: str | None, vehicles: list[str]):
        if token and len(token) < MIN_TOKEN_CHARS:
            raise LiveError(f'command token is {len(token)} characters; use at least '
                            f'{MIN_TOKEN_CHARS} (e.g. `openssl rand -hex 16`)')
        self._token = token or ''
        self.vehicles = set(vehicles)

    @property
    def read_only(self) -> bool:
        return not self._token

    def check(self, msg) -> CommandResult:
        if not isinstance(msg, dict):
            return CommandResult(CommandStatus.REFUSED_MALFORMED, 'expected a JSON object')
        command = msg.get('command')
        if self.read_only:
            return CommandResult(CommandStatus.REFUSED_NO_TOKEN_CONFIGURED, command=str(command))
        token = msg.get('token')
        if not isinstance(token, str) or not hmac.compare_digest(
                token.encode(), self._token.encode()):
            return CommandResult(CommandStatus.REFUSED_BAD_TOKEN, command=str(command))
        if command not in self.COMMANDS:
            return CommandResult(CommandStatus.REFUSED_UNKNOWN_COMMAND,
                                 f'known: {", ".join(self.COMMANDS)}', str(command))
        vehicle, rule = msg.get('vehicle'), msg.get('rule', '')
        operator = msg.get('operator', 'web')
        if vehicle not in self.vehicles:
            return CommandResult(CommandStatus.REFUSED_MALFORMED,
                                 f'vehicle {vehicle!r} is not shown here', command)
        if not isinstance(rule, str) or not isinstance(operator, str) or len(operator) > 64:
            return CommandResult(CommandStatus.REFUSED_MALFORMED,
                                 'rule and operator must be strings', command)
        return CommandResult(CommandStatus.ACCEPTED, '', command,
                             {'vehicle': vehicle, 'rule': rule, 'operator': operator})
