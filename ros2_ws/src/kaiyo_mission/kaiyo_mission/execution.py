"""The mission executor's step state machine (pure: no rclpy).

A validated mission is planned into legs (planner.py); `MissionExecution` flies them one
after another. The node calls `update(now, state)` at a fixed rate with the latest odometry
and publishes the returned `Setpoint` (the fields of kaiyo_interfaces/MotionSetpoint).
The front end is small, in the style of nav2's BasicNavigator:

    run = MissionExecution(mission, plan, ExecConfig())
    run.start(now, state)
    while not run.done:
        setpoint = run.update(now, state)      # publish it
        feedback = run.feedback(now)           # step, progress, ETA, state
    run.outcome, run.reason                    # Outcome enum + plain words

Errors are data: a leg that is not reached in time, lost odometry, a safety takeover or a
cancel end the run with an `Outcome` and a reason; nothing raises for a bad run.

Leg completion
- line: the along-track distance covered reaches the line's full length (a cross-track
  offset does not stall a survey line; the line is imaged to its end, no early turn);
- transit: the along-track distance reaches the length minus `acceptance_radius_m`, or the
  vehicle is within that radius of the end (line-of-sight guidance carries the vehicle
  along the line, so "passed" counts), and within `vertical_tolerance_m` of the depth /
  altitude (so a goto at the launch point still waits for the descent);
- approach (to a survey line's start): within `approach_radius_m`, facing along the line
  within `approach_heading_tolerance_rad`, at the line's depth / altitude;
- hover: arrive within `acceptance_radius_m`, then hold for `duration` s (paused time does
  not count);
- hold: hold the position where the leg began for `duration` s;
- surface: depth above `surface_depth_m`.
A leg that takes longer than `timeout_factor` x its estimate + `timeout_margin_s` fails
the mission (Outcome.FAILED) instead of letting the vehicle wander until the battery ends.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum, IntEnum

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
from kaiyo_mission.mission import Mission, Vertical
from kaiyo_mission.planner import Leg, Plan

LINE_END_TOLERANCE_M = 0.1    # a survey line counts as flown this close to its end, m


class Outcome(IntEnum):
    """Same values as RunMission.action's OUTCOME_* constants."""

    SUCCEEDED = 0
    INVALID = 1
    CANCELED = 2
    ABORTED_SAFETY = 3
    FAILED = 4


class RunState(str, Enum):
    PENDING = 'pending'
    RUNNING = 'running'
    PAUSED = 'paused'
    DONE = 'done'


class ExecutionError(RuntimeError):
    """A front-end call that makes no sense in the current state (e.g. update before start)."""


@dataclass(frozen=True)
class ExecConfig:
    acceptance_radius_m: float = 1.0      # horizontal arrival radius, m
    vertical_tolerance_m: float = 0.5     # depth / altitude arrival tolerance, m
    surface_depth_m: float = 0.3          # "surfaced" when shallower than this, m
    timeout_factor: float = 3.0           # leg timeout = factor x estimate + margin
    timeout_margin_s: float = 60.0        # s
    odometry_timeout_s: float = 2.0       # no odometry for this long fails the mission, s
    approach_radius_m: float = 0.5        # survey line start: arrival radius, m
    approach_heading_tolerance_rad: float = 0.35   # ... and heading error (20 deg), rad

    def __post_init__(self) -> None:
        for name in ('acceptance_radius_m', 'vertical_tolerance_m', 'surface_depth_m',
                     'timeout_factor', 'odometry_timeout_s', 'approach_radius_m',
                     'approach_heading_tolerance_rad'):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise ValueError(f'ExecConfig.{name} = {v!r} must be > 0')
        if not (math.isfinite(self.timeout_margin_s) and self.timeout_margin_s >= 0):
            raise ValueError(f'ExecConfig.timeout_margin_s = {self.timeout_margin_s!r} '
                             'must be >= 0')


