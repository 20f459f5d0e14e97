"""Tier 1: the executor's step state machine against a kinematic test vehicle (no ROS).

`KinematicVehicle` is a test fixture, not a model of any real vehicle: it moves toward the
setpoint at the commanded speed (straight line) and changes depth at 0.3 m/s. Enough to
check that legs advance, progress and ETA make sense, pause/resume/cancel work and failures
come back as outcomes.
"""
import math
from pathlib import Path

import pytest

from kaiyo_mission.execution import (
    USE_ALTITUDE,
    USE_DEPTH,
    USE_HEADING,
    USE_PATH,
    USE_POSITION,
    ExecConfig,
    ExecutionError,
    MissionExecution,
    Outcome,
    VehicleState,
)
from kaiyo_mission.validator import validate_file, validate_text

REPO = Path(__file__).resolve().parents[4]
EXAMPLE = REPO / 'missions' / 'isoyake_survey.yaml'
WATER_DEPTH = 20.0


class KinematicVehicle:
    def __init__(self, x=0.0, y=0.0, depth=0.0):
        self.x, self.y, self.depth = x, y, depth
        self.yaw = 0.0
        self.frozen = False

    def state(self, t):
        return VehicleState(t, self.x, self.y, self.depth, WATER_DEPTH - self.depth, self.yaw)

    def step(self, sp, dt):
        if sp is None or self.frozen:
            return
        if sp.mask & USE_POSITION:
            dx, dy = sp.x - self.x, sp.y - self.y
            d = math.hypot(dx, dy)
            v = sp.surge_mps if sp.mask & USE_PATH else 0.5
            move = min(d, v * dt)
            if d > 1e-9:
                self.x += dx / d * move
                self.y += dy / d * move
                self.yaw = math.atan2(dy, dx)        # faces where it goes
        if sp.mask & USE_HEADING:
            self.yaw = sp.heading_rad                # turns on the spot at once
        target = None
        if sp.mask & USE_DEPTH:
            target = sp.depth_m
        elif sp.mask & USE_ALTITUDE:
            target = WATER_DEPTH - sp.altitude_m
        if target is not None:
            dz = target - self.depth
            self.depth += math.copysign(min(abs(dz), 0.3 * dt), dz)


def fly(run, veh, t0=0.0, dt=0.5, t_max=20000.0, on_tick=None):
    t = t0
    run.start(t, veh.state(t))
    feedback = []
    while not run.done and t < t_max:
        sp = run.update(t, veh.state(t))
        feedback.append(run.feedback(t))
        if on_tick:
            on_tick(t, run, veh)
        veh.step(sp, dt)
        t += dt
    return t, feedback


@pytest.fixture(scope='module')
def example():
    r = validate_file(EXAMPLE)
    assert r.ok
    return r


def test_example_runs_to_success_with_monotonic_progress(example):
    run = MissionExecution(example.mission, example.plan)
    veh = KinematicVehicle()
    t, fb = fly(run, veh)
    assert run.outcome is Outcome.SUCCEEDED, run.reason
    assert run.steps_completed == 4
    assert veh.depth <= 0.3
    progress = [f.progress for f in fb]
    assert all(b >= a - 1e-9 for a, b in zip(progress, progress[1:], strict=False))
    assert progress[0] < 0.05 and run.feedback(t).progress == 1.0
    etas = [f.eta_s for f in fb]
    assert etas[0] == pytest.approx(example.plan.duration_s, rel=0.05)
    assert any('survey line 10/' in f.step_name for f in fb)
    assert any(f.state == 'holding' for f in fb)              # the hover_photo leg
    # the kinematic vehicle is faster than the estimate (no turns): finishes within it
    assert t < example.plan.duration_s * 1.2


