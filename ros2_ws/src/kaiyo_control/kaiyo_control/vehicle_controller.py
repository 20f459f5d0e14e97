"""The vehicle controller: modes -> targets -> loops -> body wrench -> thrusters (pure).

Loops (all run every control step, 50 Hz in the node):
- depth: reference model + PID on depth with the depth-rate error as the D term, plus
  feed-forward of net buoyancy (B - W from the vehicle YAML) and of the reference's
  inertia and damping; the vertical force is applied in the world frame and rotated into
  the body (so a pitched vehicle still pushes straight up/down);
- altitude (terrain following): a tracker estimates the seabed depth (depth + altitude) and
  its rate; the depth loop then follows seabed - altitude_setpoint with the seabed's rate
  as the reference rate, so a slope is followed without lag;
- heading: reference model + PID (yaw-rate error as D) -> yaw moment, or rudder angle on a
  vessel with a rudder;
- surge / sway: PI on speed over ground plus quadratic-damping feed-forward;
- station keeping: PID on the world position error -> body force (hovering vehicles), or
  go-to-point with crab compensation (vehicles without sway, e.g. the wave boat);
- path: integral LOS (kaiyo_control.guidance) -> heading, with surge at the cruise speed.
Then `Allocator` turns the wrench into thrusts, keeping heave and yaw authority first.

Frames: estimate position in map ENU (z up), velocities in base_link FLU; depth positive
down. Safety: not armed, or a closed-loop mode without a fresh estimate -> all zeros.
"""
from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field

import numpy as np

from kaiyo_common.frames import wrap_angle
from kaiyo_common.setpoint import (  # noqa: F401 (re-exported)
    USE_ALTITUDE,
    USE_DEPTH,
    USE_HEADING,
    USE_PATH,
    USE_POSITION,
    USE_SURGE,
    USE_SWAY,
    Setpoint,
)
from kaiyo_common.vehicles import GRAVITY, VehicleParams
from kaiyo_control.allocation import AllocationStatus, Allocator
from kaiyo_control.control_params import ControlConfig
from kaiyo_control.guidance import (
    CurrentEstimator,
    FerryGlide,
    FerryGlideParams,
    LosGuidance,
    LosParams,
    go_to_point,
    heading_for_course,
)
from kaiyo_control.modes import Mode, ModeChangeResult, ModeManager
from kaiyo_control.pid import Pid, PidGains, ReferenceLimits, ReferenceModel

# Station keeping of a vessel that cannot stop: aux thrust per metre down-current of the
# point, beyond a dead band (the turns between glides already carry it up-current).
AUX_GAIN_N_PER_M = 10.0
AUX_DEADBAND_M = 1.0


class Health(enum.IntEnum):
    OK = 0
    WARN = 1
    ERROR = 2
    STALE = 3


