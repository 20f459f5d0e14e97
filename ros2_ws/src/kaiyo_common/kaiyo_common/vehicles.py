"""Vehicle physical parameters: one YAML per vehicle in `sim/vehicles/<name>.yaml` (pure).

The same file feeds the simulator (Fossen hydrodynamics, MuJoCo bodies, sensors), the
Gazebo export, the controllers (thruster allocation, limits) and mission planning (speed,
depth rating, battery). Everything is SI and in kaiyo's frames:

- body frame `base_link` is FLU (x forward, y left, z up); positions are metres from the
  body origin (the point whose pose the odometry reports);
- hydrodynamic coefficients are positive magnitudes in body FLU: `added_mass` is the
  diagonal (or full 6x6) of Fossen's M_A, `damping_linear` the diagonal of D_l (N per m/s,
  N m per rad/s), `damping_quadratic` the diagonal of D_n (N per (m/s)^2, N m per (rad/s)^2);
  a diagonal coefficient has the same value in FLU and Fossen's FRD;
- thruster `direction` is the unit vector, in FLU, of the force a positive thrust produces.

    p = load_vehicle('hover_auv')          # or a path to a YAML file
    B = p.allocation_matrix()              # 6 x N: body wrench [Fx Fy Fz Mx My Mz] per newton
    wrench = B @ thrusts_n

Bad files raise `VehicleFileError` naming the file and the key (e.g. `thrusters[2].direction`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from kaiyo_common.paths import data_path

KINDS = ('rov', 'auv', 'surface')
GRAVITY = 9.81            # m/s^2
RHO_SEAWATER = 1025.0     # kg/m^3, Sagami Bay surface water (~34 PSU, 15-25 degC)


class VehicleFileError(ValueError):
    """A vehicle parameter file is missing, unreadable or has a bad key."""

    def __init__(self, file: str | Path, key: str, problem: str):
        self.file, self.key, self.problem = str(file), key, problem
        super().__init__(f'{file}: {key}: {problem}' if key else f'{file}: {problem}')


@dataclass(frozen=True)
class Thruster:
    name: str
    position_m: np.ndarray        # (3,) body FLU, m
    direction: np.ndarray         # (3,) unit vector body FLU of positive thrust
    max_thrust_n: float           # largest forward thrust, N (> 0)
    min_thrust_n: float           # largest reverse thrust as a negative number, N (<= 0)
    time_constant_s: float        # first-order lag of delivered thrust, s

    def clamp(self, thrust_n: float) -> float:
        return min(self.max_thrust_n, max(self.min_thrust_n, thrust_n))


@dataclass(frozen=True)
class Mounting:
    """A sensor's pose on the vehicle: position (FLU, m) and roll/pitch/yaw of its frame (rad).

    The sensor frame is FLU-like (x = the sensor's forward axis); e.g. a down-looking
    camera has pitch = +pi/2 (nose down), so its x axis points down.
    """

    position_m: np.ndarray
    rpy_rad: np.ndarray

    def rotation(self) -> np.ndarray:
        """3x3 rotation taking sensor-frame vectors to body FLU (computed once)."""
        cached = self.__dict__.get('_rotation')
        if cached is not None:
            return cached.copy()        # callers may edit their copy; the cache stays right
        r, p, y = (float(a) for a in self.rpy_rad)
        cr, sr, cp, sp, cy, sy = math.cos(r), math.sin(r), math.cos(p), math.sin(p), \
            math.cos(y), math.sin(y)
        m = np.array([[cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
                      [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
                      [-sp, cp * sr, cp * cr]])
        m.setflags(write=False)
        self.__dict__['_rotation'] = m     # frozen dataclass: cache outside __setattr__
        return m.copy()


@dataclass(frozen=True)
class Camera:
    width: int                    # px
    height: int                   # px
    fx: float                     # focal length, px
    fy: float                     # px
    cx: float                     # principal point, px
    cy: float                     # px
    rate_hz: float                # frame rate, Hz
    mounting: Mounting            # camera link (x = optical axis) in base_link
    max_range_m: float            # beyond this the render shows open water, m
    light_power: float            # artificial light strength, relative (0: none)
    light_offset_m: np.ndarray    # light position relative to the camera, body FLU, m
    light_beam_half_angle_deg: float

    def matrix(self) -> np.ndarray:
        """3x3 intrinsic matrix K."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])


@dataclass(frozen=True)
class SensorSpec:
    """One sensor: rate, noise and mounting; `extra` holds sensor-specific numbers
    (e.g. DVL max_range_m, altimeter min_range_m), each named with its unit."""

    name: str
    rate_hz: float
    noise_std: float              # unit per sensor (see the vehicle YAML comments)
    mounting: Mounting
    extra: dict = field(default_factory=dict)

    def get(self, key: str, default: float | None = None) -> float:
        if key in self.extra:
            return float(self.extra[key])
        if default is None:
            raise KeyError(f'sensor {self.name}: no {key!r}')
        return default


@dataclass(frozen=True)
class Battery:
    capacity_wh: float            # usable energy, Wh
    nominal_voltage_v: float
    full_voltage_v: float
    empty_voltage_v: float
    hotel_load_w: float           # electronics, lights, sensors, W
    thrust_power_coeff: float     # electrical W per |thrust N|^1.5 (momentum theory)
    initial_soc: float = 1.0      # 0..1


@dataclass(frozen=True)
class SurfaceHull:
    """Surface-vessel hydrostatics and the wave-foil propulsion of the wave boat."""

    waterplane_area_m2: float
    draft_m: float                # depth of the hull bottom below the waterline at rest, m
    gm_transverse_m: float        # metacentric heights, m
    gm_longitudinal_m: float
    foil_area_m2: float           # total submerged foil planform area, m^2
    foil_thrust_coeff: float      # thrust = 0.5 rho A C |w| w+ (heave speed w), dimensionless
    rudder_name: str              # name of the rudder in ThrusterCommand (value = angle, deg)
    rudder_area_m2: float
    rudder_lever_m: float         # distance rudder -> body origin along -x, m
    rudder_max_angle_deg: float
    rudder_time_constant_s: float
    pto_damping_ns_m: float       # power take-off damping on heave, N s/m
    pto_efficiency: float         # electrical / mechanical, 0..1
    solar_w: float                # mean solar harvest, W


@dataclass(frozen=True)
class VehicleParams:
    name: str
    kind: str                     # 'rov' | 'auv' | 'surface'
    mass_kg: float
    volume_m3: float              # displaced volume when fully submerged, m^3
    inertia_kg_m2: np.ndarray     # (3,3) about the CG, body axes
    cg_m: np.ndarray              # (3,) body FLU
    cb_m: np.ndarray              # (3,) body FLU
    added_mass: np.ndarray        # (6,6) M_A, kg / kg m / kg m^2
    damping_linear: np.ndarray    # (6,)
    damping_quadratic: np.ndarray  # (6,)
    thrusters: tuple[Thruster, ...]
    camera: Camera | None
    sensors: dict                 # name -> SensorSpec
    battery: Battery
    max_depth_m: float
    nominal_speed_mps: float
    max_speed_mps: float
    collision_box_m: np.ndarray   # (3,) full length, width, height of the collision box, m
    surface: SurfaceHull | None = None
    source: str = ''              # file it came from

    # -- derived -------------------------------------------------------------------------
    def weight_n(self, g: float = GRAVITY) -> float:
        return self.mass_kg * g

    def buoyancy_n(self, rho: float = RHO_SEAWATER, g: float = GRAVITY) -> float:
        return rho * g * self.volume_m3

    def thruster_names(self) -> list[str]:
        return [t.name for t in self.thrusters]

    def allocation_matrix(self) -> np.ndarray:
        """6xN matrix: body FLU wrench [Fx, Fy, Fz, Mx, My, Mz] (N, N m) per newton of each
        thruster, moments about the body origin."""
        cols = []
        for t in self.thrusters:
            cols.append(np.concatenate([t.direction, np.cross(t.position_m, t.direction)]))
        return np.array(cols).T if cols else np.zeros((6, 0))

    def rigid_body_mass_matrix(self) -> np.ndarray:
        """6x6 M_RB about the body origin (Fossen 2021, eq. 3.44) with the CG offset."""
        m = self.mass_kg
        s = _skew(self.cg_m)
        i_o = self.inertia_kg_m2 - m * s @ s  # parallel-axis theorem to the origin
        out = np.zeros((6, 6))
        out[:3, :3] = m * np.eye(3)
        out[:3, 3:] = -m * s
        out[3:, :3] = m * s
        out[3:, 3:] = i_o
        return out

    def with_neutral_ballast(self, rho: float = RHO_SEAWATER) -> VehicleParams:
        """A copy whose displaced volume makes buoyancy equal weight (trimmed to neutral)."""
        return replace(self, volume_m3=self.mass_kg / rho)


def _skew(v) -> np.ndarray:
    x, y, z = (float(a) for a in v)
    return np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]])


