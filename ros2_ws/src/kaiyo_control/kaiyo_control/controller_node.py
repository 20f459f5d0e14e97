"""Controller node: odometry + setpoints + pilot -> ThrusterCommand at 50 Hz.

Thin ROS plumbing around kaiyo_control.vehicle_controller. Subscribes `odometry`
(nav_msgs/Odometry, map/base_link), `setpoint` (MotionSetpoint), `pilot/command`
(TwistStamped, stick deflections -1..1), `altimeter` (Range) and `dvl` (altitude fallback),
`battery`, `leak`; publishes `thrusters/command` and `status` (1 Hz); serves
`set_control_mode`. Bad inputs are dropped with a warning; on exit the thrusters get zero.
"""
from __future__ import annotations

import math
import signal

import numpy as np
import rclpy
from geometry_msgs.msg import TwistStamped
from nav_msgs.msg import Odometry
from rclpy._rclpy_pybind11 import RCLError
from rclpy.duration import Duration
from rclpy.node import Node
from sensor_msgs.msg import BatteryState, Range
from std_msgs.msg import Bool

from kaiyo_common import qos
from kaiyo_common.node_main import run_node
from kaiyo_common.params import ParameterContractError
from kaiyo_common.ros_params import declare_contract
from kaiyo_common.vehicles import VehicleFileError, load_vehicle
from kaiyo_control.control_params import SPECS, config_from_namespace
from kaiyo_control.vehicle_controller import (
    Estimate,
    PilotCommand,
    Setpoint,
    SetpointError,
    VehicleController,
    altitude_from_range,
)
from kaiyo_interfaces.msg import DvlVelocity, MotionSetpoint, ThrusterCommand, VehicleStatus
from kaiyo_interfaces.srv import SetControlMode

# Stop sequence on SIGINT/SIGTERM (ControllerNode.install_stop_handlers).
RUNNING, STOP_PENDING, STOPPING = 'running', 'stop pending', 'stopping'
#: Longest wait for the thruster driver to acknowledge the zero command on the way out, s.
ZERO_ACK_TIMEOUT_S = 0.5


def odometry_to_estimate(msg: Odometry, stamp_s: float) -> Estimate:
    """nav_msgs/Odometry (map ENU / base_link FLU) -> Estimate. Raises SetpointError."""
    p, q = msg.pose.pose.position, msg.pose.pose.orientation
    v, w = msg.twist.twist.linear, msg.twist.twist.angular
    vals = (p.x, p.y, p.z, q.w, q.x, q.y, q.z, v.x, v.y, v.z, w.x, w.y, w.z)
    if not all(math.isfinite(x) for x in vals):
        raise SetpointError('odometry has a non-finite value')
    n = math.sqrt(q.w ** 2 + q.x ** 2 + q.y ** 2 + q.z ** 2)
    if n < 1e-6:
        raise SetpointError('odometry orientation is not a quaternion (zero norm)')
    qw, qx, qy, qz = q.w / n, q.x / n, q.y / n, q.z / n
    roll = math.atan2(2 * (qw * qx + qy * qz), 1 - 2 * (qx * qx + qy * qy))
    pitch = math.asin(max(-1.0, min(1.0, 2 * (qw * qy - qz * qx))))
    yaw = math.atan2(2 * (qw * qz + qx * qy), 1 - 2 * (qy * qy + qz * qz))
    return Estimate(stamp_s, np.array([p.x, p.y, p.z]), np.array([roll, pitch, yaw]),
                    np.array([v.x, v.y, v.z, w.x, w.y, w.z]))


def setpoint_from_msg(msg: MotionSetpoint) -> Setpoint:
    return Setpoint(int(msg.mask), msg.x, msg.y, msg.path_start_x, msg.path_start_y,
                    float(msg.depth_m), float(msg.altitude_m), float(msg.heading_rad),
                    float(msg.surge_mps), float(msg.sway_mps))


