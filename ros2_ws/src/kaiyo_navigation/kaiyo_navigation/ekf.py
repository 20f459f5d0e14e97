"""Navigation EKF for kaiyo's vehicles (pure: numpy only, no rclpy, no logging).

State (9): position p = (x, y, z) in `map` (ENU, m, z up = -depth), velocity over ground
v = (u, v, w) in `base_link` (FLU, m/s), attitude (roll, pitch, yaw) of base_link in map
(rad, static x-y-z Euler angles as in REP-103; yaw 0 = east, counter-clockwise positive).

Process model (inputs: gyro rates omega in FLU, rad/s):
    p' = R(rpy) v            body velocity rotated to the world
    v' = white acceleration  (random walk: the vehicle's own manoeuvring)
    rpy' = E(roll, pitch) omega   Euler-angle kinematics (singular at pitch +-90 deg, which
                                  no kaiyo vehicle reaches; pitch is clamped to +-85 deg)
Measurements (every one passes a chi-square (Mahalanobis) gate on its innovation first):
    IMU attitude (AHRS quaternion)        -> roll, pitch, yaw   (yaw residual wrapped)
    depth from pressure, at a lever arm   -> z + (R r)_z = -depth
    DVL bottom-lock velocity, at its own mounting and lever arm
                                          -> M^T (v + omega x r)
    GPS at the surface (antenna lever arm) -> x, y   (only while depth < gps_max_depth_m)
    USBL fix from the tower, in map        -> x, y, z

Depth is absolute (pressure) and the DVL gives velocity only, so z cannot drift (the z drift
robot_localization users report comes from fusing both as differential/relative data).
Without DVL lock the velocity is held by the random walk and its covariance grows, so a
dropout degrades the position smoothly and recovery corrects velocity, never position: no jump.

Marine NED appears only in drivers (IMU/DVL in NED/FRD are converted there with
kaiyo_common.frames); inside this filter everything is ENU/FLU.
"""
from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field

import numpy as np

from kaiyo_common.frames import wrap_angle

N = 9
IP, IV, IA = slice(0, 3), slice(3, 6), slice(6, 9)
PITCH_LIMIT = math.radians(85.0)

# chi-square quantiles for the gate, by dimension, at the probabilities offered
_CHI2 = {
    0.99: {1: 6.635, 2: 9.210, 3: 11.345},
    0.999: {1: 10.828, 2: 13.816, 3: 16.266},
    0.9999: {1: 15.137, 2: 18.421, 3: 21.108},
}
GATE_PROBABILITIES = tuple(sorted(_CHI2))


class EkfError(ValueError):
    """A bad configuration or argument given to the filter."""


class UpdateResult(enum.Enum):
    ACCEPTED = 'accepted'
    REJECTED_GATE = 'rejected_gate'        # innovation outside the Mahalanobis gate
    REJECTED_INVALID = 'rejected_invalid'  # NaN, no lock, bad covariance, out of range
    REJECTED_STALE = 'rejected_stale'      # older than the filter by more than max_lag_s
    REJECTED_CONDITION = 'rejected_condition'  # e.g. GPS while submerged
    NOT_INITIALIZED = 'not_initialized'    # no attitude yet


@dataclass
class UpdateOutcome:
    result: UpdateResult
    mahalanobis_sq: float = float('nan')
    reason: str = ''

    @property
    def accepted(self) -> bool:
        return self.result is UpdateResult.ACCEPTED