# -- loading ---------------------------------------------------------------------------

class _Reader:
    """Typed access to a YAML mapping, raising VehicleFileError with the key path."""

    def __init__(self, file: Path, data: Any, prefix: str = ''):
        self.file, self.data, self.prefix = file, data, prefix
        if not isinstance(data, dict):
            raise VehicleFileError(file, prefix or '(top level)', 'must be a mapping')

    def key(self, k: str) -> str:
        return f'{self.prefix}.{k}' if self.prefix else k

    def has(self, k: str) -> bool:
        return k in self.data

    def raw(self, k: str, default: Any = ...):
        if k not in self.data:
            if default is ...:
                raise VehicleFileError(self.file, self.key(k), 'is required and missing')
            return default
        return self.data[k]

    def num(self, k: str, default: Any = ..., min_value: float | None = None,
            max_value: float | None = None, positive: bool = False) -> float:
        v = self.raw(k, default)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise VehicleFileError(self.file, self.key(k), f'{v!r} is not a finite number')
        v = float(v)
        if positive and v <= 0.0:
            raise VehicleFileError(self.file, self.key(k), f'{v} must be > 0')
        if min_value is not None and v < min_value:
            raise VehicleFileError(self.file, self.key(k), f'{v} must be >= {min_value}')
        if max_value is not None and v > max_value:
            raise VehicleFileError(self.file, self.key(k), f'{v} must be <= {max_value}')
        return v

    def vec(self, k: str, n: int, default: Any = ..., nonneg: bool = False) -> np.ndarray:
        v = self.raw(k, default)
        try:
            arr = np.asarray(v, dtype=float)
        except (TypeError, ValueError):
            raise VehicleFileError(self.file, self.key(k), f'{v!r} is not a list of numbers') \
                from None
        if arr.shape != (n,):
            raise VehicleFileError(self.file, self.key(k), f'must be a list of {n} numbers, '
                                   f'got shape {arr.shape}')
        if not np.all(np.isfinite(arr)):
            raise VehicleFileError(self.file, self.key(k), 'has a non-finite number')
        if nonneg and np.any(arr < 0):
            raise VehicleFileError(self.file, self.key(k), 'values must be >= 0')
        return arr

    def diag_or_matrix(self, k: str, n: int) -> np.ndarray:
        v = self.raw(k)
        try:
            arr = np.asarray(v, dtype=float)
        except (TypeError, ValueError):
            raise VehicleFileError(self.file, self.key(k), 'is not numeric') from None
        if arr.shape == (n,):
            if np.any(arr < 0):
                raise VehicleFileError(self.file, self.key(k), 'diagonal values must be >= 0')
            arr = np.diag(arr)
        elif arr.shape != (n, n):
            raise VehicleFileError(self.file, self.key(k),
                                   f'must be {n} diagonal values or a {n}x{n} matrix')
        if not np.allclose(arr, arr.T, atol=1e-9):
            raise VehicleFileError(self.file, self.key(k), 'matrix must be symmetric')
        if np.any(np.linalg.eigvalsh(arr) < -1e-12):
            raise VehicleFileError(self.file, self.key(k), 'matrix must be positive semidefinite')
        return arr

    def sub(self, k: str, default: Any = ...) -> _Reader | None:
        v = self.raw(k, default)
        if v is None:
            return None
        return _Reader(self.file, v, self.key(k))

    def text(self, k: str, default: Any = ...) -> str:
        v = self.raw(k, default)
        if not isinstance(v, str) or not v:
            raise VehicleFileError(self.file, self.key(k), f'{v!r} must be a non-empty string')
        return v