def test_pause_holds_position_and_does_not_run_the_leg_timer(example):
    run = MissionExecution(example.mission, example.plan,
                           ExecConfig(timeout_factor=1.0, timeout_margin_s=5.0))
    veh = KinematicVehicle()
    run.start(0.0, veh.state(0.0))
    sp = run.update(0.0, veh.state(0.0))
    veh.step(sp, 1.0)
    assert run.pause(1.0) and not run.pause(1.0)
    for k in range(1, 500):          # a long pause: far beyond the leg's timeout
        t = 1.0 + k
        sp = run.update(t, veh.state(t))
        assert sp.mask == USE_POSITION | USE_DEPTH
        assert run.feedback(t).state == 'paused'
        veh.step(sp, 1.0)
    assert not run.done
    assert run.resume(500.0) and not run.resume(500.0)
    assert run.update(500.0, veh.state(500.0)) is not None and not run.done


def test_cancel_and_safety_abort_are_outcomes(example):
    run = MissionExecution(example.mission, example.plan)
    run.start(0.0, KinematicVehicle().state(0.0))
    run.cancel(1.0)
    assert run.done and run.outcome is Outcome.CANCELED
    assert run.update(2.0, KinematicVehicle().state(2.0)) is None
    run2 = MissionExecution(example.mission, example.plan)
    run2.start(0.0, KinematicVehicle().state(0.0))
    run2.abort_safety('leak')
    assert run2.outcome is Outcome.ABORTED_SAFETY and 'leak' in run2.reason
    run2.fail('later reasons do not overwrite the first outcome')
    assert run2.outcome is Outcome.ABORTED_SAFETY
    run3 = MissionExecution(example.mission, example.plan)
    run3.start(0.0, KinematicVehicle().state(0.0))
    run3.fail('the pilot took control (MANUAL mode)')
    assert run3.outcome is Outcome.FAILED and run3.done


def test_stuck_vehicle_fails_the_leg_with_a_reason(example):
    run = MissionExecution(example.mission, example.plan,
                           ExecConfig(timeout_factor=1.5, timeout_margin_s=10.0))
    veh = KinematicVehicle()
    veh.frozen = True
    fly(run, veh)
    assert run.outcome is Outcome.FAILED
    assert 'not completed in' in run.reason and 'goto' in run.reason


def test_lost_odometry_fails(example):
    run = MissionExecution(example.mission, example.plan, ExecConfig(odometry_timeout_s=2.0))
    run.start(0.0, VehicleState(0.0, 0.0, 0.0, 0.0))
    assert run.update(1.0, None) is not None
    assert run.update(3.5, None) is None
    assert run.outcome is Outcome.FAILED and 'no odometry' in run.reason


def test_line_completes_despite_cross_track_offset():
    text = """
mission: line
vehicle: hover_auv
limits: {max_depth: 25, min_altitude: 1, max_duration: 3600, battery_reserve: 0.2,
         geofence: [{x: -100, y: -100}, {x: 100, y: -100}, {x: 100, y: 100}, {x: -100, y: 100}]}
steps:
  - survey: {polygon: [{x: 0, y: 0}, {x: 20, y: 0}, {x: 20, y: 2}, {x: 0, y: 2}],
             altitude: 2, spacing: 4}
"""
    r = validate_text(text)
    assert r.ok, r.lines()
    run = MissionExecution(r.mission, r.plan)
    leg_line = next(i for i, leg in enumerate(r.plan.legs) if leg.kind == 'line')
    run.start(0.0, VehicleState(0.0, 0.0, 1.0, 0.0, 18.0))
    run.leg_index = leg_line
    run._begin_leg(0.0, VehicleState(0.0, 0.0, 1.0, 0.0, 18.0))
    end = r.plan.legs[leg_line].end
    # 1.5 m to the side of the line end: beyond the 1 m acceptance radius, but past the end
    run.update(1.0, VehicleState(1.0, end[0], end[1] + 1.5, 18.0, 2.0))
    assert run.done and run.outcome is Outcome.SUCCEEDED


def test_front_end_misuse_raises(example):
    run = MissionExecution(example.mission, example.plan)
    with pytest.raises(ExecutionError, match='before start'):
        run.update(0.0, None)
    run.start(0.0, None)
    with pytest.raises(ExecutionError, match='twice'):
        run.start(0.0, None)
    with pytest.raises(ValueError, match='acceptance_radius_m'):
        ExecConfig(acceptance_radius_m=0.0)
