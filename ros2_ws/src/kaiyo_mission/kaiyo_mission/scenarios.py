"""Seeded fault scenarios: the simulator, controller, executor and supervisor in lockstep.

This is an integration harness, not a pure core: it imports the simulator core
(kaiyo_sim.simulation) and the controller core (kaiyo_control.vehicle_controller) and wires
them to this package's executor state machine and supervisor rules exactly as the nodes do
over ROS, but in one process, stepped together in simulation time. That makes every run
deterministic for a seed and ~30x faster than real time, so the suite fits in CI.

What is (and is not) simulated
- physics, thrusters, sensors, battery and faults: kaiyo_sim (numpy backend, no camera);
- control: kaiyo_control's VehicleController with its params file, fed the sim's truth pose
  as the estimate (navigation is out of scope here);
- executor: MissionExecution at 10 Hz, setpoints to the controller; it aborts when the
  controller leaves AUTO (as the node does);
- supervisor: Supervisor at 20 Hz on the sensor outputs, a 10 Hz station heartbeat (cut
  while the sim's comms_loss fault is active) and a 10 Hz vehicle status; its latched action
  is requested from the controller like set_control_mode would be. The scenarios use
  watchdog timeouts of 0.8 s (the at-sea defaults are 5 s / 3 s; a watchdog reacts at its
  timeout, so those react correspondingly later).

Scoring
- reaction time = time of the expected rule's first event - onset, where onset is when the
  fault's condition became true in the simulated truth (injection time for leak, thruster,
  sensor, comms and status faults; the true crossing for depth, altitude, fence and battery;
  start + max_duration for the timeout). Goal: <= 1 s.
- final state: surfaced (depth < 0.5 m), holding (speed < 0.15 m/s over the last 10 s), or
  at the datum (within 5 m, at the surface), as the rule's action says.
- nominal surveys: executor SUCCEEDED and >= 95 % of the planned line length passed within
  half a line spacing (horizontally) by the vehicle.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from kaiyo_common.frames import rpy_from_quat
from kaiyo_common.paths import data_path
from kaiyo_common.vehicles import load_vehicle
from kaiyo_mission import geometry
from kaiyo_mission.execution import ExecConfig, MissionExecution, Outcome, VehicleState
from kaiyo_mission.planner import cruise_power_w, vertical_power_w
from kaiyo_mission.safety import (
    Action,
    MissionLimits,
    SensorWatch,
    Supervisor,
    SupervisorConfig,
    altitude_from_altimeter,
)
from kaiyo_mission.validator import validate_text

MODE_AUTO, MODE_HOLD, MODE_SURFACE, MODE_RETURN = 2, 3, 4, 5
_MODE_FOR = {Action.HOLD: MODE_HOLD, Action.SURFACE: MODE_SURFACE, Action.RETURN: MODE_RETURN}
REACTION_GOAL_S = 1.0
COVERAGE_GOAL = 0.95
WATCHDOG_TIMEOUT_S = 0.8
SUPERVISOR_PERIOD_S = 0.05    # the supervisor node's default rate_hz 20


class ScenarioError(RuntimeError):
    """The scenario could not be set up (a missing simulator, controller or config)."""


@dataclass(frozen=True)
class Scenario:
    name: str
    vehicle: str
    mission: str                    # mission YAML text
    expect_rule: str | None = None  # None: nominal
    expect_final: str = 'completed'  # completed | surfaced | holding | at_datum
    fault: dict | None = None       # kaiyo_sim FaultRequest fields, or {'fault': 'status_loss'}
    fault_at_s: float = 30.0        # s of sim time
    supervisor: dict = field(default_factory=dict)   # SupervisorConfig overrides
    max_time_s: float = 900.0
    seed: int = 1


@dataclass
class ScenarioResult:
    name: str
    vehicle: str
    rule: str | None
    passed: bool
    reaction_s: float | None        # event time - onset, s of sim time
    final_state: str                # what the vehicle ended as
    expected_final: str
    coverage: float | None          # nominal surveys: fraction of planned lines covered
    outcome: str                    # executor outcome
    sim_time_s: float
    events: list
    notes: str = ''

    def to_dict(self) -> dict:
        return asdict(self)


def _fence(half: float) -> str:
    return (f'[{{x: {-half}, y: {-half}}}, {{x: {half}, y: {-half}}}, {{x: {half}, y: {half}}}, '
            f'{{x: {-half}, y: {half}}}]')


def _survey_mission(vehicle: str, comms: str = 'surface', max_duration: float = 1800,
                    extra: str = '', survey: str | None = None) -> str:
    if survey is None:
        survey = ('  - survey: {polygon: [{x: 0, y: 0}, {x: 14, y: 0}, {x: 14, y: 8}, '
                  '{x: 0, y: 8}], altitude: 2.0, speed: 0.4, overlap: 0.3}\n')
    return (f'mission: scenario-{vehicle}\nvehicle: {vehicle}\n'
            f'limits: {{max_depth: 25, min_altitude: 0.8, max_duration: {max_duration}, '
            f'battery_reserve: 0.2,\n         geofence: {_fence(150)}}}\n'
            f'on_comms_loss: {comms}\nsteps:\n'
            f'  - goto: {{x: 0, y: 0, depth: 4}}\n' + survey + extra + '  - surface: {}\n')


def default_suite() -> list[Scenario]:
    """One nominal survey per vehicle and one scenario per supervisor rule."""
    auv = 'hover_auv'
    boat_survey = ('  - survey: {polygon: [{x: -30, y: 20}, {x: 30, y: 20}, {x: 30, y: 40}, '
                   '{x: -30, y: 40}], depth: 0, spacing: 10, speed: 0.5, heading: 90,\n'
                   '              run_in: 20}   # m: the boat turns wide, it needs a long run-in\n')
    boat = ('mission: scenario-wave_boat\nvehicle: wave_boat\n'
            'limits: {max_depth: 1, min_altitude: 0, max_duration: 3600, battery_reserve: 0.2,\n'
            f'         geofence: {_fence(150)}}}\non_comms_loss: hold\nsteps:\n' + boat_survey)
    long_goto = _survey_mission(auv, extra='  - goto: {x: 60, y: 0, depth: 4}\n')
    return [
        Scenario('nominal_hover_auv', auv, _survey_mission(auv)),
        Scenario('nominal_camera_robot', 'camera_robot', _survey_mission('camera_robot')),
        Scenario('nominal_wave_boat', 'wave_boat', boat, max_time_s=2400),
        Scenario('leak', auv, _survey_mission(auv), 'leak', 'surfaced', {'fault': 'leak'}),
        Scenario('thruster_fault', auv, _survey_mission(auv), 'thruster_fault', 'surfaced',
                 {'fault': 'thruster_failure', 'target': 'surge_l', 'magnitude': 0.0}),
        Scenario('stale_sensor', auv, _survey_mission(auv), 'stale_sensor', 'surfaced',
                 {'fault': 'dvl_dropout'}),
        Scenario('frozen_sensor', auv, _survey_mission(auv), 'frozen_sensor', 'surfaced',
                 {'fault': 'frozen_sensor', 'target': 'altimeter'}),
        Scenario('comms_loss', auv, _survey_mission(auv, comms='hold'), 'comms_loss',
                 'holding', {'fault': 'comms_loss', 'duration_s': 5.0}),
        Scenario('heartbeat_loss', auv, _survey_mission(auv), 'heartbeat_loss', 'surfaced',
                 {'fault': 'status_loss'}),
        Scenario('battery_to_home', auv, long_goto, 'battery_to_home', 'at_datum',
                 {'fault': 'battery_drain', 'magnitude': 20000.0}, fault_at_s=40.0),
        # the mission stays within its own limits; the supervisor's standing limits are
        # tighter: it must stop the vehicle even though the executor thinks all is well
        Scenario('max_depth', auv, _survey_mission(
            auv, extra='  - goto: {x: 5, y: 5, depth: 9}\n'), 'max_depth', 'surfaced',
            None, supervisor={'max_depth_m': 7.0}),
        Scenario('min_altitude', auv, _survey_mission(auv, survey=(
            '  - survey: {polygon: [{x: 0, y: 0}, {x: 14, y: 0}, {x: 14, y: 8}, {x: 0, y: 8}],'
            ' altitude: 1.0, speed: 0.4, overlap: 0.3}\n')), 'min_altitude', 'surfaced',
            None, supervisor={'min_altitude_m': 1.5}),
        Scenario('geofence', auv, long_goto, 'geofence', 'at_datum', None,
                 supervisor={'geofence_xy': [(-40.0, -40.0), (40.0, -40.0), (40.0, 40.0),
                                             (-40.0, 40.0)]}),
        Scenario('mission_timeout', auv, _survey_mission(auv, max_duration=-1),
                 'mission_timeout', 'surfaced',
                 {'fault': 'thruster_failure', 'target': 'surge_r', 'magnitude': 0.15},
                 fault_at_s=5.0),
    ]


class _Runner:
    def __init__(self, sc: Scenario):
        try:
            from kaiyo_control.control_params import config_from_file
            from kaiyo_control.vehicle_controller import Estimate, VehicleController
            from kaiyo_sim.simulation import FaultRequest, Simulation
            from kaiyo_sim.world import load_world
        except ImportError as err:
            raise ScenarioError(f'simulator or controller core not importable: {err}') from None
        self.Estimate, self.FaultRequest = Estimate, FaultRequest
        self.sc = sc
        self.vp = load_vehicle(sc.vehicle)
        cfg_path = data_path('ros2_ws', 'src', 'kaiyo_control', 'config', f'{sc.vehicle}.yaml')
        if not cfg_path.exists():
            raise ScenarioError(f'no controller params file {cfg_path}')
        self.world = load_world('hiratsuka_tower')
        text = sc.mission
        if 'max_duration: -1' in text:
            # mission_timeout: the limit is set to 1.05 x the mission's own estimate, so it
            # validates, and a degraded thruster makes the vehicle too slow to finish in time
            probe = validate_text(text.replace('max_duration: -1', 'max_duration: 100000'))
            text = text.replace('max_duration: -1',
                                f'max_duration: {probe.plan.duration_s * 1.05:.0f}')
        report = validate_text(text, f'{sc.name}.yaml')
        if not report.ok:
            raise ScenarioError('scenario mission invalid: ' + '; '.join(report.lines()))
        self.report = report
        self.sim = Simulation(self.world, [sc.vehicle], seed=sc.seed, camera=False,
                              backend='numpy')
        self.ctl = VehicleController(self.vp, config_from_file(cfg_path))
        self.run = MissionExecution(report.mission, report.plan,
                                    ExecConfig(timeout_margin_s=120.0))
        sup_kw = dict(
            vehicle=sc.vehicle, max_depth_m=self.vp.max_depth_m, min_altitude_m=0.5,
            battery_capacity_wh=self.vp.battery.capacity_wh, battery_reserve=0.2,
            return_speed_mps=self.vp.nominal_speed_mps,
            return_power_w=cruise_power_w(self.vp, self.vp.nominal_speed_mps, False),
            ascent_power_w=vertical_power_w(self.vp),
            heartbeat_timeout_s=WATCHDOG_TIMEOUT_S, status_timeout_s=WATCHDOG_TIMEOUT_S,
            sensors=self._watches())
        if self.vp.kind == 'surface':
            sup_kw['min_altitude_m'] = 0.0
            from kaiyo_mission.safety import DEFAULT_ACTIONS
            sup_kw['actions'] = {r: Action.HOLD if a is Action.SURFACE else a
                                 for r, a in DEFAULT_ACTIONS.items()}
        sup_kw.update(sc.supervisor)
        self.sup = Supervisor(SupervisorConfig(**sup_kw))
        m = report.mission
        on_loss = {'surface': Action.SURFACE, 'hold': Action.HOLD,
                   'return': Action.RETURN}[m.on_comms_loss]
        if self.vp.kind == 'surface' and on_loss is Action.SURFACE:
            on_loss = Action.HOLD
        self.limits = MissionLimits(m.limits.max_depth, m.limits.min_altitude,
                                    m.limits.geofence_xy, m.limits.max_duration,
                                    m.limits.battery_reserve, on_loss)
        self.track: list[tuple[float, float, float, float]] = []   # t, x, y, depth
        self.events = []
        self.seen_auto = False
        self.battery = 1.0

    def _watches(self) -> list[SensorWatch]:
        out = []
        for name in ('imu', 'pressure', 'dvl', 'altimeter'):
            spec = self.vp.sensors.get(name)
            if spec is not None:
                period = 1.0 / spec.rate_hz
                out.append(SensorWatch(name, max(0.5, 3 * period), max(0.5, 3 * period), 4))
        return out

    def estimate(self, t):
        s = self.sim.state(self.sc.vehicle)
        return s, self.Estimate(t, s.position.copy(), np.array(rpy_from_quat(s.quaternion)),
                                s.velocity.copy())

    def true_altitude(self, s) -> float:
        return float(self.world.bathymetry.depth(float(s.position[0]), float(s.position[1]))) \
            + float(s.position[2])

    def execute(self) -> ScenarioResult:
        sc, sim, sup, ctl, run = self.sc, self.sim, self.sup, self.ctl, self.run
        v = sc.vehicle
        s, est = self.estimate(0.0)
        res = ctl.request_mode(MODE_AUTO, True, 0.0, est)
        if not res.success:
            raise ScenarioError(f'controller refused AUTO: {res.message}')
        run.start(0.0, VehicleState(0.0, *s.position[:2], -s.position[2]))
        sup.set_mission(0.0, self.limits, run.mission.name)
        fault_done = sc.fault is None
        status_alive = True
        onset = None
        first_event_t = None
        end_t = None
        k = 0
        next_check = 0.0
        while sim.time_s < sc.max_time_s:
            outs = sim.step()
            k += 1
            t = sim.time_s
            s, est = self.estimate(t)
            depth = -float(s.position[2])
            sup.on_position(t, float(s.position[0]), float(s.position[1]), depth)
            if k % 5 == 0:
                self.track.append((t, float(s.position[0]), float(s.position[1]), depth))
            for o in outs:
                self._sensor(t, o)
            # faults
            if not fault_done and t >= sc.fault_at_s:
                fault_done = True
                if sc.fault['fault'] == 'status_loss':
                    status_alive = False
                else:
                    fr = sim.inject_fault(self.FaultRequest(vehicle=v, **sc.fault))
                    if not fr.success:
                        raise ScenarioError(f'fault injection refused: {fr.message}')
                if sc.expect_rule not in ('battery_to_home', 'mission_timeout'):
                    onset = t
            if onset is None and sc.expect_rule is not None:
                onset = self._truth_onset(t, s)
            # 10 Hz: heartbeat, status, executor
            if k % 5 == 0:
                if not sim.comms_lost(v):
                    sup.on_heartbeat(t)
                if status_alive:
                    sup.on_status(t, depth, math.nan, self.battery, False)
                self._executor_tick(t, s)
            # 20 Hz: supervisor (as the node's rate_hz)
            if t >= next_check - 1e-9:
                next_check += SUPERVISOR_PERIOD_S
                for ev in sup.check(t):
                    self.events.append((round(t, 3), ev.rule, ev.subject, ev.action.name.lower()))
                    if first_event_t is None and ev.rule == sc.expect_rule:
                        first_event_t = t
                action = sup.commanded_action()
                mode = _MODE_FOR.get(action)
                if mode is not None and ctl.modes.mode != mode:
                    ctl.request_mode(mode, False, t, est)
            out = ctl.step(t, est)
            sim.set_command(v, self.vp.thruster_names() + (
                [self.vp.surface.rudder_name] if out.rudder_deg is not None and self.vp.surface
                else []), list(out.thrust_n) + ([out.rudder_deg] if out.rudder_deg is not None
                                                 and self.vp.surface else []))
            # end conditions
            if sc.expect_rule is None and run.done:
                break
            if first_event_t is not None:
                end_t = end_t or t
                if self._final_reached(t) or t - end_t > 400.0:
                    # keep 10 s more so "holding" is judged over a window
                    if t - end_t > 15.0 or sc.expect_final != 'holding':
                        if self._final_reached(t):
                            break
        return self._score(onset, first_event_t)

    def _sensor(self, t, o) -> None:
        sup, kind, r = self.sup, o.kind, o.reading
        if kind == 'imu':
            sup.on_sensor(t, 'imu', tuple(np.concatenate([r.quaternion, r.angular_velocity,
                                                          r.linear_acceleration]).tolist()))
        elif kind == 'pressure':
            sup.on_sensor(t, 'pressure', (r.pressure_pa,))
        elif kind == 'dvl':
            if r.velocity_valid and np.all(np.isfinite(r.velocity)):
                sup.on_sensor(t, 'dvl', tuple(r.velocity.tolist()))
        elif kind == 'altimeter':
            ok = math.isfinite(r.range_m) and r.min_range_m <= r.range_m <= r.max_range_m
            spec = self.vp.sensors['altimeter']
            beam = spec.mounting.rotation() @ np.array([1.0, 0.0, 0.0])
            sup.on_altitude(t, altitude_from_altimeter(r.range_m, spec.mounting.position_m, beam)
                            if ok else math.nan)
            if ok:
                sup.on_sensor(t, 'altimeter', (r.range_m,))
                self.ctl.set_altitude(r.range_m, t)
        elif kind == 'battery':
            self.battery = float(r.percentage)
            sup.on_battery(t, self.battery)
        elif kind == 'leak':
            sup.on_leak(t, bool(r))
        elif kind == 'thrusters':
            sup.on_thrusters(t, list(r.names), list(r.ok))

    def _truth_onset(self, t, s) -> float | None:
        rule, c = self.sc.expect_rule, self.sup
        x, y, depth = float(s.position[0]), float(s.position[1]), -float(s.position[2])
        if rule == 'max_depth' and depth > c.max_depth():
            return t
        if rule == 'min_altitude' and depth > 0.5 and self.true_altitude(s) < c.min_altitude():
            return t
        if rule == 'geofence' and any(not geometry.point_in_polygon((x, y), f)
                                      for f in c.fences()):
            return t
        if rule == 'battery_to_home':
            v = self.sim.vehicles[self.sc.vehicle]
            soc = v.battery.reading().percentage
            if (soc - c.reserve()) * c.config.battery_capacity_wh < c.energy_to_home_wh():
                return t
        if rule == 'mission_timeout' and t > self.limits.max_duration_s:
            return t
        return None

    def _executor_tick(self, t, s) -> None:
        run, ctl = self.run, self.ctl
        if run.done:
            return
        mode = int(ctl.modes.mode)
        if mode == MODE_AUTO:
            self.seen_auto = True
        elif self.seen_auto:
            run.abort_safety(f'the vehicle left AUTO for mode {mode}')
            return
        alt = self.true_altitude(s)
        yaw = float(rpy_from_quat(s.quaternion)[2])
        sp = run.update(t, VehicleState(t, float(s.position[0]), float(s.position[1]),
                                        -float(s.position[2]), alt, yaw))
        if run.done:
            if run.outcome is not Outcome.ABORTED_SAFETY:
                ctl.request_mode(MODE_HOLD, False, t, self.estimate(t)[1])
            return
        if sp is not None:
            ctl.set_setpoint(sp)   # executor and controller share kaiyo_common.setpoint

    def _final_reached(self, t) -> bool:
        return self._final_state() == self.sc.expect_final

    def _final_state(self) -> str:
        if not self.track:
            return 'unknown'
        t, x, y, depth = self.track[-1]
        window = [p for p in self.track if p[0] >= t - 10.0]
        moved = max(math.dist(window[0][1:3], p[1:3]) for p in window)
        span = window[-1][0] - window[0][0]
        holding = span >= 9.0 and moved < 1.5 and \
            max(abs(p[3] - window[0][3]) for p in window) < 0.5
        if depth < 0.5 and math.hypot(x, y) < 5.0 and self.sc.expect_final == 'at_datum':
            return 'at_datum'
        if depth < 0.5 and self.sc.expect_final != 'holding':
            return 'surfaced'
        if holding:
            return 'holding'
        return 'moving' if depth >= 0.5 else 'surfaced'

    def coverage_tolerance(self, step_index: int) -> float:
        """A line point is covered when it was in the camera's view: within half the
        footprint width of the track (with an explicit spacing and no footprint, half the
        spacing)."""
        plan = self.report.plan
        step = self.report.mission.steps[step_index]
        spacing = plan.spacing_m.get(step_index, 1.0)
        if step.spacing is None and step.vertical.altitude is not None:
            return spacing / (1.0 - step.overlap) / 2.0
        return spacing / 2.0

    def coverage(self) -> float:
        plan = self.report.plan
        track = np.array([(p[1], p[2]) for p in self.track]) if self.track else np.zeros((0, 2))
        if not len(track) or not plan.lines():
            return 0.0
        covered = total = 0
        for leg in plan.lines():
            tol = self.coverage_tolerance(leg.step_index)
            n = max(2, int((leg.length_m - leg.run_in_m) / 0.25) + 1)
            pts = np.linspace(leg.cover_start, leg.end, n)
            d = np.min(np.linalg.norm(pts[:, None, :] - track[None, :, :], axis=2), axis=1)
            covered += int(np.sum(d <= tol))
            total += n
        return covered / total

    def _score(self, onset, first_event_t) -> ScenarioResult:
        sc, run = self.sc, self.run
        final = self._final_state()
        outcome = run.outcome.name if run.outcome is not None else 'RUNNING'
        if sc.expect_rule is None:
            cov = self.coverage()
            unexpected = [e for e in self.events]
            passed = run.outcome is Outcome.SUCCEEDED and cov >= COVERAGE_GOAL and not unexpected
            notes = run.reason if run.outcome is not Outcome.SUCCEEDED else ''
            if unexpected:
                notes += f' unexpected safety events: {unexpected[:3]}'
            return ScenarioResult(sc.name, sc.vehicle, None, passed, None, 'completed'
                                  if run.outcome is Outcome.SUCCEEDED else final, 'completed',
                                  cov, outcome, self.sim.time_s, self.events, notes.strip())
        reaction = None if first_event_t is None or onset is None else first_event_t - onset
        passed = reaction is not None and reaction <= REACTION_GOAL_S and \
            final == sc.expect_final
        notes = ''
        if first_event_t is None:
            notes = f'{sc.expect_rule} never fired'
        elif onset is None:
            notes = 'the fault condition never became true in the truth'
        return ScenarioResult(sc.name, sc.vehicle, sc.expect_rule, passed, reaction, final,
                              sc.expect_final, None, outcome, self.sim.time_s, self.events,
                              notes)


def run_scenario(sc: Scenario) -> ScenarioResult:
    """Run one scenario to its end; ScenarioError if it cannot be set up."""
    return _Runner(sc).execute()


def run_suite(names: list[str] | None = None) -> list[ScenarioResult]:
    """Run the default suite (or the named scenarios). A scenario that cannot be set up is a
    failed result naming why, never a crash of the whole suite."""
    out = []
    for sc in default_suite():
        if names and sc.name not in names:
            continue
        try:
            out.append(run_scenario(sc))
        except ScenarioError as err:
            out.append(ScenarioResult(sc.name, sc.vehicle, sc.expect_rule, False, None,
                                      'not run', sc.expect_final, None, 'NOT_RUN', 0.0, [],
                                      str(err)))
    return out
