"""Line-of-sight path following with drift compensation (pure).

Integral LOS (Borhaug, Pavlov & Pettersen 2008; Fossen 2021, section 12.4): for the path
from p0 to p1 with path angle pi_p, along-track s and cross-track e (left of the path
positive, ENU),

    psi_d = pi_p - atan((e + kappa * y_int) / delta)
    y_int' = delta * e / (delta^2 + (e + kappa * y_int)^2)

The integral term builds the crab angle a steady cross current needs, so the vehicle
tracks the line itself instead of a line offset down-current (plain LOS leaves an offset of
about delta * U_c / U). The integral's growth is bounded by construction (its rate falls as
e + kappa y_int grows), so no extra anti-windup is needed.

For vessels that cannot hover (the wave boat): `CurrentEstimator` learns the current and
the speed through the water from ground velocity and heading; `heading_for_course` crabs
into it on a LOS leg; `FerryGlide` holds station by gliding back and forth up-current;
`go_to_point` (measured crab) is the fallback when there is no current to glide against.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from kaiyo_common.frames import wrap_angle


class GuidanceError(ValueError):
    """Bad path or guidance parameters."""


@dataclass(frozen=True)
class LosParams:
    lookahead_m: float = 10.0       # delta, m: larger = smoother, slower convergence
    integral_gain: float = 0.3      # kappa, dimensionless (0 = plain LOS)
    acceptance_radius_m: float = 3.0  # end of the leg when this close to p1 along track, m

    def __post_init__(self) -> None:
        if not (math.isfinite(self.lookahead_m) and self.lookahead_m > 0):
            raise GuidanceError(f'lookahead_m = {self.lookahead_m!r}: must be > 0')
        if not (math.isfinite(self.integral_gain) and self.integral_gain >= 0):
            raise GuidanceError(f'integral_gain = {self.integral_gain!r}: must be >= 0')
        if not (math.isfinite(self.acceptance_radius_m) and self.acceptance_radius_m > 0):
            raise GuidanceError(f'acceptance_radius_m = {self.acceptance_radius_m!r}: must be > 0')


@dataclass
class LosOutput:
    heading_rad: float              # desired heading (ENU yaw), rad
    cross_track_m: float            # left of the path positive, m
    along_track_m: float            # from p0 along the path, m
    remaining_m: float              # along-track distance to p1, m
    finished: bool


class LosGuidance:
    def __init__(self, params: LosParams | None = None):
        self.p = params or LosParams()
        self.y_int = 0.0
        self._path: tuple | None = None

    def reset(self) -> None:
        self.y_int = 0.0

    def update(self, start_xy, end_xy, position_xy, dt: float) -> LosOutput:
        x0, y0 = (float(v) for v in start_xy)
        x1, y1 = (float(v) for v in end_xy)
        px, py = (float(v) for v in position_xy)
        if not all(math.isfinite(v) for v in (x0, y0, x1, y1, px, py)):
            raise GuidanceError('path and position must be finite numbers')
        length = math.hypot(x1 - x0, y1 - y0)
        if length < 1e-3:
            raise GuidanceError(f'path from ({x0}, {y0}) to ({x1}, {y1}) has no length')
        if self._path != (x0, y0, x1, y1):
            self._path = (x0, y0, x1, y1)
            self.y_int = 0.0            # a new leg: its current-compensation starts afresh
        pi_p = math.atan2(y1 - y0, x1 - x0)
        c, s = math.cos(pi_p), math.sin(pi_p)
        dx, dy = px - x0, py - y0
        along = c * dx + s * dy
        cross = -s * dx + c * dy        # left positive
        d = self.p.lookahead_m
        k = self.p.integral_gain
        heading = wrap_angle(pi_p - math.atan((cross + k * self.y_int) / d))
        if k > 0:
            self.y_int += dt * d * cross / (d * d + (cross + k * self.y_int) ** 2)
        remaining = length - along
        return LosOutput(heading, cross, along, remaining, remaining < self.p.acceptance_radius_m)


def crab_angle(heading_rad: float, course_rad: float, speed_mps: float,
               min_speed_mps: float = 0.05) -> float:
    """Course over ground minus heading (rad), 0 when too slow to tell."""
    if speed_mps < min_speed_mps:
        return 0.0
    return wrap_angle(course_rad - heading_rad)


def go_to_point(position_xy, target_xy, heading_rad: float, ground_velocity_xy,
                crab_filter: float, filtered_crab: float) -> tuple[float, float, float]:
    """Heading that makes good a course straight to `target_xy`, compensating the measured
    crab angle (low-pass filtered with gain `crab_filter` in [0, 1] per call).

    Returns (desired heading rad, distance m, new filtered crab rad)."""
    dx = float(target_xy[0]) - float(position_xy[0])
    dy = float(target_xy[1]) - float(position_xy[1])
    dist = math.hypot(dx, dy)
    vx, vy = (float(v) for v in ground_velocity_xy)
    speed = math.hypot(vx, vy)
    crab = crab_angle(heading_rad, math.atan2(vy, vx), speed)
    filtered = filtered_crab + crab_filter * wrap_angle(crab - filtered_crab)
    filtered = max(-math.radians(60.0), min(math.radians(60.0), filtered))
    bearing = math.atan2(dy, dx)
    return wrap_angle(bearing - filtered), dist, filtered


# -- drift estimation and station keeping for vessels that cannot stop ---------------------

class CurrentEstimator:
    """Estimate the water current c (ENU, m/s) and the speed through the water s (m/s) of a
    vessel from its ground velocity g and heading psi:

        g = s [cos psi, sin psi] + c        (linear in the unknowns x = [cx, cy, s])

    A 3-state Kalman filter with slow random walks; the unknowns become observable as the
    heading changes (turns, zig-zags), and wave-induced surge oscillation is averaged out by
    the large measurement noise. Used by the wave boat, which has no water-track sensor.
    """

    def __init__(self, initial_speed_mps: float = 0.4, speed_std_mps: float = 0.3,
                 current_std_mps: float = 0.5, measurement_std_mps: float = 0.25,
                 process_std_mps_per_sqrt_s: float = 0.003):
        self.x = np.array([0.0, 0.0, float(initial_speed_mps)])
        self.P = np.diag([current_std_mps ** 2, current_std_mps ** 2, speed_std_mps ** 2])
        self.r = measurement_std_mps ** 2
        self.q = process_std_mps_per_sqrt_s ** 2

    def update(self, ground_velocity_xy, heading_rad: float, dt: float) -> None:
        g = np.asarray(ground_velocity_xy, dtype=float)
        if g.shape != (2,) or not np.all(np.isfinite(g)) or not math.isfinite(heading_rad):
            raise GuidanceError(f'ground velocity {ground_velocity_xy!r} / heading '
                                f'{heading_rad!r} must be finite')
        self.P = self.P + np.eye(3) * self.q * dt
        h = np.array([[1.0, 0.0, math.cos(heading_rad)], [0.0, 1.0, math.sin(heading_rad)]])
        s = h @ self.P @ h.T + np.eye(2) * self.r
        k = self.P @ h.T @ np.linalg.inv(s)
        self.x = self.x + k @ (g - h @ self.x)
        self.x[2] = max(0.0, self.x[2])
        self.P = (np.eye(3) - k @ h) @ self.P

    @property
    def current_enu(self) -> np.ndarray:
        return self.x[:2].copy()

    @property
    def speed_mps(self) -> float:
        return float(self.x[2])


def heading_for_course(course_rad: float, speed_mps: float, current_xy) -> float:
    """Heading that makes the ground track point along `course_rad` for a vessel moving at
    `speed_mps` through a current `current_xy` (crab-angle feed-forward)."""
    cx, cy = float(current_xy[0]), float(current_xy[1])
    c_perp = -math.sin(course_rad) * cx + math.cos(course_rad) * cy
    if speed_mps <= 1e-3:
        return course_rad
    return wrap_angle(course_rad - math.asin(max(-1.0, min(1.0, c_perp / speed_mps))))


@dataclass(frozen=True)
class FerryGlideParams:
    half_width_m: float = 2.0       # largest cross-current excursion aimed for, m
    along_gain: float = 0.03        # desired along-current speed per metre of error, 1/s
    max_extra_angle_deg: float = 15.0  # steer at most this far beyond the balance angle
                                       # acos(c / s): wider means fast cross-current runs
    turn_lag_s: float = 5.0         # heading-loop lag added to the turn time, s
    along_integral_gain: float = 0.002  # 1/s^2: removes the along-current offset left by
                                        # errors of the current / speed estimates
    along_integral_limit_mps: float = 0.2
    min_current_mps: float = 0.05   # weaker current: no up-stream direction; circle instead
    turn_rate_rps: float = 0.15     # turn rate the heading loop achieves, rad/s (for the
                                    # anticipation of the side switch)


class FerryGlide:
    """Station keeping for a vessel that cannot stop (through-water speed s > current c).

    Pointing theta off the up-current direction gives an along-current ground speed of
    s cos(theta) - |c|; theta is chosen so that it equals k * (along-current error), and the
    cross-current speed s sin(theta) is cancelled on average by switching the side of theta
    early enough that the excursion during the turn (cross speed x half the turn time
    2 theta / turn rate) ends at half_width_m past the station point ('ferry glide').
    The turn between sides goes through up-current, where the ground speed is smallest,
    never down-current. If s <= |c| the vessel heads up-current (best effort) and
    `feasible` is False.
    """

    def __init__(self, params: FerryGlideParams | None = None):
        self.p = params or FerryGlideParams()
        self.side = 1.0
        self.feasible = True
        self.along_integral = 0.0           # m/s
        self.along_error_m = 0.0            # > 0: the station is up-current of the vessel

    def heading(self, position_xy, station_xy, current_xy, speed_mps: float,
                ground_velocity_xy=(0.0, 0.0), dt: float = 0.0) -> float | None:
        """Heading (rad) to steer; None when the current is too weak to glide against."""
        c = np.asarray(current_xy, dtype=float)
        c_mag = float(np.hypot(*c))
        err = np.asarray(station_xy, dtype=float) - np.asarray(position_xy, dtype=float)
        if c_mag < self.p.min_current_mps:
            self.feasible = True
            return None
        up = -c / c_mag                              # up-current unit vector
        left = np.array([-up[1], up[0]])
        e_along = float(err @ up)                    # > 0: station is up-current of us
        e_cross = float(err @ left)                  # > 0: station is to the left
        self.along_error_m = e_along
        if speed_mps <= c_mag:
            self.feasible = False
            return math.atan2(up[1], up[0])
        self.feasible = True
        lim = self.p.along_integral_limit_mps
        self.along_integral = max(-lim, min(lim, self.along_integral
                                            + self.p.along_integral_gain * e_along * dt))
        bias = self.along_integral
        v_along = max(-c_mag, min(speed_mps - c_mag, self.p.along_gain * e_along + bias))
        theta = math.acos(max(-1.0, min(1.0, (v_along + c_mag) / speed_mps)))
        balance = math.acos(max(-1.0, min(1.0, (c_mag + bias) / speed_mps)))
        theta = min(theta, balance + math.radians(self.p.max_extra_angle_deg))
        # where the turn to the other side would end: past the point by the excursion
        v_cross = max(0.0, self.side * float(np.asarray(ground_velocity_xy, float) @ left))
        run_out = v_cross * (theta / self.p.turn_rate_rps + self.p.turn_lag_s)
        if -self.side * e_cross + run_out > self.p.half_width_m:
            self.side = -self.side                   # glide back the other way
            v_cross = 0.0
        return wrap_angle(math.atan2(up[1], up[0]) + self.side * theta)