@dataclass
class EkfConfig:
    """Noise and gating settings. Units in the names."""

    accel_noise_mps2: float = 0.05           # velocity random walk, m/s^2 /sqrt(Hz)
    gyro_noise_rps: float = 0.002            # attitude random walk from gyro noise, rad/s /sqrt(Hz)
    position_noise_mps: float = 0.001        # unmodelled position motion, m/s /sqrt(Hz)
    gate_probability: float = 0.999          # chi-square gate per update
    max_lag_s: float = 0.5                   # measurements older than this are dropped, s
    max_predict_step_s: float = 0.1          # longer predictions are split, s
    initial_position_m: tuple = (0.0, 0.0, 0.0)
    initial_position_std_m: tuple = (10.0, 10.0, 10.0)
    initial_velocity_std_mps: float = 0.5
    gps_max_depth_m: float = 0.5             # GPS is used only shallower than this, m
    # lever arms (body FLU, m) and DVL mounting (rotation sensor -> body)
    depth_lever_m: tuple = (0.0, 0.0, 0.0)
    dvl_lever_m: tuple = (0.0, 0.0, 0.0)
    dvl_rotation: np.ndarray = field(default_factory=lambda: np.eye(3))
    gps_lever_m: tuple = (0.0, 0.0, 0.0)
    usbl_lever_m: tuple = (0.0, 0.0, 0.0)
    reset_after_rejections: int = 20         # absolute fixes: re-seed after this many in a row
    dvl_reset_after_rejections: int = 3      # DVL / attitude: re-seed after this many in a row

    def __post_init__(self) -> None:
        for name in ('accel_noise_mps2', 'gyro_noise_rps', 'position_noise_mps', 'max_lag_s',
                     'max_predict_step_s', 'initial_velocity_std_mps', 'gps_max_depth_m'):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise EkfError(f'EkfConfig.{name} = {v!r}: must be a finite number > 0')
        if self.gate_probability not in _CHI2:
            raise EkfError(f'EkfConfig.gate_probability = {self.gate_probability!r}: must be '
                           f'one of {", ".join(str(p) for p in GATE_PROBABILITIES)}')
        for name in ('initial_position_m', 'initial_position_std_m', 'depth_lever_m',
                     'dvl_lever_m', 'gps_lever_m', 'usbl_lever_m'):
            v = np.asarray(getattr(self, name), dtype=float)
            if v.shape != (3,) or not np.all(np.isfinite(v)):
                raise EkfError(f'EkfConfig.{name} = {getattr(self, name)!r}: '
                               'must be 3 finite numbers')
        if np.any(np.asarray(self.initial_position_std_m) <= 0):
            raise EkfError('EkfConfig.initial_position_std_m: every value must be > 0')
        r = np.asarray(self.dvl_rotation, dtype=float)
        if r.shape != (3, 3) or not np.allclose(r @ r.T, np.eye(3), atol=1e-6):
            raise EkfError('EkfConfig.dvl_rotation must be a 3x3 rotation matrix')
        for name in ('reset_after_rejections', 'dvl_reset_after_rejections'):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise EkfError(f'EkfConfig.{name} = {v!r}: must be an integer >= 1')


# -- rotation helpers (static x-y-z: R = Rz(yaw) Ry(pitch) Rx(roll)) -----------------------

def _rx(a):
    c, s = math.cos(a), math.sin(a)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def _ry(a):
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def _rz(a):
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _drx(a):
    c, s = math.cos(a), math.sin(a)
    return np.array([[0.0, 0.0, 0.0], [0.0, -s, -c], [0.0, c, -s]])


def _dry(a):
    c, s = math.cos(a), math.sin(a)
    return np.array([[-s, 0.0, c], [0.0, 0.0, 0.0], [-c, 0.0, -s]])


def _drz(a):
    c, s = math.cos(a), math.sin(a)
    return np.array([[-s, -c, 0.0], [c, -s, 0.0], [0.0, 0.0, 0.0]])


def rotation_rpy(roll: float, pitch: float, yaw: float) -> np.ndarray:
    """Body (FLU) -> map (ENU) rotation for static x-y-z Euler angles."""
    return _rz(yaw) @ _ry(pitch) @ _rx(roll)


def _rotation_and_partials(rpy):
    r, p, y = rpy
    rx, ry, rz = _rx(r), _ry(p), _rz(y)
    return rz @ ry @ rx, (rz @ ry @ _drx(r), rz @ _dry(p) @ rx, _drz(y) @ ry @ rx)