@dataclass(frozen=True)
class VehicleState:
    stamp: float                  # s (the node's clock, sim time in simulation)
    x: float                      # map east, m
    y: float                      # map north, m
    depth: float                  # m, positive down
    altitude: float = math.nan    # m above the seabed (NaN: unknown)
    yaw: float = math.nan         # ENU yaw, rad




@dataclass(frozen=True)
class Feedback:
    step_index: int
    step_count: int
    step_name: str
    progress: float               # 0..1 of the estimated mission time
    eta_s: float                  # s
    state: str                    # running | paused | holding | done


def _wrap(a: float) -> float:
    return (a + math.pi) % (2.0 * math.pi) - math.pi


def _vertical_fields(v: Vertical) -> dict:
    if v.altitude is not None:
        return {'altitude_m': v.altitude}
    return {'depth_m': v.depth if v.depth is not None else 0.0}


def _vertical_mask(v: Vertical) -> int:
    return USE_ALTITUDE if v.altitude is not None else USE_DEPTH


class MissionExecution:
    def __init__(self, mission: Mission, plan: Plan, config: ExecConfig | None = None):
        if not plan.legs:
            raise ExecutionError(f'mission {mission.name!r} has no legs to fly')
        self.mission, self.plan = mission, plan
        self.config = config or ExecConfig()
        self.state = RunState.PENDING
        self.outcome: Outcome | None = None
        self.reason = ''
        self.leg_index = 0
        self.steps_completed = 0
        self._total_est = max(plan.duration_s, 1e-6)
        self._done_est = 0.0        # estimated time of completed legs, s
        self._leg_started = 0.0     # when the current leg began (paused time excluded), s
        self._leg_start_xy: tuple[float, float] = (0.0, 0.0)
        self._anchor: VehicleState | None = None   # where hold / hover / pause keep station
        self._arrived_at: float | None = None      # hover: when the station was reached
        self._paused_at: float | None = None
        self._paused_total = 0.0    # paused time inside the current leg, s
        self._started_at = 0.0
        self._last: VehicleState | None = None
        self._fraction = 0.0        # progress inside the current leg, 0..1

    # -- front end ----------------------------------------------------------------------
    @property
    def done(self) -> bool:
        return self.state is RunState.DONE

    @property
    def leg(self) -> Leg:
        return self.plan.legs[min(self.leg_index, len(self.plan.legs) - 1)]

    def start(self, now: float, state: VehicleState | None) -> None:
        if self.state is not RunState.PENDING:
            raise ExecutionError(f'start() called twice (state {self.state.value})')
        self.state = RunState.RUNNING
        self._started_at = now
        self._last = state
        self._begin_leg(now, state)

    def elapsed(self, now: float) -> float:
        return max(0.0, now - self._started_at)

    def pause(self, now: float) -> bool:
        """Hold where the vehicle is; leg timers stop. False if not running."""
        if self.state is not RunState.RUNNING:
            return False
        self.state = RunState.PAUSED
        self._paused_at = now
        self._pause_anchor = self._last
        return True

    def resume(self, now: float) -> bool:
        if self.state is not RunState.PAUSED:
            return False
        self._paused_total += now - (self._paused_at if self._paused_at is not None else now)
        self._paused_at = None
        self.state = RunState.RUNNING
        return True

    def cancel(self, now: float, reason: str = 'canceled by the operator') -> None:
        self._finish(Outcome.CANCELED, reason)

    def fail(self, reason: str) -> None:
        """End the run as FAILED for a reason found outside (e.g. a pilot took control)."""
        self._finish(Outcome.FAILED, reason)

    def abort_safety(self, reason: str) -> None:
        """The safety supervisor took over the vehicle: stop driving it."""
        self._finish(Outcome.ABORTED_SAFETY, reason)

    def update(self, now: float, state: VehicleState | None) -> Setpoint | None:
        """Advance with the latest vehicle state; the setpoint to publish (None when done)."""
        if self.state is RunState.PENDING:
            raise ExecutionError('update() before start()')
        if self.done:
            return None
        if state is not None:
            self._last = state
        last = self._last
        if last is None or now - last.stamp > self.config.odometry_timeout_s:
            age = 'never received' if last is None else f'{now - last.stamp:.1f} s old'
            self._finish(Outcome.FAILED, f'no odometry ({age}; limit '
                         f'{self.config.odometry_timeout_s:g} s)')
            return None
        if self.state is RunState.PAUSED:
            a = self._pause_anchor or last
            return Setpoint(USE_POSITION | USE_DEPTH, x=a.x, y=a.y, depth_m=max(0.0, a.depth))
        # advance through every leg already satisfied (several may complete at once)
        for _ in range(len(self.plan.legs) + 1):
            if not self._leg_done(now, last):
                break
            self._complete_leg(now, last)
            if self.done:
                return None
        leg_time = now - self._leg_started - self._paused_total
        limit = self.config.timeout_factor * self.leg.est_time_s + self.config.timeout_margin_s
        if leg_time > limit:
            self._finish(Outcome.FAILED, f'{self._describe(self.leg)} not completed in '
                         f'{leg_time:.0f} s (limit {limit:.0f} s)')
            return None
        return self._setpoint(last)

    def feedback(self, now: float) -> Feedback:
        leg = self.leg
        done_est = self._done_est + self._fraction * leg.est_time_s
        progress = 1.0 if self.outcome is Outcome.SUCCEEDED else \
            min(1.0, done_est / self._total_est)
        state = {RunState.PAUSED: 'paused', RunState.DONE: 'done'}.get(self.state, 'running')
        if self.state is RunState.RUNNING and leg.kind in ('hover', 'hold'):
            state = 'holding'
        return Feedback(leg.step_index, len(self.mission.steps), self._describe(leg),
                        progress, max(0.0, self._total_est - done_est), state)

    # -- legs ---------------------------------------------------------------------------
    def _describe(self, leg: Leg) -> str:
        step = self.mission.steps[leg.step_index]
        if step.kind == 'survey':
            n = len(self.plan.lines(leg.step_index))
            k = leg.line_index if leg.kind == 'line' else self._next_line_index(leg)
            return f'survey line {k + 1}/{n}' + ('' if leg.kind == 'line' else ' (transit)')
        return step.kind

    def _next_line_index(self, leg: Leg) -> int:
        for later in self.plan.legs[self.leg_index:]:
            if later.kind == 'line' and later.step_index == leg.step_index:
                return later.line_index
        return 0

    def _begin_leg(self, now: float, state: VehicleState | None) -> None:
        self._leg_started = now
        self._paused_total = 0.0
        self._arrived_at = None
        self._fraction = 0.0
        leg = self.leg
        here = (state.x, state.y) if state is not None else (leg.start or (0.0, 0.0))
        # transits start where the vehicle is; survey lines keep their planned start
        self._leg_start_xy = leg.start if (leg.kind == 'line' and leg.start) else here
        self._anchor = state

    def _complete_leg(self, now: float, state: VehicleState) -> None:
        leg = self.leg
        self._done_est += leg.est_time_s
        next_index = self.leg_index + 1
        if next_index >= len(self.plan.legs) or \
                self.plan.legs[next_index].step_index != leg.step_index:
            self.steps_completed += 1
        if next_index >= len(self.plan.legs):
            self._fraction = 0.0
            self._finish(Outcome.SUCCEEDED, f'all {len(self.mission.steps)} steps completed')
            return
        self.leg_index = next_index
        self._begin_leg(now, state)

    def _vertical_ok(self, v: Vertical, s: VehicleState) -> bool:
        tol = self.config.vertical_tolerance_m
        if v.altitude is not None:
            return not math.isfinite(s.altitude) or abs(s.altitude - v.altitude) <= tol
        return abs(s.depth - (v.depth or 0.0)) <= tol

    def _leg_done(self, now: float, s: VehicleState) -> bool:
        leg, cfg = self.leg, self.config
        if leg.kind == 'surface':
            self._fraction = 0.0
            return s.depth <= cfg.surface_depth_m
        if leg.kind == 'hold':
            t = now - self._leg_started - self._paused_total
            self._fraction = min(1.0, t / leg.duration) if leg.duration > 0 else 1.0
            return t >= leg.duration
        end = leg.end
        dist = math.dist((s.x, s.y), end)
        if leg.kind in ('line', 'transit'):
            # path legs are flown with line-of-sight guidance, which carries the vehicle
            # along the line: "passed the end" counts, not only "within the radius"
            a = self._leg_start_xy
            length = math.dist(a, end)
            if length < 1e-9:
                along = 0.0
            else:
                along = ((s.x - a[0]) * (end[0] - a[0]) + (s.y - a[1]) * (end[1] - a[1])) / length
            self._fraction = min(1.0, max(0.0, along / length)) if length > 1e-9 else 1.0
            if leg.kind == 'line':
                # a survey line is imaged to its end (within 10 cm): no early turn
                return along >= length - LINE_END_TOLERANCE_M
            passed = along >= length - cfg.acceptance_radius_m or dist <= cfg.acceptance_radius_m
            return passed and self._vertical_ok(leg.vertical, s)
        if leg.kind == 'approach':
            total = math.dist(self._leg_start_xy, end)
            self._fraction = 1.0 - min(1.0, dist / total) if total > 1e-9 else 0.0
            heading_ok = not math.isfinite(s.yaw) or not math.isfinite(leg.heading_rad) or \
                abs(_wrap(s.yaw - leg.heading_rad)) <= cfg.approach_heading_tolerance_rad
            return dist <= cfg.approach_radius_m and heading_ok and \
                self._vertical_ok(leg.vertical, s)
        arrived = dist <= cfg.acceptance_radius_m and self._vertical_ok(leg.vertical, s)
        # hover: arrive, then stay for `duration` of unpaused time
        if self._arrived_at is None:
            if not arrived:
                return False
            self._arrived_at = now - self._paused_total
        t = now - self._paused_total - self._arrived_at
        self._fraction = min(1.0, t / leg.duration) if leg.duration > 0 else 1.0
        return t >= leg.duration

    def _setpoint(self, s: VehicleState) -> Setpoint:
        leg = self.leg
        if leg.kind == 'surface':
            a = self._anchor or s
            return Setpoint(USE_POSITION | USE_DEPTH, x=a.x, y=a.y, depth_m=0.0)
        if leg.kind == 'hold':
            a = self._anchor or s
            v = Vertical(depth=max(0.0, a.depth)) if leg.vertical.altitude is None else leg.vertical
            return Setpoint(USE_POSITION | _vertical_mask(v), x=a.x, y=a.y, **_vertical_fields(v))
        vfields, vmask = _vertical_fields(leg.vertical), _vertical_mask(leg.vertical)
        if leg.kind == 'hover':
            return Setpoint(USE_POSITION | vmask, x=leg.end[0], y=leg.end[1], **vfields)
        if leg.kind == 'approach':
            if math.isfinite(leg.heading_rad):
                return Setpoint(USE_POSITION | USE_HEADING | vmask, x=leg.end[0], y=leg.end[1],
                                heading_rad=leg.heading_rad, **vfields)
            return Setpoint(USE_POSITION | vmask, x=leg.end[0], y=leg.end[1], **vfields)
        start = self._leg_start_xy
        return Setpoint(USE_POSITION | USE_PATH | USE_SURGE | vmask, x=leg.end[0], y=leg.end[1],
                        path_start_x=start[0], path_start_y=start[1], surge_mps=leg.speed,
                        **vfields)

    def _finish(self, outcome: Outcome, reason: str) -> None:
        if self.done:
            return
        self.state = RunState.DONE
        self.outcome, self.reason = outcome, reason