def _mounting(r: _Reader) -> Mounting:
    rpy = r.vec('rpy_deg', 3, default=[0.0, 0.0, 0.0])
    return Mounting(r.vec('position_m', 3, default=[0.0, 0.0, 0.0]), np.radians(rpy))


def _thrusters(r: _Reader) -> tuple[Thruster, ...]:
    raw = r.raw('thrusters', [])
    if not isinstance(raw, list):
        raise VehicleFileError(r.file, 'thrusters', 'must be a list')
    out, names = [], set()
    for i, item in enumerate(raw):
        t = _Reader(r.file, item, f'thrusters[{i}]')
        name = t.text('name')
        if name in names:
            raise VehicleFileError(r.file, t.key('name'), f'duplicate thruster name {name!r}')
        names.add(name)
        d = t.vec('direction', 3)
        norm = float(np.linalg.norm(d))
        if abs(norm - 1.0) > 1e-3:
            raise VehicleFileError(r.file, t.key('direction'),
                                   f'must be a unit vector (norm {norm:.4f})')
        out.append(Thruster(name, t.vec('position_m', 3), d / norm,
                            t.num('max_thrust_n', positive=True),
                            t.num('min_thrust_n', max_value=0.0),
                            t.num('time_constant_s', min_value=0.0)))
    return tuple(out)


