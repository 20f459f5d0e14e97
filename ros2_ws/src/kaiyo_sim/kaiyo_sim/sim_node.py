"""ROS 2 node around kaiyo_sim.simulation: publishes sensors, truth and /clock, takes thruster
commands, serves /sim/inject_fault.

Time modes (`mode`):
- realtime: sim time follows wall time times `real_time_factor` (1.0 = real time);
- fast: as fast as the machine allows (each timer tick runs steps for `fast_tick_s` of wall
  time, then yields so commands and services are served);
- lockstep: advance `lockstep_period_s` of sim time, then wait until every vehicle has sent a
  thruster command (the controllers saw the new sensor data), then advance again. With
  `lockstep_timeout_s` > 0 the simulator moves on after that much wall time and logs it.

Every vehicle topic lives in its namespace (/hover_auv/imu/data, ...); ground truth and the
camera class mask live under /sim/<vehicle>/. See README.md for the table.
"""
from __future__ import annotations

import math
import time

import numpy as np
from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from nav_msgs.msg import Odometry
from rclpy.node import Node
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import (
    BatteryState,
    CameraInfo,
    FluidPressure,
    Image,
    Imu,
    NavSatFix,
    NavSatStatus,
    Range,
)
from std_msgs.msg import Bool, Float64

from kaiyo_common import qos
from kaiyo_common.frames import quat_to_ros
from kaiyo_common.node_main import run_node
from kaiyo_common.params import ParameterContractError, ParamSpec
from kaiyo_common.ros_params import declare_contract
from kaiyo_common.vehicles import VehicleFileError
from kaiyo_interfaces.msg import DvlVelocity, ThrusterCommand, ThrusterState
from kaiyo_interfaces.srv import InjectFault
from kaiyo_sim.physics import PhysicsError
from kaiyo_sim.simulation import CommandResult, FaultRequest, Simulation, SimulationError
from kaiyo_sim.waves import SeaStateError
from kaiyo_sim.world import WorldError, load_world

SPECS = [
    ParamSpec('world', 'str', 'World name in sim/worlds/ or a path to a world YAML',
              'hiratsuka_tower'),
    ParamSpec('vehicles', 'str[]', 'Vehicles to simulate (names of sim/vehicles/*.yaml; '
              'a numeric suffix adds another of the same kind, e.g. hover_auv2)',
              ['hover_auv', 'camera_robot', 'wave_boat'], min_length=1),
    ParamSpec('seed', 'int', 'Seed of every random draw (sensor noise, camera); same seed, '
              'same run', 0, min_value=0),
    ParamSpec('backend', 'str', 'Physics: mujoco (contacts) or numpy (Fossen only)', 'mujoco',
              choices=('mujoco', 'numpy')),
    ParamSpec('dt_s', 'float', 'Physics time step, s', 0.02, min_value=0.001, max_value=0.05),
    ParamSpec('mode', 'str', 'Time mode: realtime, fast or lockstep', 'realtime',
              choices=('realtime', 'fast', 'lockstep')),
    ParamSpec('real_time_factor', 'float', 'realtime mode: sim seconds per wall second', 1.0,
              min_value=0.01, max_value=1000.0),
    ParamSpec('fast_tick_s', 'float', 'fast mode: wall time spent stepping per timer tick, s',
              0.05, min_value=0.001, max_value=1.0),
    ParamSpec('lockstep_period_s', 'float', 'lockstep mode: sim time advanced per round, s',
              0.1, min_value=0.001, max_value=10.0),
    ParamSpec('lockstep_timeout_s', 'float', 'lockstep mode: wall time to wait for commands '
              'before advancing anyway, s (0: wait forever)', 0.0, min_value=0.0),
    ParamSpec('waves_below_surface', 'bool', 'Submerged vehicles feel the wave orbital '
              'motion (velocity and Froude-Krylov/added-mass inertia), fading with depth', True),
    ParamSpec('camera_enabled', 'bool', 'Render the vehicles\' cameras', True),
    ParamSpec('camera_scale', 'float', 'Camera resolution relative to the vehicle YAML, '
              'e.g. 0.5 renders 640x480 cameras at 320x240', 0.5, min_value=0.05, max_value=2.0),
    ParamSpec('publish_class_mask', 'bool', 'Publish /sim/<vehicle>/camera/class_mask', True),
    ParamSpec('truth_rate_hz', 'float', 'Ground-truth odometry rate, Hz of sim time', 50.0,
              min_value=1.0, max_value=1000.0),
    ParamSpec('clock_rate_hz', 'float', '/clock messages per second of sim time, Hz', 100.0,
              min_value=1.0, max_value=1000.0),
]