def rpy_from_quaternion(q_wxyz) -> tuple[float, float, float]:
    """Quaternion (w, x, y, z) -> static x-y-z roll, pitch, yaw (rad)."""
    w, x, y, z = (float(v) for v in q_wxyz)
    n = math.sqrt(w * w + x * x + y * y + z * z)
    if not math.isfinite(n) or n < 1e-6:
        raise EkfError(f'quaternion {q_wxyz!r} has no valid norm')
    w, x, y, z = w / n, x / n, y / n, z / n
    roll = math.atan2(2.0 * (w * x + y * z), 1.0 - 2.0 * (x * x + y * y))
    pitch = math.asin(max(-1.0, min(1.0, 2.0 * (w * y - z * x))))
    yaw = math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))
    return roll, pitch, yaw


def quaternion_from_rpy(roll: float, pitch: float, yaw: float) -> np.ndarray:
    """Static x-y-z roll, pitch, yaw (rad) -> quaternion (w, x, y, z)."""
    cr, sr = math.cos(roll / 2), math.sin(roll / 2)
    cp, sp = math.cos(pitch / 2), math.sin(pitch / 2)
    cy, sy = math.cos(yaw / 2), math.sin(yaw / 2)
    return np.array([cr * cp * cy + sr * sp * sy, sr * cp * cy - cr * sp * sy,
                     cr * sp * cy + sr * cp * sy, cr * cp * sy - sr * sp * cy])


def depth_from_pressure(pressure_pa: float, atmospheric_pa: float, density_kg_m3: float,
                        gravity_mps2: float) -> float:
    """Hydrostatic depth (m, positive down) from absolute pressure: (P - P_atm) / (rho g)."""
    return (pressure_pa - atmospheric_pa) / (density_kg_m3 * gravity_mps2)


def normal_gravity(lat_deg: float) -> float:
    """WGS-84 normal gravity at the sea surface (Somigliana), m/s^2: 9.7977 at the tower."""
    s2 = math.sin(math.radians(lat_deg)) ** 2
    return 9.7803253359 * (1.0 + 0.00193185265241 * s2) / math.sqrt(1.0 - 0.00669437999013 * s2)


@dataclass
class NavState:
    """A snapshot of the estimate for publishing."""

    stamp_s: float
    position_m: np.ndarray      # map ENU
    velocity_mps: np.ndarray    # base_link FLU, over ground
    rpy_rad: np.ndarray
    angular_rps: np.ndarray     # latest gyro rates, FLU
    covariance: np.ndarray      # 9x9 in state order

    @property
    def depth_m(self) -> float:
        return -float(self.position_m[2])