class ControllerNode(Node):
    def __init__(self, **kwargs):
        super().__init__('controller', **kwargs)
        self.params = declare_contract(self, SPECS)
        try:
            self.vehicle = load_vehicle(self.params.vehicle)
        except VehicleFileError as err:
            raise ParameterContractError('vehicle', self.params.vehicle, str(err)) from None
        try:
            self.core = VehicleController(self.vehicle, config_from_namespace(self.params))
        except ValueError as err:
            raise ParameterContractError('thruster_weights', self.params.thruster_weights,
                                         str(err)) from None
        self.names = self.vehicle.thruster_names()
        if self.vehicle.surface is not None:
            self.names.append(self.vehicle.surface.rudder_name)
        self.estimate: Estimate | None = None
        # stop sequence (install_stop_handlers): RUNNING -> [STOP_PENDING] -> STOPPING
        self._stop_state = RUNNING
        self._publishing = False        # a thrust command is on its way out
        self.dropped = 0
        self.last_output = None
        self.battery = (math.nan, math.nan)
        self.leak = False
        self.dvl_alt_stamp = -math.inf
        self.alt_stamp = -math.inf
        self.thrust_pub = self.create_publisher(ThrusterCommand, 'thrusters/command',
                                                qos.RELIABLE)
        self.status_pub = self.create_publisher(VehicleStatus, 'status', qos.RELIABLE)
        self.create_subscription(Odometry, 'odometry', self.on_odometry, qos.RELIABLE)
        self.create_subscription(MotionSetpoint, 'setpoint', self.on_setpoint, qos.RELIABLE)
        self.create_subscription(TwistStamped, 'pilot/command', self.on_pilot, qos.RELIABLE)
        self.create_subscription(Range, 'altimeter', self.on_altimeter, qos.SENSOR)
        self.create_subscription(DvlVelocity, 'dvl', self.on_dvl, qos.SENSOR)
        self.create_subscription(BatteryState, 'battery', self.on_battery, qos.SENSOR)
        self.create_subscription(Bool, 'leak', self.on_leak, qos.SENSOR)
        self.create_service(SetControlMode, 'set_control_mode', self.on_set_mode)
        self.create_timer(1.0 / self.params.rate_hz, self.on_control_timer)
        self.create_timer(1.0, self.on_status_timer)

    def now_s(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def _drop(self, what: str, err: Exception) -> None:
        self.dropped += 1
        self.get_logger().warning(f'dropped {what}: {err}', throttle_duration_sec=2.0)

    # -- inputs ----------------------------------------------------------------------------
    def on_odometry(self, msg: Odometry) -> None:
        try:
            # freshness is judged on arrival (our clock): a late estimator is a stale one
            self.estimate = odometry_to_estimate(msg, self.now_s())
        except SetpointError as err:
            self._drop('odometry', err)

    def on_setpoint(self, msg: MotionSetpoint) -> None:
        try:
            self.core.set_setpoint(setpoint_from_msg(msg))
        except SetpointError as err:
            self._drop('setpoint', err)

    def on_pilot(self, msg: TwistStamped) -> None:
        t = msg.twist
        try:
            self.core.set_pilot(PilotCommand(t.linear.x, t.linear.y, t.linear.z, t.angular.z,
                                             self.now_s()))
        except SetpointError as err:
            self._drop('pilot command', err)

    def _altitude_from(self, sensor: str, range_m: float) -> float:
        est = self.estimate
        spec = self.vehicle.sensors.get(sensor)
        if est is None or spec is None:
            return math.nan
        rot = spec.mounting.rotation()
        # altimeter beam: its x axis; DVL altitude: along the DVL's down axis (-z)
        beam = rot @ (np.array([1.0, 0.0, 0.0]) if sensor == 'altimeter'
                      else np.array([0.0, 0.0, -1.0]))
        return altitude_from_range(range_m, est.rotation(), spec.mounting.position_m, beam)

    def on_altimeter(self, msg: Range) -> None:
        r = msg.range
        if not (math.isfinite(r) and msg.min_range <= r <= msg.max_range):
            return  # out of range: no seabed in view, not an error
        alt = self._altitude_from('altimeter', r)
        if math.isfinite(alt):
            self.alt_stamp = self.now_s()
            self.core.set_altitude(max(0.0, alt), self.alt_stamp)

    def on_dvl(self, msg: DvlVelocity) -> None:
        now = self.now_s()
        if now - self.alt_stamp < 1.0 or not math.isfinite(msg.altitude_m):
            return  # the altimeter is fresher and more direct
        alt = self._altitude_from('dvl', float(msg.altitude_m))
        if math.isfinite(alt):
            self.core.set_altitude(max(0.0, alt), now)

    def on_battery(self, msg: BatteryState) -> None:
        self.battery = (msg.percentage, msg.voltage)

    def on_leak(self, msg: Bool) -> None:
        # latched: a leak that dries up is still a leak until someone has looked
        self.leak = self.leak or bool(msg.data)

    def on_set_mode(self, request, response):
        res = self.core.request_mode(request.mode, request.arm, self.now_s(), self.estimate)
        response.success = res.success
        response.message = res.message
        response.previous_mode = int(res.previous)
        if res.success:
            self.get_logger().info(f'mode {request.mode} (arm={request.arm}): accepted')
        else:
            self.get_logger().warning(f'mode {request.mode} refused: {res.message}')
        return response

    # -- outputs ---------------------------------------------------------------------------
    def on_control_timer(self) -> None:
        out = self.core.step(self.now_s(), self.estimate)
        self.last_output = out
        values = [float(v) for v in out.thrust_n]
        if self.vehicle.surface is not None:
            values.append(float(out.rudder_deg or 0.0))
        self.publish_thrust(values)

    def _thrust_msg(self, values) -> ThrusterCommand:
        msg = ThrusterCommand()
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.header.frame_id = 'base_link'
        msg.names = list(self.names)
        msg.thrust_n = [float(v) for v in values]
        return msg

    def publish_thrust(self, values) -> None:
        msg = self._thrust_msg(values)
        # Python runs the stop handler between any two bytecodes: one that lands while this
        # command is on its way out only marks the stop pending, and the zero command follows
        # this one instead of being overtaken by it
        self._publishing = True
        try:
            if self._stop_state == RUNNING:
                self.thrust_pub.publish(msg)
        finally:
            self._publishing = False
        if self._stop_state == STOP_PENDING:
            self._stop()

    def on_status_timer(self) -> None:
        if self._stop_state != RUNNING:
            return
        msg = VehicleStatus()
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.vehicle = self.vehicle.name
        msg.mode = int(self.core.modes.mode)
        msg.armed = self.core.modes.armed
        msg.battery_fraction = float(self.battery[0])
        msg.battery_voltage_v = float(self.battery[1])
        msg.leak = self.leak
        est = self.estimate
        msg.depth_m = float(-est.position[2]) if est is not None else math.nan
        alt = self.core.altitude_m
        fresh = self.now_s() - self.core.altitude_stamp <= self.params.altitude_timeout_s
        msg.altitude_m = float(alt) if fresh else math.nan
        out = self.last_output
        msg.health = int(out.health) if out is not None else VehicleStatus.HEALTH_OK
        msg.health_message = out.message if out is not None and out.health else ''
        if self.leak:
            msg.health, msg.health_message = VehicleStatus.HEALTH_ERROR, 'leak detected'
        self.status_pub.publish(msg)

    def shutdown(self) -> None:
        """Zero thrust (and rudder amidships) on the way out."""
        self.core.disarm()
        if self._stop_state == STOPPING:
            return      # the stop handler already sent the zero command
        self._stop_state = STOPPING
        self._send_zero()

    def _send_zero(self) -> None:
        """The zero command, waiting briefly until the thruster driver has it: the process
        and its DDS participant end right after."""
        try:
            self.thrust_pub.publish(self._thrust_msg([0.0] * len(self.names)))
            self.thrust_pub.wait_for_all_acked(Duration(seconds=ZERO_ACK_TIMEOUT_S))
        except RCLError:
            pass  # the context is already gone (stopped without our handler)

    def _stop(self) -> None:
        """Disarm and send zero thrust (shutdown), then shut the context down as rclpy's
        handler would (spin ends with ExternalShutdownException)."""
        self.shutdown()
        rclpy.try_shutdown(context=self.context)

    def install_stop_handlers(self) -> None:
        """Send zero thrust on SIGINT/SIGTERM *before* the context shuts down (rclpy's own
        handler invalidates publishers first, so a command sent later never leaves)."""
        def on_stop(signum, frame):
            if self._stop_state != RUNNING:
                return
            if self._publishing:
                self._stop_state = STOP_PENDING      # publish_thrust stops when it is done
                return
            self._stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, on_stop)


def _make_node(**kwargs) -> ControllerNode:
    node = ControllerNode(**kwargs)
    node.install_stop_handlers()
    return node


_make_node.__name__ = 'ControllerNode'


def main(args=None):
    run_node(_make_node, args)


if __name__ == '__main__':
    main()