def _camera(r: _Reader | None) -> Camera | None:
    if r is None:
        return None
    w = int(r.num('width', positive=True))
    h = int(r.num('height', positive=True))
    light = r.sub('light', default={})
    return Camera(w, h, r.num('fx', positive=True), r.num('fy', positive=True),
                  r.num('cx', min_value=0.0, max_value=w), r.num('cy', min_value=0.0, max_value=h),
                  r.num('rate_hz', positive=True), _mounting(r),
                  r.num('max_range_m', positive=True),
                  light.num('power', default=0.0, min_value=0.0),
                  light.vec('offset_m', 3, default=[0.0, 0.0, 0.0]),
                  light.num('beam_half_angle_deg', default=60.0, positive=True, max_value=90.0))


def _sensors(r: _Reader | None) -> dict:
    out = {}
    if r is None:
        return out
    for name in r.data:
        s = r.sub(name)
        extra = {k: s.num(k) for k in s.data
                 if k not in ('rate_hz', 'noise_std', 'position_m', 'rpy_deg')}
        out[name] = SensorSpec(name, s.num('rate_hz', positive=True),
                               s.num('noise_std', default=0.0, min_value=0.0), _mounting(s), extra)
    return out


def _surface(r: _Reader | None) -> SurfaceHull | None:
    if r is None:
        return None
    return SurfaceHull(
        r.num('waterplane_area_m2', positive=True), r.num('draft_m', positive=True),
        r.num('gm_transverse_m', positive=True), r.num('gm_longitudinal_m', positive=True),
        r.num('foil_area_m2', min_value=0.0), r.num('foil_thrust_coeff', min_value=0.0),
        r.text('rudder_name'), r.num('rudder_area_m2', min_value=0.0),
        r.num('rudder_lever_m', min_value=0.0),
        r.num('rudder_max_angle_deg', positive=True, max_value=60.0),
        r.num('rudder_time_constant_s', min_value=0.0),
        r.num('pto_damping_ns_m', min_value=0.0),
        r.num('pto_efficiency', min_value=0.0, max_value=1.0), r.num('solar_w', min_value=0.0))


