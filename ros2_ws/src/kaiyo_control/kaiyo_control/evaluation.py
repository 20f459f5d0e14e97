"""Closed-loop checks of the controllers in the simulator's vehicle model (pure numpy).

The plant is kaiyo_sim's Fossen 6-DOF model (`FossenModel`, RK4) with its first-order
thruster lag and saturation (`ThrusterBank`), parameterised from the same vehicle YAML the
controller reads; the controller runs at 50 Hz with the gains from
kaiyo_control/config/<vehicle>.yaml (the file the node is started with). The numpy path
agrees with the MuJoCo path within 1 % and runs much faster than real time, so a 10-minute
station-keeping run takes seconds.

Each check returns a `Check`: the measured figure beside its goal, and whether it was met.
The controller sees the true state (the EKF is checked on its own in kaiyo_navigation's
dead-reckoning check); the altimeter reading is simulated by ray-casting the altimeter's
beam onto the seabed plane, with noise.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

import numpy as np

from kaiyo_common.frames import wrap_angle
from kaiyo_common.vehicles import RHO_SEAWATER, VehicleParams, load_vehicle
from kaiyo_control.control_params import ControlConfig, config_from_file
from kaiyo_control.modes import Mode
from kaiyo_control.vehicle_controller import (
    USE_ALTITUDE,
    USE_DEPTH,
    USE_HEADING,
    USE_PATH,
    USE_POSITION,
    USE_SURGE,
    Estimate,
    Setpoint,
    VehicleController,
    altitude_from_range,
)
from kaiyo_sim.fossen import FossenModel, ThrusterBank, VehicleState
from kaiyo_sim.waves import Sea, SeaState, WaveBoatHull

CONTROL_DT = 0.02          # s: the node's 50 Hz
SUBSTEPS = 2               # RK4 steps per control step


@dataclass
class Check:
    name: str
    value: float
    unit: str
    goal: str
    met: bool
    detail: str = ''

    def line(self) -> str:
        mark = 'PASS' if self.met else 'FAIL'
        return f'[{mark}] {self.name}: {self.value:.3f} {self.unit}  (goal {self.goal})' + \
            (f'  {self.detail}' if self.detail else '')

    def to_dict(self) -> dict:
        return asdict(self)


def config_path(vehicle: str) -> Path:
    """config/<vehicle>.yaml: from the source tree when running from the clone, else from
    the installed share directory."""
    src = Path(__file__).resolve().parent.parent / 'config' / f'{vehicle}.yaml'
    if src.exists():
        return src
    from ament_index_python.packages import get_package_share_directory
    return Path(get_package_share_directory('kaiyo_control')) / 'config' / f'{vehicle}.yaml'


def load_config(vehicle: str) -> ControlConfig:
    return config_from_file(config_path(vehicle), vehicle=vehicle)


def rpy_from_quat(q) -> np.ndarray:
    w, x, y, z = q
    roll = math.atan2(2 * (w * x + y * z), 1 - 2 * (x * x + y * y))
    pitch = math.asin(max(-1.0, min(1.0, 2 * (w * y - z * x))))
    yaw = math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))
    return np.array([roll, pitch, yaw])


class ClosedLoop:
    """Controller + thrusters + Fossen model, stepped at the control rate."""

    def __init__(self, vehicle: VehicleParams, cfg: ControlConfig, start: VehicleState,
                 current_enu=(0.0, 0.0, 0.0), sea: Sea | None = None):
        self.vehicle = vehicle
        self.ctrl = VehicleController(vehicle, cfg)
        self.model = FossenModel(vehicle, rho=RHO_SEAWATER)
        self.bank = ThrusterBank(vehicle.thrusters)
        self.b = vehicle.allocation_matrix()
        self.state = start
        self.current = np.asarray(current_enu, dtype=float)
        self.sea = sea
        # surface vessels: hull hydrostatics, foil thrust and rudder from kaiyo_sim.waves
        self.hull = WaveBoatHull(vehicle.surface, vehicle.mass_kg,
                                 float(vehicle.collision_box_m[2])) \
            if vehicle.surface is not None else None
        self.rudder_deg = 0.0
        self.t = 0.0

    def estimate(self) -> Estimate:
        s = self.state
        return Estimate(self.t, s.position.copy(), rpy_from_quat(s.quaternion), s.velocity.copy())

    def arm(self, mode: Mode) -> None:
        res = self.ctrl.request_mode(int(mode), True, self.t, self.estimate())
        if not res.success:
            raise RuntimeError(res.message)

    def step(self) -> None:
        out = self.ctrl.step(self.t, self.estimate())
        self.bank.set_command(out.thrust_n)
        if out.rudder_deg is not None:
            self.rudder_deg = out.rudder_deg
        h = CONTROL_DT / SUBSTEPS
        for _ in range(SUBSTEPS):
            thrust = self.bank.step(h)
            tau = self.b @ thrust
            if self.hull is not None:
                self.hull.step_rudder(self.rudder_deg, h)
                def tau_fn(position, rot, nu, t, base=tau, hull=self.hull, sea=self.sea,
                           cur=self.current):
                    return base + hull.forces(position, rot, nu, sea, t, cur).wrench
                self.state = self.model.step(self.state, tau_fn, self.current, h)
            else:
                self.state = self.model.step(self.state, tau, self.current, h)
        self.t += CONTROL_DT

    def run(self, duration_s: float, each: Callable | None = None) -> None:
        for _ in range(int(round(duration_s / CONTROL_DT))):
            self.step()
            if each is not None:
                each(self)


# -- the checks ------------------------------------------------------------------------------

def depth_step(vehicle: str = 'hover_auv', step_m: float = 2.0, start_depth_m: float = 5.0,
               duration_s: float = 40.0) -> list[Check]:
    params = load_vehicle(vehicle)
    loop = ClosedLoop(params, load_config(vehicle),
                      VehicleState.at_rest((0.0, 0.0, -start_depth_m)))
    loop.arm(Mode.AUTO)
    loop.ctrl.set_setpoint(Setpoint(mask=USE_DEPTH | USE_HEADING, depth_m=start_depth_m,
                                    heading_rad=0.0))
    loop.run(10.0)                                     # settle at the start depth
    target = start_depth_m + step_m
    loop.ctrl.set_setpoint(Setpoint(mask=USE_DEPTH | USE_HEADING, depth_m=target,
                                    heading_rad=0.0))
    t0 = loop.t
    ts, ds = [], []
    loop.run(duration_s, lambda lp: (ts.append(lp.t - t0), ds.append(lp.state.depth_m)))
    ts, ds = np.array(ts), np.array(ds)
    overshoot = max(0.0, float(np.max((ds - start_depth_m) / step_m)) - 1.0) * 100.0
    band = 0.02 * abs(step_m)
    outside = np.flatnonzero(np.abs(ds - target) > band)
    settle = float(ts[outside[-1]]) if outside.size else 0.0
    steady = float(np.max(np.abs(ds[ts > duration_s - 5.0] - target)))
    return [
        Check(f'{vehicle} depth step {step_m:g} m: overshoot', overshoot, '%', '< 10 %',
              overshoot < 10.0),
        Check(f'{vehicle} depth step {step_m:g} m: 2 % settling time', settle, 's', '< 15 s',
              settle < 15.0),
        Check(f'{vehicle} depth step {step_m:g} m: steady error', steady * 100.0, 'cm', '< 5 cm',
              steady < 0.05, 'max |error| over the last 5 s'),
    ]


def heading_step(vehicle: str = 'hover_auv', step_deg: float = 90.0,
                 duration_s: float = 40.0) -> list[Check]:
    params = load_vehicle(vehicle)
    loop = ClosedLoop(params, load_config(vehicle), VehicleState.at_rest((0.0, 0.0, -5.0)))
    loop.arm(Mode.AUTO)
    loop.ctrl.set_setpoint(Setpoint(mask=USE_DEPTH | USE_HEADING, depth_m=5.0, heading_rad=0.0))
    loop.run(5.0)
    target = math.radians(step_deg)
    loop.ctrl.set_setpoint(Setpoint(mask=USE_DEPTH | USE_HEADING, depth_m=5.0,
                                    heading_rad=target))
    t0 = loop.t
    ts, errs = [], []
    loop.run(duration_s, lambda lp: (ts.append(lp.t - t0),
                                     errs.append(wrap_angle(rpy_from_quat(lp.state.quaternion)[2]
                                                            - target))))
    ts, errs = np.array(ts), np.degrees(np.array(errs))
    sign = math.copysign(1.0, step_deg)
    overshoot = max(0.0, float(np.max(errs * sign)))
    steady = float(np.max(np.abs(errs[ts > duration_s - 5.0])))
    return [
        Check(f'{vehicle} heading step {step_deg:g} deg: overshoot', overshoot, 'deg', '< 5 deg',
              overshoot < 5.0),
        Check(f'{vehicle} heading step {step_deg:g} deg: steady error', steady, 'deg', '< 1 deg',
              steady < 1.0, 'max |error| over the last 5 s'),
    ]


class SlopedSeabed:
    """Seabed plane: depth = depth0 + slope * (distance along `direction_rad`)."""

    def __init__(self, depth0_m: float, slope: float, direction_rad: float = 0.0):
        self.d0, self.slope = depth0_m, slope
        self.dir = np.array([math.cos(direction_rad), math.sin(direction_rad)])

    def depth_at(self, xy) -> float:
        return self.d0 + self.slope * float(self.dir @ np.asarray(xy[:2]))

    def altimeter_range(self, position, rot, origin_body, beam_body, max_range: float = 50.0):
        """Ray-cast the beam onto the plane z = -depth(x, y); NaN when no hit."""
        o = position + rot @ origin_body
        d = rot @ beam_body
        # plane: z + d0 + slope * (dir . xy) = 0  -> n . p + d0 = 0, n = (slope dir, 1)
        n = np.array([self.slope * self.dir[0], self.slope * self.dir[1], 1.0])
        denom = float(n @ d)
        if abs(denom) < 1e-9:
            return math.nan
        t = -(float(n @ o) + self.d0) / denom
        return t if 0.0 < t <= max_range else math.nan


def altitude_hold(vehicle: str = 'hover_auv', altitude_m: float = 2.0, slope: float = 0.10,
                  duration_s: float = 120.0, seed: int = 3) -> list[Check]:
    params = load_vehicle(vehicle)
    rng = np.random.default_rng(seed)
    sensor = params.sensors.get('altimeter')
    origin = sensor.mounting.position_m if sensor else np.zeros(3)
    beam = sensor.mounting.rotation() @ np.array([1.0, 0.0, 0.0]) if sensor else \
        np.array([0.0, 0.0, -1.0])
    noise = sensor.noise_std if sensor else 0.01
    period = 1.0 / sensor.rate_hz if sensor else 0.1
    seabed = SlopedSeabed(12.0, slope)        # shoaling... sign set by slope: deeper ahead
    start_depth = seabed.depth_at((0.0, 0.0)) - altitude_m
    loop = ClosedLoop(params, load_config(vehicle), VehicleState.at_rest((0.0, 0.0, -start_depth)))
    loop.arm(Mode.AUTO)
    sp = Setpoint(mask=USE_ALTITUDE | USE_HEADING | USE_SURGE, altitude_m=altitude_m,
                  heading_rad=0.0, surge_mps=params.nominal_speed_mps)
    loop.ctrl.set_setpoint(sp)
    errs, ts = [], []
    next_meas = [0.0]

    def each(lp: ClosedLoop) -> None:
        rot = lp.state.rotation()
        if lp.t >= next_meas[0]:
            next_meas[0] += period
            rng_m = seabed.altimeter_range(lp.state.position, rot, origin, beam)
            if math.isfinite(rng_m):
                alt = altitude_from_range(rng_m + rng.normal(0.0, noise), rot, origin, beam)
                if math.isfinite(alt):
                    lp.ctrl.set_altitude(max(0.0, alt), lp.t)
        true_alt = seabed.depth_at(lp.state.position) - lp.state.depth_m
        ts.append(lp.t)
        errs.append(true_alt - altitude_m)

    loop.run(duration_s, each)
    ts, errs = np.array(ts), np.array(errs)
    window = ts > 20.0                      # after the start-up transient
    rms = float(np.sqrt(np.mean(errs[window] ** 2)))
    travelled = float(np.hypot(*loop.state.position[:2]))
    return [Check(f'{vehicle} altitude hold {altitude_m:g} m over a {slope * 100:g} % slope',
                  rms * 100.0, 'cm RMS', '<= 10 cm RMS', rms <= 0.10,
                  f'{travelled:.0f} m travelled, seabed {slope * travelled:.1f} m deeper')]


def _wave_boat_loop(hs_m: float, current_mps: float, start_xy, yaw: float, seed: int):
    params = load_vehicle('wave_boat')
    # 64 components are plenty for the float's response and 4x cheaper than the default
    sea = Sea(SeaState(hs_m=hs_m, tp_s=6.0, direction_deg=225.0, components=64, seed=seed))
    return ClosedLoop(params, load_config('wave_boat'),
                      VehicleState.at_rest((start_xy[0], start_xy[1], 0.0), yaw_rad=yaw),
                      current_enu=(0.0, current_mps, 0.0), sea=sea)


def wave_boat_los(hs_m: float = 0.5, current_mps: float = 0.3, leg_m: float = 200.0,
                  seed: int = 4) -> list[Check]:
    """200 m leg due east with the current due north (cross); Tp 6 s sea from the SW."""
    loop = _wave_boat_loop(hs_m, current_mps, (0.0, 0.0), 0.0, seed)
    loop.arm(Mode.AUTO)
    loop.ctrl.set_setpoint(Setpoint(mask=USE_PATH, path_start_x=0.0, path_start_y=0.0,
                                    x=leg_m, y=0.0))
    cross = []
    limit = 3.0 * leg_m / 0.2            # give up if slower than 0.067 m/s made good
    while loop.state.position[0] < leg_m and loop.t < limit:
        loop.step()
        cross.append(float(loop.state.position[1]))
    cross = np.array(cross)
    rms = float(np.sqrt(np.mean(cross ** 2)))
    done = loop.state.position[0] >= leg_m
    return [Check(f'wave_boat LOS {leg_m:g} m leg, Hs {hs_m:g} m, {current_mps:g} m/s cross '
                  'current: cross-track', rms, 'm RMS', '< 2 m RMS', rms < 2.0 and done,
                  f'max {np.max(np.abs(cross)):.2f} m, leg took {loop.t:.0f} s'
                  + ('' if done else ', DID NOT FINISH'))]


def wave_boat_station(hs_m: float = 0.5, current_mps: float = 0.3, hold_s: float = 600.0,
                      settle_s: float = 120.0, seed: int = 5) -> list[Check]:
    """Hold (0, 0) in the same sea and cross current: the first settle_s let the current
    estimate converge (not scored), then hold_s are scored."""
    loop = _wave_boat_loop(hs_m, current_mps, (0.0, 0.0), math.pi / 2, seed)
    loop.arm(Mode.AUTO)
    loop.ctrl.set_setpoint(Setpoint(mask=USE_POSITION, x=0.0, y=0.0))
    loop.run(settle_s)
    dist = []
    loop.run(hold_s, lambda lp: dist.append(float(np.hypot(*lp.state.position[:2]))))
    dist = np.array(dist)
    worst = float(np.max(dist))
    return [Check(f'wave_boat station keeping {hold_s / 60:g} min, Hs {hs_m:g} m, '
                  f'{current_mps:g} m/s current: largest distance', worst, 'm', '< 5 m radius',
                  worst < 5.0, f'95th percentile {np.percentile(dist, 95):.2f} m, '
                  f'mean {np.mean(dist):.2f} m, after {settle_s:.0f} s settling')]


ALL_CHECKS = {
    'depth_step': depth_step,
    'heading_step': heading_step,
    'altitude_hold': altitude_hold,
    'camera_robot_depth_step': partial(depth_step, 'camera_robot'),
    'camera_robot_heading_step': partial(heading_step, 'camera_robot'),
    'wave_boat_los': wave_boat_los,
    'wave_boat_station': wave_boat_station,
}


def run_all(names=None) -> list[Check]:
    out: list[Check] = []
    for name, fn in ALL_CHECKS.items():
        if names and name not in names:
            continue
        out.extend(fn())
    return out


__all__ = ['Check', 'ClosedLoop', 'run_all', 'ALL_CHECKS', 'USE_PATH', 'USE_POSITION']