@dataclass
class Estimate:
    stamp_s: float
    position: np.ndarray            # map ENU, m
    rpy: np.ndarray                 # rad
    velocity: np.ndarray            # body FLU [u v w p q r], m/s, rad/s

    def rotation(self) -> np.ndarray:
        r, p, y = self.rpy
        cr, sr, cp, sp, cy, sy = (math.cos(r), math.sin(r), math.cos(p), math.sin(p),
                                  math.cos(y), math.sin(y))
        return np.array([[cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
                         [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
                         [-sp, cp * sr, cp * cr]])




@dataclass
class PilotCommand:
    """Stick deflections in [-1, 1]: surge (forward +), sway (left +), heave (up +),
    yaw (counter-clockwise / left +)."""

    surge: float = 0.0
    sway: float = 0.0
    heave: float = 0.0
    yaw: float = 0.0
    stamp_s: float = -math.inf


@dataclass
class ControlOutput:
    thrust_n: np.ndarray
    rudder_deg: float | None
    wrench: np.ndarray                      # demanded body wrench, N / N m
    allocation: AllocationStatus | None
    health: Health
    message: str
    targets: dict = field(default_factory=dict)   # what the loops aimed for (for logs/tests)


class SetpointError(ValueError):
    """A setpoint or pilot command with a non-finite or out-of-range value."""


def altitude_from_range(range_m: float, rotation: np.ndarray, sensor_position_m,
                        beam_body) -> float:
    """Height of the base_link origin above the seabed (m) from an altimeter/DVL slant range.

    The beam (unit vector in body FLU) from the sensor at `sensor_position_m` hits the seabed
    at z_s + range (R b)_z; taking the seabed as locally level, the origin's altitude is
    -(R o)_z - range (R b)_z. NaN if the beam does not point down.
    """
    down = -float(rotation[2] @ np.asarray(beam_body, dtype=float))
    if not (math.isfinite(range_m) and down > 0.1):
        return math.nan
    return range_m * down - float(rotation[2] @ np.asarray(sensor_position_m, dtype=float))


class VehicleController:
    def __init__(self, vehicle: VehicleParams, cfg: ControlConfig):
        self.vehicle = vehicle
        self.cfg = cfg
        weights = cfg.thruster_weights or None
        if weights is not None and len(weights) != len(vehicle.thrusters):
            raise SetpointError(f'thruster_weights has {len(weights)} values, vehicle '
                                f'{vehicle.name} has {len(vehicle.thrusters)} thrusters')
        self.allocator = Allocator.for_vehicle(vehicle, weights) if vehicle.thrusters else None
        dofs = self.allocator.dofs if self.allocator else ()
        self.hovering = 1 in dofs and 0 in dofs         # can push surge and sway directly
        self.surface_vessel = vehicle.kind == 'surface'
        self.has_rudder = vehicle.surface is not None
        self.has_yaw_thrust = 5 in dofs
        self.modes = ModeManager(surface_vessel=self.surface_vessel)
        rho = cfg.water_density_kg_m3
        # net buoyancy, N, positive up (B - W); a surface vessel floats by definition
        self.net_buoyancy_n = 0.0 if self.surface_vessel else \
            rho * GRAVITY * vehicle.volume_m3 - vehicle.mass_kg * GRAVITY
        m_rb = vehicle.rigid_body_mass_matrix()
        self.m_eff = np.diag(m_rb) + np.diag(vehicle.added_mass)
        self.d_l = np.asarray(vehicle.damping_linear, dtype=float)
        self.d_q = np.asarray(vehicle.damping_quadratic, dtype=float)
        self.depth_pid = Pid(PidGains(cfg.depth_kp, cfg.depth_ki, cfg.depth_kd,
                                      cfg.depth_i_limit_n, cfg.depth_out_limit_n))
        self.depth_ref = ReferenceModel(ReferenceLimits(
            cfg.depth_ref_bandwidth_rps, cfg.depth_max_rate_mps, cfg.depth_max_accel_mps2))
        self.heading_pid = Pid(PidGains(cfg.heading_kp, cfg.heading_ki, cfg.heading_kd,
                                        cfg.heading_i_limit_nm, cfg.heading_out_limit_nm))
        self.heading_ref = ReferenceModel(ReferenceLimits(
            cfg.heading_ref_bandwidth_rps, cfg.heading_max_rate_rps, cfg.heading_max_accel_rps2),
            angular=True)
        max_rudder = vehicle.surface.rudder_max_angle_deg if self.has_rudder else 30.0
        self.rudder_pid = Pid(PidGains(cfg.rudder_kp_deg_per_rad, cfg.rudder_ki_deg_per_rad_s,
                                       cfg.rudder_kd_deg_per_rps, cfg.rudder_i_limit_deg,
                                       max_rudder))
        self.surge_pid = Pid(PidGains(cfg.surge_kp, cfg.surge_ki, 0.0, cfg.speed_i_limit_n,
                                      cfg.speed_out_limit_n))
        self.sway_pid = Pid(PidGains(cfg.sway_kp, cfg.sway_ki, 0.0, cfg.speed_i_limit_n,
                                     cfg.speed_out_limit_n))
        pos_gains = PidGains(cfg.position_kp, cfg.position_ki, cfg.position_kd,
                             cfg.position_i_limit_n, cfg.position_out_limit_n)
        self.pos_pid = (Pid(pos_gains), Pid(pos_gains))
        self.los = LosGuidance(LosParams(cfg.los_lookahead_m, cfg.los_integral_gain,
                                         cfg.los_acceptance_radius_m))
        self.cruise_mps = cfg.cruise_speed_mps or vehicle.nominal_speed_mps
        # vessels that cannot hover estimate the current to crab and to hold station
        self.current_est = None if self.hovering else CurrentEstimator(
            initial_speed_mps=0.5 * vehicle.nominal_speed_mps)
        self.ferry = FerryGlide(FerryGlideParams(turn_rate_rps=cfg.heading_max_rate_rps))
        self.setpoint: Setpoint | None = None
        self.pilot = PilotCommand()
        self.altitude_m = math.nan
        self.altitude_stamp = -math.inf
        self._seabed = None                      # (depth m, rate m/s) tracker state
        self._entry_seen = -1
        self._hold: dict = {}
        self._crab = 0.0
        self._last_t: float | None = None
        self._last_mask = 0
        self._return_phase = 'ascend'

    # -- inputs ----------------------------------------------------------------------------
    def request_mode(self, mode: int, arm: bool, now_s: float,
                     estimate: Estimate | None) -> ModeChangeResult:
        fresh = estimate is not None and now_s - estimate.stamp_s <= self.cfg.odometry_timeout_s
        return self.modes.request(mode, arm, fresh)

    def disarm(self) -> None:
        self.modes.disarm()

    def set_setpoint(self, sp: Setpoint) -> None:
        vals = (sp.x, sp.y, sp.path_start_x, sp.path_start_y, sp.depth_m, sp.altitude_m,
                sp.heading_rad, sp.surge_mps, sp.sway_mps)
        if not all(math.isfinite(v) for v in vals):
            raise SetpointError(f'setpoint has a non-finite value: {sp}')
        if sp.mask & USE_DEPTH and not 0.0 <= sp.depth_m <= self.vehicle.max_depth_m:
            raise SetpointError(f'depth_m {sp.depth_m} outside 0..{self.vehicle.max_depth_m} m '
                                f'(max depth of {self.vehicle.name})')
        if sp.mask & USE_ALTITUDE and sp.altitude_m < 0.0:
            raise SetpointError(f'altitude_m {sp.altitude_m} must be >= 0 m')
        if sp.mask & USE_DEPTH and sp.mask & USE_ALTITUDE:
            raise SetpointError('USE_DEPTH and USE_ALTITUDE are exclusive')
        for name in ('surge_mps', 'sway_mps'):
            if abs(getattr(sp, name)) > self.vehicle.max_speed_mps * 1.5:
                raise SetpointError(f'{name} {getattr(sp, name)} beyond 1.5 x max speed '
                                    f'{self.vehicle.max_speed_mps} m/s')
        self.setpoint = sp

    def set_pilot(self, cmd: PilotCommand) -> None:
        for name in ('surge', 'sway', 'heave', 'yaw'):
            v = getattr(cmd, name)
            if not (math.isfinite(v) and -1.0 <= v <= 1.0):
                raise SetpointError(f'pilot {name} = {v!r}: must be within [-1, 1]')
        self.pilot = cmd

    def set_altitude(self, altitude_m: float, stamp_s: float) -> None:
        if not (math.isfinite(altitude_m) and altitude_m >= 0.0):
            raise SetpointError(f'altitude {altitude_m!r} m must be a finite number >= 0')
        self.altitude_m = altitude_m
        self.altitude_stamp = stamp_s

    # -- helpers ---------------------------------------------------------------------------
    def _stick(self, v: float) -> float:
        db = self.cfg.pilot_deadband
        if abs(v) <= db:
            return 0.0
        return math.copysign((abs(v) - db) / (1.0 - db), v)

    def _reset_loops(self, est: Estimate) -> None:
        for pid in (self.depth_pid, self.heading_pid, self.rudder_pid, self.surge_pid,
                    self.sway_pid, *self.pos_pid):
            pid.reset()
        rot = est.rotation()
        vz = float(rot[2] @ est.velocity[:3])
        self.depth_ref.reset(-est.position[2], -vz)
        self.heading_ref.reset(est.rpy[2], self._yaw_rate(est))
        self.los.reset()
        self._seabed = None
        self._hold = {'x': float(est.position[0]), 'y': float(est.position[1]),
                      'depth': float(-est.position[2]), 'heading': float(est.rpy[2])}
        self._return_phase = 'ascend'

    @staticmethod
    def _yaw_rate(est: Estimate) -> float:
        r, p, _ = est.rpy
        return (math.sin(r) * est.velocity[4] + math.cos(r) * est.velocity[5]) / math.cos(p)

    def _depth_force(self, est, rot, target, dt, target_rate=0.0):
        """World vertical force (N, up positive) to follow `target` depth."""
        depth = -float(est.position[2])
        depth_rate = -float(rot[2] @ est.velocity[:3])
        r, r_dot, r_ddot = self.depth_ref.update(target, dt, target_rate)
        ff = 0.0
        if self.cfg.use_feed_forward:
            ff = (self.m_eff[2] * r_ddot + self.d_l[2] * r_dot + self.d_q[2] * r_dot * abs(r_dot)
                  + self.net_buoyancy_n)                  # down-positive force
        f_down = self.depth_pid.update(r - depth, r_dot - depth_rate, dt, ff)
        return -f_down, r

    def _heading_moment(self, est, target, dt):
        yaw = float(est.rpy[2])
        r, r_dot, r_ddot = self.heading_ref.update(target, dt)
        self.heading_ref.hold_near(yaw, self.cfg.heading_max_error_rad)
        r, r_dot = self.heading_ref.r, self.heading_ref.r_dot
        rate = self._yaw_rate(est)
        ff = 0.0
        if self.cfg.use_feed_forward:
            ff = self.m_eff[5] * r_ddot + self.d_l[5] * r_dot + self.d_q[5] * r_dot * abs(r_dot)
        return self.heading_pid.update(wrap_angle(r - yaw), r_dot - rate, dt, ff), r

    def _rudder(self, est, target, dt):
        """Rudder angle (deg). Rudder moment grows with the square of the speed through the
        water, so the gains tuned at rudder_design_speed_mps are scaled by
        (design / speed)^2 (speed from the current estimator, clamped 0.5..2 x design)."""
        yaw = float(est.rpy[2])
        self.heading_ref.update(target, dt)
        self.heading_ref.hold_near(yaw, self.cfg.heading_max_error_rad)
        r, r_dot = self.heading_ref.r, self.heading_ref.r_dot
        design = self.cfg.rudder_design_speed_mps
        speed = self.current_est.speed_mps if self.current_est is not None else design
        speed = min(2.0 * design, max(0.5 * design, speed))
        scale = (design / speed) ** 2
        lim = self.rudder_pid.gains.out_limit
        return max(-lim, min(lim, scale * self.rudder_pid.update(
            wrap_angle(r - yaw), r_dot - self._yaw_rate(est), dt))), r

    def _speed_force(self, pid, axis, target, measured, dt):
        ff = 0.0
        if self.cfg.use_feed_forward:
            ff = self.d_l[axis] * target + self.d_q[axis] * target * abs(target)
        return pid.update(target - measured, 0.0, dt, ff)

    def _seabed_track(self, depth, dt, now_s):
        """Seabed depth and its rate from depth + altitude (alpha-beta tracker)."""
        fresh = now_s - self.altitude_stamp <= self.cfg.altitude_timeout_s and \
            math.isfinite(self.altitude_m)
        if not fresh:
            return None
        meas = depth + self.altitude_m
        if self._seabed is None:
            self._seabed = [meas, 0.0]
            return tuple(self._seabed)
        tau = self.cfg.seabed_filter_s
        pred = self._seabed[0] + self._seabed[1] * dt
        resid = meas - pred
        alpha = min(1.0, 2.0 * dt / tau)
        beta = min(1.0, (dt / tau) ** 2)
        self._seabed[0] = pred + alpha * resid
        self._seabed[1] += beta * resid / dt
        return tuple(self._seabed)

    # -- the step --------------------------------------------------------------------------
    def step(self, now_s: float, est: Estimate | None) -> ControlOutput:
        n = len(self.vehicle.thrusters)
        dt = 0.02 if self._last_t is None else min(max(now_s - self._last_t, 1e-4), 0.2)
        self._last_t = now_s
        zero = ControlOutput(np.zeros(n), 0.0 if self.has_rudder else None, np.zeros(6),
                             None, Health.OK, '')
        mode = self.modes.mode
        if not self.modes.armed:
            zero.message = 'disarmed'
            return zero
        pilot_fresh = now_s - self.pilot.stamp_s <= self.cfg.pilot_timeout_s
        if mode == Mode.MANUAL:
            return self._manual(pilot_fresh, zero)
        if est is None or now_s - est.stamp_s > self.cfg.odometry_timeout_s:
            zero.health = Health.STALE
            zero.message = f'no fresh odometry: {mode.name} holds zero thrust'
            return zero
        if self._entry_seen != self.modes.entry_count:
            self._entry_seen = self.modes.entry_count
            self._reset_loops(est)
        rot = est.rotation()
        health, msg = Health.OK, ''
        targets: dict = {}
        tau_world_z = 0.0
        tau = np.zeros(6)
        heading_target = self._hold['heading']
        depth_target = self._hold['depth']
        depth_rate = 0.0
        surge_target = sway_target = None
        station = None
        path = None
        p = self.pilot if pilot_fresh else PilotCommand()
        if mode == Mode.STABILIZED:
            if self._stick(p.heave):
                lead = self._stick(p.heave) * self.cfg.pilot_climb_rate_mps * 0.5  # 0.5 s ahead
                self._hold['depth'] = max(0.0, -float(est.position[2]) - lead)
                depth_rate = -self._stick(p.heave) * self.cfg.pilot_climb_rate_mps
            if self._stick(p.yaw):
                self._hold['heading'] = wrap_angle(
                    float(est.rpy[2]) + self._stick(p.yaw) * self.cfg.pilot_yaw_rate_rps * 0.5)
            depth_target, heading_target = self._hold['depth'], self._hold['heading']
            fmax = self.cfg.pilot_max_force_n
            tau[0] = self._stick(p.surge) * fmax[0]
            tau[1] = self._stick(p.sway) * fmax[1]
        elif mode == Mode.AUTO and self.setpoint is not None:
            sp = self.setpoint
            if sp.mask != self._last_mask:
                # a new set of loops: start from where the vehicle is (bumpless)
                self._hold['depth'] = -float(est.position[2])
                self._hold['heading'] = float(est.rpy[2])
                self._hold['x'], self._hold['y'] = float(est.position[0]), float(est.position[1])
                self._last_mask = sp.mask
            if sp.mask & USE_DEPTH:
                depth_target = float(sp.depth_m)
            if sp.mask & USE_HEADING:
                heading_target = float(sp.heading_rad)
            if sp.mask & USE_SURGE:
                surge_target = float(sp.surge_mps)
            if sp.mask & USE_SWAY:
                sway_target = float(sp.sway_mps)
            if sp.mask & USE_ALTITUDE:
                alt_sp = max(float(sp.altitude_m), self.cfg.altitude_min_m)
                track = self._seabed_track(-float(est.position[2]), dt, now_s)
                if track is None:
                    health, msg = Health.WARN, 'altitude hold: no fresh altitude, holding depth'
                else:
                    depth_target = max(0.0, track[0] - alt_sp)
                    depth_rate = track[1]
                    self._hold['depth'] = depth_target
                    targets['seabed_depth_m'] = track[0]
            if sp.mask & USE_PATH:
                path = ((sp.path_start_x, sp.path_start_y), (sp.x, sp.y))
            elif sp.mask & USE_POSITION:
                station = (sp.x, sp.y)
        elif mode in (Mode.HOLD, Mode.AUTO):
            station = (self._hold['x'], self._hold['y'])
        elif mode == Mode.SURFACE:
            depth_target = 0.0
        elif mode == Mode.RETURN:
            depth_target = 0.0
            if self.surface_vessel or -est.position[2] < self.cfg.surface_depth_m:
                self._return_phase = 'transit'
            if self._return_phase == 'transit':
                dist = math.hypot(est.position[0], est.position[1])
                if dist <= self.cfg.los_acceptance_radius_m or self._hold.get('returned'):
                    self._hold['returned'] = True
                    station = (0.0, 0.0)
                else:
                    path = ((self._hold['x'], self._hold['y']), (0.0, 0.0))

        world_v = rot @ est.velocity[:3]
        if self.current_est is not None:
            self.current_est.update(world_v[:2], float(est.rpy[2]), dt)
            targets['current_enu'] = self.current_est.current_enu
            targets['water_speed_mps'] = self.current_est.speed_mps
        if path is not None:
            out = self.los.update(path[0], path[1], est.position[:2], dt)
            heading_target = out.heading_rad
            if self.current_est is not None:
                # LOS gives the course to make good; crab into the estimated current
                heading_target = heading_for_course(out.heading_rad, self.current_est.speed_mps,
                                                    self.current_est.current_enu)
            if surge_target is None:
                surge_target = self.cruise_mps
            targets['cross_track_m'] = out.cross_track_m
            targets['remaining_m'] = out.remaining_m
        if station is not None:
            if self.hovering:
                ex, ey = station[0] - est.position[0], station[1] - est.position[1]
                fx = self.pos_pid[0].update(ex, -world_v[0], dt)
                fy = self.pos_pid[1].update(ey, -world_v[1], dt)
                yaw = float(est.rpy[2])
                c, s = math.cos(yaw), math.sin(yaw)
                tau[0] += c * fx + s * fy
                tau[1] += -s * fx + c * fy
            else:
                hdg, dist, self._crab = go_to_point(est.position[:2], station, float(est.rpy[2]),
                                                    world_v[:2], 0.05, self._crab)
                glide = self.ferry.heading(est.position[:2], station,
                                           self.current_est.current_enu,
                                           self.current_est.speed_mps, world_v[:2], dt)
                if glide is None:
                    # no current to glide against: go to the point and loiter round it
                    heading_target = hdg
                    surge_target = self.cfg.station_speed_mps * min(1.0, dist / 10.0)
                else:
                    heading_target = glide
                    # foils alone may barely beat the current: when we are down-current of
                    # the point, add aux thrust (forward only) in proportion
                    e_al = self.ferry.along_error_m
                    if e_al > AUX_DEADBAND_M:
                        tau[0] += min(self.cfg.speed_out_limit_n,
                                      AUX_GAIN_N_PER_M * (e_al - AUX_DEADBAND_M))
                if not self.ferry.feasible:
                    health, msg = Health.WARN, ('station keeping: current faster than the '
                                                'vessel; heading up-current')
            targets['station'] = station
        if surge_target is not None:
            tau[0] += self._speed_force(self.surge_pid, 0, surge_target, float(est.velocity[0]), dt)
        if sway_target is not None and self.hovering:
            tau[1] += self._speed_force(self.sway_pid, 1, sway_target, float(est.velocity[1]), dt)
        rudder = None
        if self.has_rudder:
            rudder, href = self._rudder(est, heading_target, dt)
            targets['heading_ref_rad'] = href
        if self.has_yaw_thrust:
            tau[5], href = self._heading_moment(est, heading_target, dt)
            targets['heading_ref_rad'] = href
        if not self.surface_vessel:
            tau_world_z, dref = self._depth_force(est, rot, depth_target, dt, depth_rate)
            targets['depth_ref_m'] = dref
            # world vertical force -> body (R^T [0, 0, Fz])
            tau[:3] += rot[2] * tau_world_z
        targets['depth_m'] = depth_target
        targets['heading_rad'] = heading_target
        return self._allocate(tau, rudder, health, msg, targets)

    def _manual(self, pilot_fresh: bool, zero: ControlOutput) -> ControlOutput:
        if not pilot_fresh:
            zero.message = 'manual: no pilot command'
            return zero
        fmax = self.cfg.pilot_max_force_n
        p = self.pilot
        tau = np.array([self._stick(p.surge) * fmax[0], self._stick(p.sway) * fmax[1],
                        self._stick(p.heave) * fmax[2], 0.0, 0.0,
                        self._stick(p.yaw) * self.cfg.pilot_max_yaw_nm])
        rudder = None
        if self.has_rudder:
            rudder = self._stick(p.yaw) * self.vehicle.surface.rudder_max_angle_deg
        return self._allocate(tau, rudder, Health.OK, '', {})

    def _allocate(self, tau, rudder, health, msg, targets) -> ControlOutput:
        if self.allocator is None:
            return ControlOutput(np.zeros(0), rudder, tau, None, health, msg, targets)
        res = self.allocator.allocate(tau)
        if res.status is AllocationStatus.PRIORITY_SCALED and health == Health.OK:
            health, msg = Health.WARN, 'thrusters saturated: depth/heading authority reduced'
        return ControlOutput(res.thrust_n, rudder, tau, res.status, health, msg, targets)
