"""Sensor models of the simulated vehicles (pure: readings are dataclasses, no rclpy).

Each model takes the true state and the world and returns what the real device would
report, with its noise and its physical limits:

- IMU: attitude, body rates and specific force (what an accelerometer measures: a - g,
  so +9.81 m/s^2 up at rest), white noise per the vehicle YAML;
- pressure: atmospheric + rho g depth at the sensor (Pa); depth is derived from it;
- DVL: four Janus beams at the beam angle; each beam locks on the seabed only within the
  device's range (slant range <= max_range_m / cos(beam angle)); velocity is valid with
  3 or more beams, so it drops out when the vehicle climbs above its range;
- altimeter: range along its axis; +inf beyond max range (REP-117 "no return");
- GPS: a fix only while the vehicle is within `max_fix_depth_m` (default 0.5 m) of the
  surface: the antenna washes over below that and the receiver loses lock;
- battery: state of charge integrated from hotel load, thruster power (k |T|^1.5), any
  abnormal drain, minus harvest; voltage linear in state of charge between empty and full;
- leak probe; thruster feedback (delivered thrust, rpm estimate, current).

Rates, noise and mounting come from the vehicle YAML (`sensors:`), so the simulated and the
real vehicle share one description.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from kaiyo_common.vehicles import Battery, SensorSpec, VehicleParams
from kaiyo_sim.fossen import VehicleState, _cross
from kaiyo_sim.world import Bathymetry

GPS_MAX_FIX_DEPTH_M = 0.5


@dataclass
class ImuReading:
    quaternion: np.ndarray       # (w, x, y, z) IMU frame -> ENU
    angular_velocity: np.ndarray  # rad/s, IMU frame
    linear_acceleration: np.ndarray  # specific force, m/s^2, IMU frame
    gyro_std: float
    accel_std: float


@dataclass
class PressureReading:
    pressure_pa: float
    std_pa: float
    depth_m: float               # derived from the pressure, m positive down
    depth_std_m: float


@dataclass
class DvlReading:
    velocity: np.ndarray         # m/s in the DVL frame (NaN when invalid)
    velocity_valid: bool
    altitude_m: float            # NaN without lock
    beam_valid: list
    beam_range_m: list           # NaN for invalid beams
    std_mps: float


@dataclass
class AltimeterReading:
    range_m: float               # +inf: no return (beyond max range)
    min_range_m: float
    max_range_m: float


@dataclass
class GpsReading:
    fix: bool
    lat_deg: float               # NaN without a fix
    lon_deg: float
    alt_m: float
    std_m: float


@dataclass
class BatteryReading:
    voltage_v: float
    current_a: float             # negative while discharging (sensor_msgs/BatteryState)
    charge_ah: float
    capacity_ah: float
    percentage: float            # 0..1
    power_w: float               # net electrical power drawn, W


@dataclass
class ThrusterReading:
    names: list
    thrust_n: np.ndarray
    rpm: np.ndarray
    current_a: np.ndarray
    ok: list


def beam_directions(beam_angle_deg: float) -> np.ndarray:
    """Four Janus beams in the DVL frame (x fwd, y left, z up), pointing down at the beam
    angle from vertical, at azimuths 45, 135, 225, 315 deg."""
    a = math.radians(beam_angle_deg)
    az = np.radians([45.0, 135.0, 225.0, 315.0])
    return np.column_stack([math.sin(a) * np.cos(az), math.sin(a) * np.sin(az),
                            np.full(4, -math.cos(a))])


def ray_to_seabed(bathy: Bathymetry, origin, direction, max_range_m: float) -> float:
    """Distance (m) along a unit ray to the seabed, inf if it does not get there within
    max_range_m (fixed-point refinement on the relief)."""
    dz = float(direction[2])
    if dz >= -1e-6:
        return math.inf
    z0 = float(bathy.seabed_z(origin[0], origin[1]))
    if origin[2] <= z0:
        return 0.0
    t = (z0 - origin[2]) / dz
    for _ in range(5):
        tt = min(t, 4.0 * max_range_m)
        zs = float(bathy.seabed_z(origin[0] + tt * direction[0], origin[1] + tt * direction[1]))
        t = (zs - origin[2]) / dz
    return t if 0.0 <= t <= max_range_m else math.inf


def imu_reading(spec: SensorSpec, state: VehicleState, nu_dot: np.ndarray, rng,
                g: float = 9.81) -> ImuReading:
    rot = state.rotation()
    r_m = spec.mounting.rotation()
    nu = state.velocity
    accel_body = nu_dot[:3] + _cross(nu[3:], nu[:3])           # of the body origin
    f_body = accel_body + rot[2] * g                           # specific force: a - g
    gstd, astd = spec.noise_std, spec.get('accel_noise_std', 0.0)
    gyro = r_m.T @ nu[3:] + rng.normal(0.0, gstd, 3) if gstd else r_m.T @ nu[3:]
    acc = r_m.T @ f_body + (rng.normal(0.0, astd, 3) if astd else 0.0)
    q = _quat_mul(state.quaternion, _quat_from_matrix(r_m))
    return ImuReading(q, gyro, acc, gstd, astd)


def pressure_reading(spec: SensorSpec, state: VehicleState, rho: float, p_atm: float, rng,
                     g: float = 9.81) -> PressureReading:
    pos = state.position + state.rotation() @ spec.mounting.position_m
    depth = max(0.0, -float(pos[2]))
    p = p_atm + rho * g * depth + (rng.normal(0.0, spec.noise_std) if spec.noise_std else 0.0)
    return PressureReading(p, spec.noise_std, max(0.0, (p - p_atm) / (rho * g)),
                           spec.noise_std / (rho * g))


def dvl_reading(spec: SensorSpec, state: VehicleState, bathy: Bathymetry, rng) -> DvlReading:
    rot = state.rotation()
    r_m = spec.mounting.rotation()
    origin = state.position + rot @ spec.mounting.position_m
    max_r = spec.get('max_range_m')
    min_r = spec.get('min_range_m', 0.0)
    angle = spec.get('beam_angle_deg', 25.0)
    slant_max = max_r / math.cos(math.radians(angle))
    ranges, valid = [], []
    for b in beam_directions(angle):
        r = ray_to_seabed(bathy, origin, rot @ (r_m @ b), slant_max)
        ok = math.isfinite(r) and r >= min_r
        valid.append(ok)
        ranges.append(r if ok else math.nan)
    nvalid = sum(valid)
    if nvalid >= 3:
        v_body = state.velocity[:3] + _cross(state.velocity[3:], spec.mounting.position_m)
        v = r_m.T @ v_body + rng.normal(0.0, spec.noise_std, 3)
        alt = float(np.nanmean(np.array(ranges)) * math.cos(math.radians(angle)))
        return DvlReading(v, True, alt, valid, ranges, spec.noise_std)
    return DvlReading(np.full(3, np.nan), False, math.nan, valid, ranges, spec.noise_std)


def altimeter_reading(spec: SensorSpec, state: VehicleState, bathy: Bathymetry,
                      rng) -> AltimeterReading:
    rot = state.rotation()
    origin = state.position + rot @ spec.mounting.position_m
    axis = rot @ spec.mounting.rotation()[:, 0]
    max_r, min_r = spec.get('max_range_m'), spec.get('min_range_m', 0.0)
    r = ray_to_seabed(bathy, origin, axis, max_r)
    if math.isfinite(r):
        r = max(min_r, r + (rng.normal(0.0, spec.noise_std) if spec.noise_std else 0.0))
    return AltimeterReading(r, min_r, max_r)


def gps_reading(spec: SensorSpec, state: VehicleState, datum, rng) -> GpsReading:
    if state.depth_m > spec.get('max_fix_depth_m', GPS_MAX_FIX_DEPTH_M):
        return GpsReading(False, math.nan, math.nan, math.nan, spec.noise_std)
    pos = state.position + state.rotation() @ spec.mounting.position_m
    e = pos[0] + rng.normal(0.0, spec.noise_std)
    n = pos[1] + rng.normal(0.0, spec.noise_std)
    lat, lon, alt = datum.to_geodetic(float(e), float(n), max(0.0, float(pos[2])))
    return GpsReading(True, lat, lon, alt, spec.noise_std)


@dataclass
class BatteryModel:
    spec: Battery
    soc: float = field(default=None)
    extra_drain_w: float = 0.0

    def __post_init__(self) -> None:
        if self.soc is None:
            self.soc = self.spec.initial_soc
        self.last_power_w = 0.0

    def step(self, thrust_power_w: float, harvest_w: float, dt: float) -> None:
        p = self.spec.hotel_load_w + thrust_power_w + self.extra_drain_w - harvest_w
        self.last_power_w = p
        self.soc = min(1.0, max(0.0, self.soc - p * dt / 3600.0 / self.spec.capacity_wh))

    def voltage(self) -> float:
        s = self.spec
        return s.empty_voltage_v + (s.full_voltage_v - s.empty_voltage_v) * self.soc

    def reading(self) -> BatteryReading:
        v = self.voltage()
        cap_ah = self.spec.capacity_wh / self.spec.nominal_voltage_v
        return BatteryReading(v, -self.last_power_w / v, cap_ah * self.soc, cap_ah, self.soc,
                              self.last_power_w)


def thruster_reading(names, thrust_n, health, supply_v: float, coeff: float) -> ThrusterReading:
    thrust = np.asarray(thrust_n, dtype=float)
    # rpm ~ sqrt(thrust) for a fixed-pitch propeller (T200: ~3500 rpm at 51 N)
    rpm = np.sign(thrust) * 490.0 * np.sqrt(np.abs(thrust))
    current = coeff * np.abs(thrust) ** 1.5 / max(supply_v, 1.0)
    return ThrusterReading(list(names), thrust, rpm, current, [bool(h > 0.0) for h in health])


def _quat_from_matrix(m) -> np.ndarray:
    tr = m[0, 0] + m[1, 1] + m[2, 2]
    if tr > 0:
        s = 2.0 * math.sqrt(tr + 1.0)
        return np.array([0.25 * s, (m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s,
                         (m[1, 0] - m[0, 1]) / s])
    i = int(np.argmax([m[0, 0], m[1, 1], m[2, 2]]))
    j, k = (i + 1) % 3, (i + 2) % 3
    s = 2.0 * math.sqrt(1.0 + m[i, i] - m[j, j] - m[k, k])
    q = np.zeros(4)
    q[0] = (m[k, j] - m[j, k]) / s
    q[1 + i] = 0.25 * s
    q[1 + j] = (m[j, i] + m[i, j]) / s
    q[1 + k] = (m[k, i] + m[i, k]) / s
    return q


def _quat_mul(a, b) -> np.ndarray:
    w1, x1, y1, z1 = a
    w2, x2, y2, z2 = b
    return np.array([w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2, w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
                     w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2, w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2])


def mounted_sensor_names(params: VehicleParams) -> list[str]:
    return list(params.sensors)