def _stamp(t: float) -> Time:
    sec = int(math.floor(t))
    return Time(sec=sec, nanosec=int(round((t - sec) * 1e9)) % 1_000_000_000)


def _nan(x) -> float:
    return float('nan') if x is None else float(x)


class SimNode(Node):
    """Publishes what the vehicles' real drivers would, from the simulation core."""

    def __init__(self, **kwargs):
        super().__init__('kaiyo_sim', **kwargs)
        self.params = declare_contract(self, SPECS)
        p = self.params
        try:
            world = load_world(p.world)
        except (WorldError, SeaStateError) as err:
            raise ParameterContractError('world', p.world, str(err)) from None
        try:
            self.sim = Simulation(world, p.vehicles, seed=p.seed, dt=p.dt_s, backend=p.backend,
                                  camera=p.camera_enabled, camera_scale=p.camera_scale,
                                  truth_rate_hz=p.truth_rate_hz,
                                  waves_below_surface=p.waves_below_surface)
        except VehicleFileError as err:
            raise ParameterContractError('vehicles', p.vehicles, str(err)) from None
        except (SimulationError, PhysicsError) as err:
            raise ParameterContractError('vehicles', p.vehicles, str(err)) from None
        self.counters = {'commands_rejected': 0, 'lockstep_timeouts': 0}
        self.clock_pub = self.create_publisher(Clock, '/clock', 10)
        self.pubs: dict[tuple[str, str], object] = {}
        self.cmd_seen: dict[str, bool] = {}
        for name, v in self.sim.vehicles.items():
            self._make_publishers(name, v)
            self.create_subscription(ThrusterCommand, f'/{name}/thrusters/command',
                                     lambda msg, n=name: self.on_command(n, msg), qos.RELIABLE)
            self.cmd_seen[name] = False
        self.create_service(InjectFault, '/sim/inject_fault', self.on_inject_fault)
        self.clock_period = 1.0 / p.clock_rate_hz
        self.next_clock = 0.0
        self.wall0 = time.monotonic()
        self.sim0 = 0.0
        self.lockstep_wait_since: float | None = None
        self.next_boundary = p.lockstep_period_s
        self.timer = self.create_timer(0.01 if p.mode != 'fast' else 0.0, self.on_tick)
        self.diag_pub = self.create_publisher(DiagnosticArray, '/sim/diagnostics', qos.RELIABLE)
        self.diag_last = (time.monotonic(), 0.0)
        self.create_timer(1.0, self.on_diagnostics)   # wall clock: also while lockstep waits
        self._publish_clock()
        self.get_logger().info(
            f'simulating {", ".join(p.vehicles)} in {world.name} ({p.backend}, dt {p.dt_s} s, '
            f'{p.mode} mode, seed {p.seed})')

    # -- set-up ----------------------------------------------------------------------------
    def _make_publishers(self, name: str, v) -> None:
        def pub(key, msg_type, topic, profile=qos.SENSOR):
            self.pubs[(name, key)] = self.create_publisher(msg_type, topic, profile)

        s = v.params.sensors
        if 'imu' in s:
            pub('imu', Imu, f'/{name}/imu/data')
        if 'pressure' in s:
            pub('pressure', FluidPressure, f'/{name}/pressure')
            pub('depth', Float64, f'/{name}/depth')        # as the pressure driver: m down
        if 'dvl' in s:
            pub('dvl', DvlVelocity, f'/{name}/dvl')
        if 'altimeter' in s:
            pub('altimeter', Range, f'/{name}/altimeter')
        if 'gps' in s:
            pub('gps', NavSatFix, f'/{name}/gps/fix')
        if 'battery' in s:
            pub('battery', BatteryState, f'/{name}/battery')
        if 'leak' in s:
            pub('leak', Bool, f'/{name}/leak')
        if 'thrusters' in s:
            pub('thrusters', ThrusterState, f'/{name}/thrusters/state')
        if v.camera is not None:
            pub('camera', Image, f'/{name}/camera/image_raw')
            pub('camera_info', CameraInfo, f'/{name}/camera/camera_info', qos.LATCHED)
            if self.params.publish_class_mask:
                pub('class_mask', Image, f'/sim/{name}/camera/class_mask')
        pub('truth', Odometry, f'/sim/{name}/odometry', qos.RELIABLE)

    # -- callbacks -------------------------------------------------------------------------
    def on_command(self, vehicle: str, msg: ThrusterCommand) -> None:
        result = self.sim.set_command(vehicle, list(msg.names), [float(x) for x in msg.thrust_n])
        if result is CommandResult.ACCEPTED:
            self.cmd_seen[vehicle] = True
            if self.params.mode == 'lockstep':
                # the last command of a round starts the next one now, not at the next 10 ms
                # tick: at 5x real time a round is ~20 ms of wall time, and the tick's wait
                # was a quarter of it (the result is the same: commands apply between rounds)
                self._lockstep()
            return
        if result is CommandResult.COMMS_LOST:
            return   # the link is down: the vehicle never hears it
        self.counters['commands_rejected'] += 1
        self.get_logger().warning(
            f'/{vehicle}/thrusters/command dropped: {result.value} (names {list(msg.names)}, '
            f'{len(msg.thrust_n)} values; thrusters: '
            f'{", ".join(self.sim.vehicles[vehicle].bank.names)})',
            throttle_duration_sec=2.0)

    def on_inject_fault(self, request, response):
        r = self.sim.inject_fault(FaultRequest(request.vehicle, request.fault, request.target,
                                               float(request.magnitude),
                                               float(request.duration_s), bool(request.clear)))
        response.success, response.message = r.success, r.message
        if r.success:
            self.get_logger().info(f'inject_fault: {r.message}')
        else:
            self.get_logger().warning(f'inject_fault refused: {r.message}')
        return response

    def on_diagnostics(self) -> None:
        now = time.monotonic()
        wall0, sim0 = self.diag_last
        rtf = (self.sim.time_s - sim0) / max(1e-9, now - wall0)
        self.diag_last = (now, self.sim.time_s)
        faults = [f'{name}:{f.fault}{":" + f.target if f.target else ""}'
                  for name, v in self.sim.vehicles.items() for f in v.faults.values()]
        st = DiagnosticStatus(name='kaiyo_sim', hardware_id='simulator')
        st.level = DiagnosticStatus.WARN if faults else DiagnosticStatus.OK
        st.message = ('injected faults: ' + ', '.join(faults)) if faults else 'running'
        values = {'sim_time_s': f'{self.sim.time_s:.3f}', 'real_time_factor': f'{rtf:.2f}',
                  'mode': self.params.mode, 'backend': self.sim.backend,
                  **{k: str(v) for k, v in self.counters.items()}}
        st.values = [KeyValue(key=k, value=v) for k, v in values.items()]
        msg = DiagnosticArray(status=[st])
        msg.header.stamp = self.get_clock().now().to_msg()
        self.diag_pub.publish(msg)

    def on_tick(self) -> None:
        p = self.params
        if p.mode == 'realtime':
            target = self.sim0 + (time.monotonic() - self.wall0) * p.real_time_factor
            deadline = time.monotonic() + 0.05
            while self.sim.time_s + self.sim.dt <= target + 1e-9 and time.monotonic() < deadline:
                self._step()
            lag = target - self.sim.time_s
            if lag > 1.0:
                # cannot keep up: say so, then carry on from here instead of racing to catch up
                achieved = self.sim.time_s / max(1e-9, time.monotonic() - self.wall0)
                self.get_logger().warning(
                    f'falling behind: asked {p.real_time_factor:g} x real time, managing '
                    f'{achieved:.2f} x (try camera_scale lower, camera_enabled false or mode '
                    'fast)', throttle_duration_sec=10.0)
                self.wall0, self.sim0 = time.monotonic(), self.sim.time_s
                self.counters['realtime_resets'] = self.counters.get('realtime_resets', 0) + 1
        elif p.mode == 'fast':
            deadline = time.monotonic() + p.fast_tick_s
            while time.monotonic() < deadline:
                self._step()
        else:
            self._lockstep()

    def _lockstep(self) -> None:
        p = self.params
        if self.sim.time_s + 1e-9 >= self.next_boundary:
            waiting = [n for n, seen in self.cmd_seen.items()
                       if not seen and not self.sim.comms_lost(n)]
            if waiting:
                now = time.monotonic()
                if self.lockstep_wait_since is None:
                    self.lockstep_wait_since = now
                waited = now - self.lockstep_wait_since
                if p.lockstep_timeout_s <= 0 or waited < p.lockstep_timeout_s:
                    if waited > 2.0:
                        self.get_logger().info(
                            f'lockstep: sim time {self.sim.time_s:.2f} s, waiting for a '
                            f'thruster command from {", ".join(waiting)}',
                            throttle_duration_sec=10.0)
                    return
                self.counters['lockstep_timeouts'] += 1
                self.get_logger().warning(f'lockstep: no command from {", ".join(waiting)} '
                                          f'within {p.lockstep_timeout_s} s; advancing',
                                          throttle_duration_sec=5.0)
            self.lockstep_wait_since = None
            self.next_boundary += p.lockstep_period_s
            for n in self.cmd_seen:
                self.cmd_seen[n] = False
        while self.sim.time_s + 1e-9 < self.next_boundary:
            self._step()

    # -- stepping and publishing -------------------------------------------------------------
    def _step(self) -> None:
        outputs = self.sim.step()
        if self.sim.time_s + 1e-9 >= self.next_clock:
            self._publish_clock()
        for out in outputs:
            if self.sim.comms_lost(out.vehicle) and out.kind != 'truth':
                continue   # nothing reaches the topside while the link is down
            self._publish(out)

    def _publish_clock(self) -> None:
        self.clock_pub.publish(Clock(clock=_stamp(self.sim.time_s)))
        self.next_clock = self.sim.time_s + self.clock_period

    def _publish(self, out) -> None:
        name, kind, r = out.vehicle, out.kind, out.reading
        stamp = _stamp(out.time_s)
        v = self.sim.vehicles[name]
        if kind == 'imu':
            m = Imu()
            m.header.stamp, m.header.frame_id = stamp, f'{name}/imu'
            m.orientation.x, m.orientation.y, m.orientation.z, m.orientation.w = \
                quat_to_ros(r.quaternion)
            m.orientation_covariance = list(np.diag([1e-4, 1e-4, 4e-4]).ravel())
            m.angular_velocity.x, m.angular_velocity.y, m.angular_velocity.z = \
                (float(x) for x in r.angular_velocity)
            m.angular_velocity_covariance = list(np.eye(3).ravel() * r.gyro_std ** 2)
            m.linear_acceleration.x, m.linear_acceleration.y, m.linear_acceleration.z = \
                (float(x) for x in r.linear_acceleration)
            m.linear_acceleration_covariance = list(np.eye(3).ravel() * r.accel_std ** 2)
            self.pubs[(name, 'imu')].publish(m)
        elif kind == 'pressure':
            m = FluidPressure()
            m.header.stamp, m.header.frame_id = stamp, f'{name}/pressure'
            m.fluid_pressure, m.variance = float(r.pressure_pa), float(r.std_pa) ** 2
            self.pubs[(name, 'pressure')].publish(m)
            self.pubs[(name, 'depth')].publish(Float64(data=float(r.depth_m)))
        elif kind == 'dvl':
            m = DvlVelocity()
            m.header.stamp, m.header.frame_id = stamp, f'{name}/dvl'
            m.velocity.x, m.velocity.y, m.velocity.z = (float(x) for x in r.velocity)
            m.covariance = list(np.eye(3).ravel() * r.std_mps ** 2)
            m.velocity_valid = bool(r.velocity_valid)
            m.altitude_m = float(r.altitude_m)
            m.figure_of_merit = float(r.std_mps) if r.velocity_valid else float('nan')
            m.beam_valid = [bool(b) for b in r.beam_valid]
            m.beam_range_m = [float(x) for x in r.beam_range_m]
            m.time_of_validity_s = 0.0
            self.pubs[(name, 'dvl')].publish(m)
        elif kind == 'altimeter':
            m = Range()
            m.header.stamp, m.header.frame_id = stamp, f'{name}/altimeter'
            m.radiation_type = Range.ULTRASOUND
            m.field_of_view = math.radians(25.0)
            m.min_range, m.max_range = float(r.min_range_m), float(r.max_range_m)
            m.range = float(r.range_m)
            self.pubs[(name, 'altimeter')].publish(m)
        elif kind == 'gps':
            m = NavSatFix()
            m.header.stamp, m.header.frame_id = stamp, f'{name}/gps'
            m.status.service = NavSatStatus.SERVICE_GPS
            m.status.status = NavSatStatus.STATUS_FIX if r.fix else NavSatStatus.STATUS_NO_FIX
            m.latitude, m.longitude, m.altitude = r.lat_deg, r.lon_deg, r.alt_m
            var = r.std_m ** 2
            m.position_covariance = [var, 0.0, 0.0, 0.0, var, 0.0, 0.0, 0.0, 4 * var]
            m.position_covariance_type = NavSatFix.COVARIANCE_TYPE_DIAGONAL_KNOWN
            self.pubs[(name, 'gps')].publish(m)
        elif kind == 'battery':
            m = BatteryState()
            m.header.stamp, m.header.frame_id = stamp, f'{name}/battery'
            m.voltage, m.current = float(r.voltage_v), float(r.current_a)
            m.charge, m.capacity = float(r.charge_ah), float(r.capacity_ah)
            m.design_capacity = float(r.capacity_ah)
            m.percentage = float(r.percentage)
            m.temperature = float('nan')
            m.power_supply_status = (BatteryState.POWER_SUPPLY_STATUS_CHARGING if r.current_a > 0
                                     else BatteryState.POWER_SUPPLY_STATUS_DISCHARGING)
            m.power_supply_technology = BatteryState.POWER_SUPPLY_TECHNOLOGY_LION
            m.present = True
            self.pubs[(name, 'battery')].publish(m)
        elif kind == 'leak':
            self.pubs[(name, 'leak')].publish(Bool(data=bool(r)))
        elif kind == 'thrusters':
            m = ThrusterState()
            m.header.stamp = stamp
            m.names = list(r.names)
            m.thrust_n = [float(x) for x in r.thrust_n]
            m.rpm = [float(x) for x in r.rpm]
            m.current_a = [float(x) for x in r.current_a]
            m.ok = [bool(x) for x in r.ok]
            self.pubs[(name, 'thrusters')].publish(m)
        elif kind == 'camera':
            self._publish_camera(name, v, r, stamp)
        elif kind == 'truth':
            m = Odometry()
            m.header.stamp, m.header.frame_id = stamp, 'map'
            m.child_frame_id = f'{name}/base_link'
            m.pose.pose.position.x, m.pose.pose.position.y, m.pose.pose.position.z = \
                (float(x) for x in r.position)
            o = m.pose.pose.orientation
            o.x, o.y, o.z, o.w = quat_to_ros(r.quaternion)
            t = m.twist.twist
            t.linear.x, t.linear.y, t.linear.z = (float(x) for x in r.velocity[:3])
            t.angular.x, t.angular.y, t.angular.z = (float(x) for x in r.velocity[3:])
            self.pubs[(name, 'truth')].publish(m)

    def _publish_camera(self, name, v, frame, stamp) -> None:
        cam = v.camera
        frame_id = f'{name}/camera_optical'
        img = Image()
        img.header.stamp, img.header.frame_id = stamp, frame_id
        img.height, img.width = cam.height, cam.width
        # bgr8 like kaiyo_drivers' camera node (OpenCV order)
        img.encoding, img.step = 'bgr8', cam.width * 3
        img.data = np.ascontiguousarray(frame.image_rgb[:, :, ::-1]).tobytes()
        self.pubs[(name, 'camera')].publish(img)
        info = CameraInfo()
        info.header.stamp, info.header.frame_id = stamp, frame_id
        info.height, info.width = cam.height, cam.width
        info.distortion_model = 'plumb_bob'
        info.d = [0.0] * 5
        k = cam.matrix()
        info.k = list(k.ravel())
        info.r = list(np.eye(3).ravel())
        info.p = list(np.hstack([k, np.zeros((3, 1))]).ravel())
        self.pubs[(name, 'camera_info')].publish(info)
        if (name, 'class_mask') in self.pubs:
            mask = Image()
            mask.header.stamp, mask.header.frame_id = stamp, frame_id
            mask.height, mask.width = cam.height, cam.width
            mask.encoding, mask.step = 'mono8', cam.width
            mask.data = frame.class_mask.tobytes()
            self.pubs[(name, 'class_mask')].publish(mask)


def main(args=None):
    run_node(SimNode, args)