def vehicle_path(name_or_path: str | Path) -> Path:
    """`hover_auv` -> <repo>/sim/vehicles/hover_auv.yaml; a path (with / or .yaml) as is."""
    s = str(name_or_path)
    if '/' in s or s.endswith(('.yaml', '.yml')):
        return Path(s)
    return data_path('sim', 'vehicles', f'{s}.yaml')


def available_vehicles() -> list[str]:
    return sorted(p.stem for p in data_path('sim', 'vehicles').glob('*.yaml'))


def load_vehicle(name_or_path: str | Path) -> VehicleParams:
    """Read and check a vehicle YAML. Raises VehicleFileError naming the file and key."""
    path = vehicle_path(name_or_path)
    try:
        text = path.read_text()
    except OSError as err:
        known = ', '.join(available_vehicles()) if '/' not in str(name_or_path) else ''
        raise VehicleFileError(path, '', f'cannot read ({err.strerror})'
                               + (f'; known vehicles: {known}' if known else '')) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise VehicleFileError(path, '', f'not valid YAML: {err}') from None
    return vehicle_from_dict(data, path)


def vehicle_from_dict(data: Any, file: str | Path = '<dict>') -> VehicleParams:
    r = _Reader(Path(str(file)), data)
    kind = r.text('kind')
    if kind not in KINDS:
        raise VehicleFileError(file, 'kind', f'{kind!r} must be one of {", ".join(KINDS)}')
    thrusters = _thrusters(r)
    surface = _surface(r.sub('surface', default=None))
    if kind == 'surface' and surface is None:
        raise VehicleFileError(file, 'surface', 'is required for kind: surface')
    b = r.sub('battery')
    battery = Battery(b.num('capacity_wh', positive=True),
                      b.num('nominal_voltage_v', positive=True),
                      b.num('full_voltage_v', positive=True),
                      b.num('empty_voltage_v', positive=True),
                      b.num('hotel_load_w', min_value=0.0),
                      b.num('thrust_power_coeff', min_value=0.0),
                      b.num('initial_soc', default=1.0, min_value=0.0, max_value=1.0))
    if not battery.empty_voltage_v < battery.full_voltage_v:
        raise VehicleFileError(file, 'battery.empty_voltage_v', 'must be below full_voltage_v')
    nominal = r.num('nominal_speed_mps', positive=True)
    vmax = r.num('max_speed_mps', positive=True)
    if nominal > vmax:
        raise VehicleFileError(file, 'nominal_speed_mps', f'{nominal} exceeds max_speed_mps {vmax}')
    return VehicleParams(
        name=r.text('name'), kind=kind,
        mass_kg=r.num('mass_kg', positive=True), volume_m3=r.num('volume_m3', positive=True),
        inertia_kg_m2=r.diag_or_matrix('inertia_kg_m2', 3),
        cg_m=r.vec('cg_m', 3), cb_m=r.vec('cb_m', 3),
        added_mass=r.diag_or_matrix('added_mass', 6),
        damping_linear=r.vec('damping_linear', 6, nonneg=True),
        damping_quadratic=r.vec('damping_quadratic', 6, nonneg=True),
        thrusters=thrusters, camera=_camera(r.sub('camera', default=None)),
        sensors=_sensors(r.sub('sensors', default=None)), battery=battery,
        max_depth_m=r.num('max_depth_m', positive=True),
        nominal_speed_mps=nominal, max_speed_mps=vmax,
        collision_box_m=r.vec('collision_box_m', 3, nonneg=True),
        surface=surface, source=str(file))
