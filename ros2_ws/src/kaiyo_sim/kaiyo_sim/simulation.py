"""The simulation core: vehicles in a world, thrusters, physics, sensors, faults (pure).

    sim = Simulation(load_world('hiratsuka_tower'), ['hover_auv', 'wave_boat'], seed=1)
    sim.set_command('hover_auv', ['surge_l', 'surge_r'], [20.0, 20.0])   # -> CommandResult
    outputs = sim.step()            # advance one physics step; sensor outputs that fell due
    for out in outputs: out.vehicle, out.kind, out.time_s, out.reading
    sim.inject_fault(FaultRequest('hover_auv', 'dvl_dropout'))          # -> FaultResult

Forces each step: thrusters (lag, saturation, failures) through the allocation matrix; the
world current at the vehicle's depth plus, below the surface, the wave orbital velocity and
its inertia force; the wave boat's hull, foil and rudder forces; the Fossen hydrodynamics in
the physics back-end.

Time is the simulation's own (`sim.time_s`); the ROS node decides how fast to advance it
(lockstep, real time x factor, or flat out) and publishes /clock. Every random draw
(sensor noise, camera grain, waves, scene) comes from generators seeded from `seed`, so the
same seed, world and command sequence give the same run.

Output kinds: imu, pressure (PressureReading, also the depth), dvl, altimeter, gps, battery,
leak (bool), thrusters, camera (Frame), truth (VehicleState, for /sim/<vehicle>/odometry).
"""
from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kaiyo_common.vehicles import VehicleParams, load_vehicle
from kaiyo_sim import sensors as sn
from kaiyo_sim.fossen import ThrusterBank, VehicleState
from kaiyo_sim.physics import make_physics
from kaiyo_sim.waves import Sea, WaveBoatHull
from kaiyo_sim.world import SeabedScene, World

FAULTS = ('leak', 'thruster_failure', 'gps_loss', 'dvl_dropout', 'frozen_sensor',
          'comms_loss', 'battery_drain')
FREEZABLE = ('imu', 'pressure', 'dvl', 'altimeter', 'gps', 'camera')


class SimulationError(ValueError):
    """Bad simulation set-up (unknown vehicle file, bad rate, bad step)."""


class CommandResult(enum.Enum):
    ACCEPTED = 'accepted'
    UNKNOWN_VEHICLE = 'unknown vehicle'
    UNKNOWN_NAME = 'unknown thruster name'
    BAD_LENGTH = 'names and values differ in length'
    BAD_VALUE = 'non-finite value'
    COMMS_LOST = 'dropped: comms_loss fault active'


@dataclass
class FaultRequest:
    vehicle: str
    fault: str
    target: str = ''
    magnitude: float = 0.0
    duration_s: float = 0.0
    clear: bool = False


@dataclass
class FaultResult:
    success: bool
    message: str


@dataclass
class ActiveFault:
    fault: str
    target: str
    magnitude: float
    until_s: float               # inf: until cleared


@dataclass
class SensorOutput:
    vehicle: str
    kind: str
    time_s: float
    reading: Any


@dataclass
class SimVehicle:
    name: str
    params: VehicleParams
    bank: ThrusterBank
    battery: sn.BatteryModel
    rng: np.random.Generator
    hull: WaveBoatHull | None = None
    rudder_command_deg: float = 0.0
    faults: dict = field(default_factory=dict)      # (fault, target) -> ActiveFault
    next_due: dict = field(default_factory=dict)    # sensor -> sim time s
    last: dict = field(default_factory=dict)        # sensor -> last reading (frozen faults)
    camera: Any = None
    harvest_w: float = 0.0
    allocation: np.ndarray = None                   # 6 x N, cached from params
    fluid: Any = None                               # the physics' FossenModel of this vehicle

    def __post_init__(self) -> None:
        self.allocation = self.params.allocation_matrix()

    def has_fault(self, fault: str, target: str = '') -> bool:
        return (fault, target) in self.faults