class NavEkf:
    """The filter. Feed `predict_to` / `update_*` in time order; read `state()`."""

    def __init__(self, config: EkfConfig | None = None):
        self.cfg = config or EkfConfig()
        self.x = np.zeros(N)
        self.x[IP] = np.asarray(self.cfg.initial_position_m, dtype=float)
        self.P = np.zeros((N, N))
        self.P[IP, IP] = np.diag(np.square(np.asarray(self.cfg.initial_position_std_m, float)))
        self.P[IV, IV] = np.eye(3) * self.cfg.initial_velocity_std_mps ** 2
        self.P[IA, IA] = np.eye(3) * math.radians(5.0) ** 2
        self.t: float | None = None
        self.omega = np.zeros(3)
        self.initialized = False
        self._gate = _CHI2[self.cfg.gate_probability]
        self._abs_rejections = {'gps': 0, 'usbl': 0}
        self._rate_rejections = {'dvl': 0, 'attitude': 0}
        self._dvl_r = np.asarray(self.cfg.dvl_rotation, dtype=float)
        self._levers = {k: np.asarray(getattr(self.cfg, f'{k}_lever_m'), dtype=float)
                        for k in ('depth', 'dvl', 'gps', 'usbl')}

    # -- time ----------------------------------------------------------------------------
    def _check_time(self, stamp_s: float) -> UpdateOutcome | None:
        if not math.isfinite(stamp_s):
            return UpdateOutcome(UpdateResult.REJECTED_INVALID, reason=f'stamp {stamp_s!r}')
        if not self.initialized:
            return UpdateOutcome(UpdateResult.NOT_INITIALIZED, reason='no IMU attitude yet')
        if self.t is not None and stamp_s < self.t - self.cfg.max_lag_s:
            return UpdateOutcome(UpdateResult.REJECTED_STALE,
                                 reason=f'{self.t - stamp_s:.3f} s older than the estimate')
        self.predict_to(stamp_s)
        return None

    def predict_to(self, stamp_s: float) -> None:
        """Propagate the state to `stamp_s` (no-op for times not after the filter's time)."""
        if not math.isfinite(stamp_s):
            raise EkfError(f'stamp {stamp_s!r} is not finite')
        if self.t is None:
            self.t = stamp_s
            return
        dt = stamp_s - self.t
        while dt > 1e-9:
            step = min(dt, self.cfg.max_predict_step_s)
            self._predict(step)
            dt -= step
        self.t = max(self.t, stamp_s)

    def _predict(self, dt: float) -> None:
        x = self.x
        r, p, y = x[IA]
        rot, (dr, dp, dy) = _rotation_and_partials((r, p, y))
        v = x[IV]
        wx, wy, wz = self.omega
        sr, cr, tp, cp = math.sin(r), math.cos(r), math.tan(p), math.cos(p)
        e = np.array([[1.0, sr * tp, cr * tp], [0.0, cr, -sr], [0.0, sr / cp, cr / cp]])
        rpy_dot = e @ self.omega
        f = np.eye(N)
        f[IP, IV] = rot * dt
        f[IP, 6] = dr @ v * dt
        f[IP, 7] = dp @ v * dt
        f[IP, 8] = dy @ v * dt
        sp = math.sin(p)
        f[6:9, 6] += np.array([cr * tp * wy - sr * tp * wz, -sr * wy - cr * wz,
                               cr / cp * wy - sr / cp * wz]) * dt
        k = (sr * wy + cr * wz) / (cp * cp)
        f[6:9, 7] += np.array([k, 0.0, k * sp]) * dt
        x[IP] = x[IP] + rot @ v * dt
        x[IA] = x[IA] + rpy_dot * dt
        x[6] = wrap_angle(x[6])
        x[7] = max(-PITCH_LIMIT, min(PITCH_LIMIT, x[7]))
        x[8] = wrap_angle(x[8])
        q = np.zeros(N)
        q[IP] = self.cfg.position_noise_mps ** 2 * dt
        q[IV] = self.cfg.accel_noise_mps2 ** 2 * dt
        q[IA] = self.cfg.gyro_noise_rps ** 2 * dt
        self.P = f @ self.P @ f.T + np.diag(q)
        self.P = 0.5 * (self.P + self.P.T)

    # -- generic gated update -------------------------------------------------------------
    def _update(self, resid: np.ndarray, h: np.ndarray, r: np.ndarray) -> UpdateOutcome:
        s = h @ self.P @ h.T + r
        try:
            s_inv = np.linalg.inv(s)
        except np.linalg.LinAlgError:
            return UpdateOutcome(UpdateResult.REJECTED_INVALID, reason='singular innovation')
        d2 = float(resid @ s_inv @ resid)
        if not math.isfinite(d2) or d2 > self._gate[len(resid)]:
            return UpdateOutcome(UpdateResult.REJECTED_GATE, d2,
                                 f'Mahalanobis^2 {d2:.1f} > {self._gate[len(resid)]:.1f}')
        k = self.P @ h.T @ s_inv
        self.x = self.x + k @ resid
        self.x[6] = wrap_angle(self.x[6])
        self.x[8] = wrap_angle(self.x[8])
        i_kh = np.eye(N) - k @ h
        self.P = i_kh @ self.P @ i_kh.T + k @ r @ k.T   # Joseph form: stays symmetric PD
        return UpdateOutcome(UpdateResult.ACCEPTED, d2)

    def _persistent(self, which: str, out: UpdateOutcome, block: slice, value,
                    cov) -> UpdateOutcome:
        """A rate-like measurement (velocity, attitude) that the gate refuses again and again
        means the estimate, not the sensor, is off (e.g. a thrust change faster than the
        process noise allows): after dvl_reset_after_rejections in a row, take the
        measurement as the new state of that block, with its covariance, and decorrelate."""
        if out.result is not UpdateResult.REJECTED_GATE:
            if out.accepted:
                self._rate_rejections[which] = 0
            return out
        self._rate_rejections[which] += 1
        if self._rate_rejections[which] < self.cfg.dvl_reset_after_rejections:
            return out
        self._rate_rejections[which] = 0
        self.x[block] = value
        self.P[block, :] = 0.0
        self.P[:, block] = 0.0
        self.P[block, block] = cov
        return UpdateOutcome(UpdateResult.ACCEPTED, out.mahalanobis_sq,
                             f'{which} re-seeded after {self.cfg.dvl_reset_after_rejections} '
                             'rejected measurements')

    @staticmethod
    def _cov(cov, dim: int, name: str) -> np.ndarray | None:
        c = np.asarray(cov, dtype=float)
        if c.shape == (dim,):
            c = np.diag(c)
        if c.shape != (dim, dim) or not np.all(np.isfinite(c)):
            return None
        if np.any(np.linalg.eigvalsh(0.5 * (c + c.T)) <= 0):
            return None
        return 0.5 * (c + c.T)

    def _lever(self, which: str):
        """World offset of a lever arm and its 3x3 Jacobian w.r.t. (roll, pitch, yaw)."""
        arm = self._levers[which]
        rot, parts = _rotation_and_partials(self.x[IA])
        return rot @ arm, np.column_stack([d @ arm for d in parts])

    # -- sensors -------------------------------------------------------------------------
    def set_rates(self, omega_rps) -> None:
        """Latest gyro rates (FLU, rad/s), used as the attitude-propagation input."""
        w = np.asarray(omega_rps, dtype=float)
        if w.shape != (3,) or not np.all(np.isfinite(w)):
            raise EkfError(f'angular rates {omega_rps!r} must be 3 finite numbers, rad/s')
        self.omega = w

    def update_attitude(self, stamp_s: float, rpy_rad, rpy_std_rad) -> UpdateOutcome:
        """AHRS attitude (roll, pitch, yaw in map ENU/FLU). The first one initialises."""
        z = np.asarray(rpy_rad, dtype=float)
        std = np.asarray(rpy_std_rad, dtype=float)
        if z.shape != (3,) or not np.all(np.isfinite(z)) or std.shape != (3,) or \
                not np.all(std > 0):
            return UpdateOutcome(UpdateResult.REJECTED_INVALID, reason='bad attitude or std')
        if not self.initialized:
            self.x[IA] = z
            self.P[IA, IA] = np.diag(std ** 2)
            self.initialized = True
            self.t = stamp_s if self.t is None else max(self.t, stamp_s)
            return UpdateOutcome(UpdateResult.ACCEPTED, 0.0, 'initialised attitude')
        bad = self._check_time(stamp_s)
        if bad:
            return bad
        h = np.zeros((3, N))
        h[:, IA] = np.eye(3)
        resid = np.array([wrap_angle(z[i] - self.x[6 + i]) for i in range(3)])
        return self._persistent('attitude', self._update(resid, h, np.diag(std ** 2)),
                                IA, z, np.diag(std ** 2))

    def update_depth(self, stamp_s: float, depth_m: float, std_m: float) -> UpdateOutcome:
        """Depth of the pressure sensor (m, positive down)."""
        if not (math.isfinite(depth_m) and math.isfinite(std_m) and std_m > 0) or \
                depth_m < -5.0:
            return UpdateOutcome(UpdateResult.REJECTED_INVALID,
                                 reason=f'depth {depth_m!r} m / std {std_m!r} m')
        bad = self._check_time(stamp_s)
        if bad:
            return bad
        off, d_off = self._lever('depth')
        h = np.zeros((1, N))
        h[0, 2] = 1.0
        h[0, IA] = d_off[2]
        resid = np.array([-depth_m - (self.x[2] + off[2])])
        return self._update(resid, h, np.array([[std_m ** 2]]))

    def update_dvl(self, stamp_s: float, velocity_mps, covariance,
                   valid: bool = True) -> UpdateOutcome:
        """DVL bottom-lock velocity in the DVL frame; covariance 3x3 (m/s)^2 or 3 variances."""
        if not valid:
            return UpdateOutcome(UpdateResult.REJECTED_INVALID, reason='no bottom lock')
        z = np.asarray(velocity_mps, dtype=float)
        r = self._cov(covariance, 3, 'dvl')
        if z.shape != (3,) or not np.all(np.isfinite(z)) or r is None:
            return UpdateOutcome(UpdateResult.REJECTED_INVALID, reason='bad velocity/covariance')
        bad = self._check_time(stamp_s)
        if bad:
            return bad
        m_t = self._dvl_r.T
        pred = m_t @ (self.x[IV] + np.cross(self.omega, self._levers['dvl']))
        h = np.zeros((3, N))
        h[:, IV] = m_t
        v_meas = self._dvl_r @ z - np.cross(self.omega, self._levers['dvl'])
        return self._persistent('dvl', self._update(z - pred, h, r), IV, v_meas,
                                self._dvl_r @ r @ self._dvl_r.T)

    def _update_absolute(self, which: str, stamp_s: float, pos, cov, dims: int) -> UpdateOutcome:
        z = np.asarray(pos, dtype=float)
        r = self._cov(cov, dims, which)
        if z.shape != (dims,) or not np.all(np.isfinite(z)) or r is None:
            return UpdateOutcome(UpdateResult.REJECTED_INVALID, reason='bad position/covariance')
        bad = self._check_time(stamp_s)
        if bad:
            return bad
        off, d_off = self._lever(which)
        h = np.zeros((dims, N))
        h[:, 0:dims] = np.eye(dims)
        h[:, IA] = d_off[:dims]
        resid = z - (self.x[0:dims] + off[:dims])
        out = self._update(resid, h, r)
        if out.result is UpdateResult.REJECTED_GATE:
            self._abs_rejections[which] += 1
            if self._abs_rejections[which] >= self.cfg.reset_after_rejections:
                # a long run of consistent fixes disagreeing with us: the estimate is lost,
                # re-seed position from the fix rather than reject the truth forever
                self.x[0:dims] = z - off[:dims]
                self.P[0:dims, :] = 0.0
                self.P[:, 0:dims] = 0.0
                self.P[0:dims, 0:dims] = r
                self._abs_rejections[which] = 0
                return UpdateOutcome(UpdateResult.ACCEPTED, out.mahalanobis_sq,
                                     f'position re-seeded after {self.cfg.reset_after_rejections}'
                                     ' rejected fixes')
        elif out.accepted:
            self._abs_rejections[which] = 0
        return out

    def update_gps(self, stamp_s: float, east_m: float, north_m: float,
                   covariance) -> UpdateOutcome:
        """GPS fix converted to map ENU (m); covariance 2x2 m^2. Used only at the surface."""
        if self.initialized and -self.x[2] > self.cfg.gps_max_depth_m:
            return UpdateOutcome(UpdateResult.REJECTED_CONDITION,
                                 reason=f'submerged ({-self.x[2]:.2f} m deep)')
        return self._update_absolute('gps', stamp_s, (east_m, north_m), covariance, 2)

    def update_usbl(self, stamp_s: float, position_m, covariance) -> UpdateOutcome:
        """USBL fix of the vehicle's transponder in map ENU (m); covariance 3x3 m^2."""
        return self._update_absolute('usbl', stamp_s, position_m, covariance, 3)

    # -- output ------------------------------------------------------------------------
    def state_at(self, stamp_s: float) -> NavState:
        """The estimate extrapolated to `stamp_s` *without* moving the filter's time, so
        measurements stamped before `stamp_s` but arriving later are still fused."""
        if self.t is None or not stamp_s > self.t:
            return self.state()
        saved = (self.x.copy(), self.P.copy(), self.t)
        self.predict_to(stamp_s)
        out = self.state()
        self.x, self.P, self.t = saved
        return out

    def state(self) -> NavState:
        return NavState(self.t if self.t is not None else float('nan'), self.x[IP].copy(),
                        self.x[IV].copy(), self.x[IA].copy(), self.omega.copy(), self.P.copy())
