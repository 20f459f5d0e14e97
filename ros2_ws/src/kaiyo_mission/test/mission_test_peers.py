"""Test fixture peers for kaiyo_mission's node tests (imported by the tests and conftest).

`ControllerPeer` is a TEST FIXTURE: a real ROS peer that plays the controller's side of the
interfaces (serves set_control_mode, publishes odometry and status, follows setpoints with a
kinematic point mass). It is not a vehicle model; it exists so the executor and the
supervisor talk to something real over ROS in these tests. (A uniquely named module, so it
never collides with another package's conftest on sys.path.)
"""
from __future__ import annotations

import math
import threading

from nav_msgs.msg import Odometry
from rclpy.node import Node

from kaiyo_common.qos import RELIABLE
from kaiyo_interfaces.msg import MotionSetpoint, VehicleStatus
from kaiyo_interfaces.srv import SetControlMode


class ControllerPeer(Node):
    SPEED = 2.0          # m/s horizontal, fast so that test missions take seconds
    VSPEED = 2.0         # m/s vertical

    def __init__(self, context, vehicle='hover_auv', rate_hz=20.0):
        super().__init__('controller_peer', namespace=vehicle, context=context)
        self.vehicle = vehicle
        self.x = self.y = self.depth = 0.0
        self.altitude = 20.0
        self.mode = VehicleStatus.MODE_MANUAL
        self.armed = False
        self.battery = 0.9
        self.leak = False
        self.mode_requests: list[int] = []
        self.setpoints: list[MotionSetpoint] = []
        self.refuse_auto = False
        self.frozen = False
        self.lock = threading.Lock()
        self.odom_pub = self.create_publisher(Odometry, 'odometry', RELIABLE)
        self.status_pub = self.create_publisher(VehicleStatus, 'status', RELIABLE)
        self.create_subscription(MotionSetpoint, 'setpoint', self.on_setpoint, RELIABLE)
        self.create_service(SetControlMode, 'set_control_mode', self.on_mode)
        self.dt = 1.0 / rate_hz
        self.create_timer(self.dt, self.on_tick)

    def on_mode(self, req, resp):
        with self.lock:
            self.mode_requests.append(req.mode)
            resp.previous_mode = self.mode
            if self.refuse_auto and req.mode == VehicleStatus.MODE_AUTO:
                resp.success, resp.message = False, 'test peer refuses AUTO'
                return resp
            self.mode = req.mode
            self.armed = self.armed or req.arm
            resp.success = True
        return resp

    def on_setpoint(self, msg):
        with self.lock:
            self.setpoints.append(msg)

    def _move(self):
        sp = self.setpoints[-1] if self.setpoints else None
        target_xy, target_depth = None, None
        if self.mode == VehicleStatus.MODE_AUTO and sp is not None:
            if sp.mask & MotionSetpoint.USE_POSITION:
                target_xy = (sp.x, sp.y)
            if sp.mask & MotionSetpoint.USE_DEPTH:
                target_depth = sp.depth_m
            elif sp.mask & MotionSetpoint.USE_ALTITUDE:
                target_depth = self.depth + self.altitude - sp.altitude_m
        elif self.mode == VehicleStatus.MODE_SURFACE:
            target_depth = 0.0
        elif self.mode == VehicleStatus.MODE_RETURN:
            target_xy, target_depth = (0.0, 0.0), 0.0
        if self.frozen:
            return
        if target_xy is not None:
            dx, dy = target_xy[0] - self.x, target_xy[1] - self.y
            d = math.hypot(dx, dy)
            step = min(d, self.SPEED * self.dt)
            if d > 1e-9:
                self.x += dx / d * step
                self.y += dy / d * step
        if target_depth is not None:
            dz = target_depth - self.depth
            step = math.copysign(min(abs(dz), self.VSPEED * self.dt), dz)
            self.depth += step
            self.altitude -= step

    def on_tick(self):
        with self.lock:
            self._move()
            now = self.get_clock().now().to_msg()
            odom = Odometry()
            odom.header.stamp = now
            odom.header.frame_id = 'map'
            odom.pose.pose.position.x, odom.pose.pose.position.y = self.x, self.y
            odom.pose.pose.position.z = -self.depth
            odom.pose.pose.orientation.w = 1.0
            st = VehicleStatus(vehicle=self.vehicle, mode=self.mode, armed=self.armed,
                               battery_fraction=self.battery, battery_voltage_v=50.0,
                               leak=self.leak, depth_m=self.depth, altitude_m=self.altitude)
            st.header.stamp = now
        self.odom_pub.publish(odom)
        self.status_pub.publish(st)