class Simulation:
    """See the module docstring. `camera`: True (every vehicle with a camera), False, or a
    list of the vehicle names whose cameras render."""

    def __init__(self, world: World, vehicles, seed: int = 0, dt: float = 0.02,
                 backend: str = 'mujoco', camera=True, camera_scale: float = 1.0,
                 truth_rate_hz: float = 50.0, start: dict | None = None,
                 scene: SeabedScene | None = None, waves_below_surface: bool = True):
        if not (math.isfinite(dt) and 0 < dt <= 0.05):
            raise SimulationError(f'dt {dt!r} s must be in (0, 0.05]')
        if not truth_rate_hz > 0:
            raise SimulationError(f'truth_rate_hz {truth_rate_hz!r} must be > 0')
        names = list(vehicles)
        if not names:
            raise SimulationError('no vehicles given')
        if len(set(names)) != len(names):
            raise SimulationError(f'duplicate vehicle names in {names}')
        self.world, self.dt, self.seed = world, dt, int(seed)
        self.time_s = 0.0
        self.steps = 0
        self.sea = Sea(world.sea_state)
        self.waves_below_surface = waves_below_surface and world.sea_state.hs_m > 0
        self.scene = scene
        want_camera = camera
        self.vehicles: dict[str, SimVehicle] = {}
        physics_list = []
        seeds = np.random.SeedSequence(self.seed).spawn(len(names) + 1)
        for i, name in enumerate(names):
            base = name.rstrip('0123456789')        # hover_auv2 uses hover_auv.yaml
            params = load_vehicle(base)
            pose = (start or {}).get(name) or world.start.get(name)
            shift = 0.0
            if pose is None:
                # hover_auv2 starts 5 m east of hover_auv (per suffix number), not inside it
                pose = world.start.get(base) or (0.0, 0.0, 0.0 if params.kind == 'surface'
                                                  else 2.0, 0.0)
                suffix = name[len(base):]
                shift = 5.0 * int(suffix) if suffix else 0.0
            e, n, depth, heading = (float(v) for v in pose)
            e += shift
            state = VehicleState.at_rest([e, n, -depth], math.radians(90.0 - heading))
            v = SimVehicle(name, params, ThrusterBank(params.thrusters),
                           sn.BatteryModel(params.battery), np.random.default_rng(seeds[i]))
            if params.kind == 'surface':
                v.hull = WaveBoatHull(params.surface, params.mass_kg,
                                      float(params.collision_box_m[2]), world.density_kg_m3)
            for s in params.sensors:
                v.next_due[s] = 0.0
            v.next_due['truth'] = 0.0
            if params.camera is not None and (want_camera is True or (
                    not isinstance(want_camera, bool) and name in want_camera)):
                from kaiyo_sim.camera import UnderwaterCamera  # OpenCV only when rendering
                if self.scene is None:
                    self.scene = world.build_scene()
                v.camera = UnderwaterCamera(params.camera, world, self.scene, camera_scale,
                                            seed=int(seeds[i].generate_state(1)[0]))
                v.next_due['camera'] = 0.0
            self.vehicles[name] = v
            physics_list.append((name, params, state))
        self.truth_period = 1.0 / truth_rate_hz
        self.physics = make_physics(backend, world, physics_list, dt, world.density_kg_m3)
        for name, v in self.vehicles.items():
            v.fluid = self.physics.models[name]      # its FossenModel, for wave loads
        self.backend = backend

    # -- commands and faults ---------------------------------------------------------------
    def set_command(self, vehicle: str, names, values) -> CommandResult:
        v = self.vehicles.get(vehicle)
        if v is None:
            return CommandResult.UNKNOWN_VEHICLE
        if v.has_fault('comms_loss'):
            return CommandResult.COMMS_LOST
        names, values = list(names), list(values)
        if len(names) != len(values):
            return CommandResult.BAD_LENGTH
        if not all(math.isfinite(float(x)) for x in values):
            return CommandResult.BAD_VALUE
        index = {n: i for i, n in enumerate(v.bank.names)}
        rudder = v.params.surface.rudder_name if v.params.surface else None
        if any(n not in index and n != rudder for n in names):
            return CommandResult.UNKNOWN_NAME
        cmd = v.bank.command_n.copy()
        for n, x in zip(names, values, strict=True):
            if n == rudder:
                v.rudder_command_deg = float(x)
            else:
                cmd[index[n]] = float(x)
        v.bank.set_command(cmd)
        return CommandResult.ACCEPTED

    def inject_fault(self, req: FaultRequest) -> FaultResult:
        v = self.vehicles.get(req.vehicle)
        if v is None:
            return FaultResult(False, f'unknown vehicle {req.vehicle!r}; simulated: '
                                      f'{", ".join(self.vehicles)}')
        if req.fault not in FAULTS:
            return FaultResult(False, f'unknown fault {req.fault!r}; one of {", ".join(FAULTS)}')
        if not (math.isfinite(req.duration_s) and req.duration_s >= 0):
            return FaultResult(False, f'duration_s {req.duration_s!r} must be >= 0')
        target = ''
        if req.fault == 'thruster_failure':
            names = v.bank.names
            t = req.target.strip()
            if t.isdigit() and int(t) < len(names):
                t = names[int(t)]
            if t not in names:
                return FaultResult(False, f'{req.vehicle} has no thruster {req.target!r}; '
                                          f'thrusters: {", ".join(names)} '
                                          f'(or index 0..{len(names) - 1})')
            target = t
            if not req.clear and not 0.0 <= req.magnitude <= 1.0:
                return FaultResult(False, f'thruster_failure magnitude {req.magnitude} is the '
                                          'remaining fraction of thrust and must be in 0..1')
        elif req.fault == 'frozen_sensor':
            if req.target not in FREEZABLE:
                return FaultResult(False, f'frozen_sensor target {req.target!r} must be one of '
                                          f'{", ".join(FREEZABLE)}')
            have = set(v.params.sensors) | ({'camera'} if v.camera else set())
            if req.target not in have:
                return FaultResult(False, f'{req.vehicle} has no {req.target} sensor')
            target = req.target
        elif req.fault == 'battery_drain' and not req.clear and not req.magnitude > 0:
            return FaultResult(False, f'battery_drain magnitude {req.magnitude} W must be > 0')
        key = (req.fault, target)
        if req.clear:
            if key not in v.faults:
                return FaultResult(False, f'no active {req.fault} {target} fault on {req.vehicle}')
            self._clear(v, key)
            what = f'{req.fault} {target}'.strip()
            return FaultResult(True, f'cleared {what} on {req.vehicle}')
        until = self.time_s + req.duration_s if req.duration_s > 0 else math.inf
        v.faults[key] = ActiveFault(req.fault, target, req.magnitude, until)
        if req.fault == 'thruster_failure':
            v.bank.health[v.bank.names.index(target)] = req.magnitude
        elif req.fault == 'battery_drain':
            v.battery.extra_drain_w = req.magnitude
        how = f'for {req.duration_s:g} s' if req.duration_s > 0 else 'until cleared'
        return FaultResult(True, f'{req.fault} {target} on {req.vehicle} {how}'.replace('  ', ' '))

    def _clear(self, v: SimVehicle, key) -> None:
        fault, target = key
        v.faults.pop(key, None)
        if fault == 'thruster_failure':
            v.bank.health[v.bank.names.index(target)] = 1.0
        elif fault == 'battery_drain':
            v.battery.extra_drain_w = 0.0

    def comms_lost(self, vehicle: str) -> bool:
        return self.vehicles[vehicle].has_fault('comms_loss')

    # -- stepping --------------------------------------------------------------------------
    def state(self, vehicle: str) -> VehicleState:
        return self.physics.state(vehicle)

    def step(self) -> list[SensorOutput]:
        dt = self.dt
        wrenches, currents = {}, {}
        t = self.time_s
        for name, v in self.vehicles.items():
            s = self.physics.state(name)
            for key, f in list(v.faults.items()):
                if t >= f.until_s:
                    self._clear(v, key)
            thrust = v.bank.step(dt)
            tau = v.allocation @ thrust if len(thrust) else np.zeros(6)
            currents[name] = self.world.current_at(s.position, t)
            if v.hull is None and self.waves_below_surface:
                # wave orbital motion: part of the water velocity the vehicle moves through,
                # and its acceleration pushes (Froude-Krylov + added mass)
                depth = self.world.bathymetry.depth(float(s.position[0]), float(s.position[1]))
                u_w, a_w = self.sea.orbital(s.position[0], s.position[1], s.position[2], t,
                                            depth)
                currents[name] = currents[name] + u_w
                tau = tau + v.fluid.fluid_inertia_wrench(s.position, s.rotation(), a_w)
            if v.hull is not None:
                v.hull.step_rudder(v.rudder_command_deg, dt)
                hf = v.hull.forces(s.position, s.rotation(), s.velocity, self.sea, t,
                                   currents[name])
                v.harvest_w = hf.harvest_w
                if self.backend == 'numpy':
                    # RK4 re-evaluates the wave forces at each stage
                    hull, sea, cur = v.hull, self.sea, currents[name]
                    wrenches[name] = (lambda p, r, nu, tt, tau=tau, hull=hull, sea=sea, cur=cur:
                                      tau + hull.forces(p, r, nu, sea, tt, cur).wrench)
                else:   # MuJoCo holds applied forces over its step: reuse this evaluation
                    wrenches[name] = tau + hf.wrench
            else:
                wrenches[name] = tau
            v.battery.step(v.bank.electrical_power_w(v.params.battery.thrust_power_coeff),
                           v.harvest_w, dt)
        self.physics.step(wrenches, currents)
        self.steps += 1
        self.time_s = self.steps * self.dt
        out: list[SensorOutput] = []
        for v in self.vehicles.values():
            self._sample(v, out)
        return out

    def _sample(self, v: SimVehicle, out: list) -> None:
        t = self.time_s
        state = None
        for sensor, due in v.next_due.items():
            if t + 1e-9 < due:
                continue
            if state is None:
                state = self.physics.state(v.name)
            if sensor == 'truth':
                period = self.truth_period
            elif sensor == 'camera':
                period = 1.0 / v.params.camera.rate_hz
            else:
                period = 1.0 / v.params.sensors[sensor].rate_hz
            v.next_due[sensor] = due + period
            if v.has_fault('frozen_sensor', sensor) and sensor in v.last:
                reading = v.last[sensor]
            else:
                reading = self._read(v, sensor, state)
                if reading is None:
                    continue
                v.last[sensor] = reading
            out.append(SensorOutput(v.name, sensor, t, reading))

    def _read(self, v: SimVehicle, sensor: str, state: VehicleState):
        p, w = v.params, self.world
        if sensor == 'truth':
            return state
        if sensor == 'camera':
            return v.camera.render(state.position, state.rotation(), self.time_s)
        spec = p.sensors[sensor]
        if sensor == 'imu':
            return sn.imu_reading(spec, state, self.physics.nu_dot(v.name), v.rng)
        if sensor == 'pressure':
            return sn.pressure_reading(spec, state, w.density_kg_m3, w.atmospheric_pressure_pa,
                                       v.rng)
        if sensor == 'dvl':
            if v.has_fault('dvl_dropout'):
                return sn.DvlReading(np.full(3, np.nan), False, math.nan, [False] * 4,
                                     [math.nan] * 4, spec.noise_std)
            return sn.dvl_reading(spec, state, w.bathymetry, v.rng)
        if sensor == 'altimeter':
            return sn.altimeter_reading(spec, state, w.bathymetry, v.rng)
        if sensor == 'gps':
            if v.has_fault('gps_loss'):
                return sn.GpsReading(False, math.nan, math.nan, math.nan, spec.noise_std)
            return sn.gps_reading(spec, state, w.datum, v.rng)
        if sensor == 'battery':
            return v.battery.reading()
        if sensor == 'leak':
            return v.has_fault('leak')
        if sensor == 'thrusters':
            return sn.thruster_reading(v.bank.names, v.bank.thrust_n, v.bank.health,
                                       v.battery.voltage(), p.battery.thrust_power_coeff)
        return None   # a sensor kind this simulator does not model: ignored
