"""PID with anti-windup and feed-forward, and a second-order reference model (pure).

The PID takes the error *and its rate* from the caller: marine vehicles measure velocity
(DVL, gyro, depth rate from the EKF), so the derivative term uses a measured rate rather than
a differentiated, noisy position (and a setpoint step does not kick the derivative).

Anti-windup, two layers: the integral's contribution is clamped to +-i_limit (output units),
and integration stops while the output is saturated in the direction the error would push
it further (conditional integration / clamping).

The reference model (Fossen 2021, section 12.1: a critically damped second-order filter
with velocity and acceleration limits) turns setpoint steps into smooth, feasible
trajectories (r, r_dot, r_ddot): the PID tracks them and the vehicle model's inertia times
r_ddot can be fed forward, which is what keeps step overshoot small without slow gains.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from kaiyo_common.frames import wrap_angle


class ControlConfigError(ValueError):
    """A controller was given a bad gain, limit or argument."""


def _finite(name: str, v: float, positive: bool = False, nonneg: bool = False) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ControlConfigError(f'{name} = {v!r}: must be a finite number')
    if positive and v <= 0:
        raise ControlConfigError(f'{name} = {v!r}: must be > 0')
    if nonneg and v < 0:
        raise ControlConfigError(f'{name} = {v!r}: must be >= 0')
    return float(v)


@dataclass(frozen=True)
class PidGains:
    kp: float                   # output per unit error
    ki: float                   # output per unit error-second
    kd: float                   # output per unit error-rate
    i_limit: float              # largest |integral contribution|, output units
    out_limit: float            # largest |output| (before feed-forward), output units

    def __post_init__(self) -> None:
        for name in ('kp', 'ki', 'kd', 'i_limit'):
            _finite(f'PidGains.{name}', getattr(self, name), nonneg=True)
        _finite('PidGains.out_limit', self.out_limit, positive=True)


class Pid:
    """u = kp e + ki integral(e) + kd e_dot (+ feed-forward, outside the limit)."""

    def __init__(self, gains: PidGains):
        self.gains = gains
        self.integral = 0.0         # integral contribution, output units
        self.saturated = False

    def reset(self) -> None:
        self.integral = 0.0
        self.saturated = False

    def update(self, error: float, error_rate: float, dt: float,
               feed_forward: float = 0.0) -> float:
        if not (math.isfinite(dt) and dt > 0):
            raise ControlConfigError(f'dt = {dt!r} s: must be > 0')
        if not (math.isfinite(error) and math.isfinite(error_rate) and math.isfinite(feed_forward)):
            raise ControlConfigError(
                f'non-finite PID input (error {error!r}, rate {error_rate!r}, ff {feed_forward!r})')
        g = self.gains
        p_d = g.kp * error + g.kd * error_rate
        candidate = self.integral + g.ki * error * dt
        candidate = max(-g.i_limit, min(g.i_limit, candidate))
        raw = p_d + candidate
        # conditional integration: keep the old integral if saturated and winding further
        if abs(raw) > g.out_limit and (raw > 0) == (error > 0):
            candidate = self.integral
            raw = p_d + candidate
        self.integral = candidate
        out = max(-g.out_limit, min(g.out_limit, raw))
        self.saturated = out != raw
        return out + feed_forward


@dataclass(frozen=True)
class ReferenceLimits:
    natural_freq_rps: float     # bandwidth of the reference, rad/s
    max_rate: float             # largest |r_dot|, unit/s
    max_accel: float            # largest |r_ddot|, unit/s^2

    def __post_init__(self) -> None:
        for name in ('natural_freq_rps', 'max_rate', 'max_accel'):
            _finite(f'ReferenceLimits.{name}', getattr(self, name), positive=True)


class ReferenceModel:
    """Critically damped 2nd-order reference with rate and acceleration limits.

    `angular=True` wraps the error to [-pi, pi) and the output to the same range.
    """

    def __init__(self, limits: ReferenceLimits, angular: bool = False):
        self.lim = limits
        self.angular = angular
        self.r = 0.0
        self.r_dot = 0.0
        self.r_ddot = 0.0

    def reset(self, value: float, rate: float = 0.0) -> None:
        self.r = float(value)
        self.r_dot = max(-self.lim.max_rate, min(self.lim.max_rate, float(rate)))
        self.r_ddot = 0.0

    def hold_near(self, measured: float, max_lead: float) -> None:
        """Keep the reference within max_lead of the measurement: a vehicle that cannot
        follow (low speed, waves, saturation) must not let the reference run away, or a
        wrapped heading error past 180 deg would turn it the long way round."""
        err = self.r - measured
        if self.angular:
            err = wrap_angle(err)
        if abs(err) > max_lead:
            self.r = measured + math.copysign(max_lead, err)
            if self.angular:
                self.r = wrap_angle(self.r)
            if self.r_dot * err > 0:
                self.r_dot = 0.0

    def update(self, target: float, dt: float,
               target_rate: float = 0.0) -> tuple[float, float, float]:
        """Advance by dt toward `target` (moving at `target_rate`); returns (r, r_dot, r_ddot)."""
        w = self.lim.natural_freq_rps
        err = target - self.r
        if self.angular:
            err = wrap_angle(err)
        a = w * w * err + 2.0 * w * (target_rate - self.r_dot)
        a = max(-self.lim.max_accel, min(self.lim.max_accel, a))
        # braking: never exceed the rate from which we can still stop at the target
        v_stop = math.sqrt(2.0 * self.lim.max_accel * abs(err))
        v_cap = min(self.lim.max_rate, max(v_stop, abs(target_rate)))
        r_dot = self.r_dot + a * dt
        r_dot = max(-v_cap, min(v_cap, r_dot))
        self.r_ddot = (r_dot - self.r_dot) / dt
        self.r_dot = r_dot
        self.r = self.r + r_dot * dt
        if self.angular:
            self.r = wrap_angle(self.r)
        return self.r, self.r_dot, self.r_ddot
