"""ROS node: MAVLink bridge to the camera robot's ArduSub autopilot (pymavlink).

- Heartbeats both ways: a GCS HEARTBEAT at 1 Hz; the autopilot's heartbeat is watched and
  its loss (no HEARTBEAT for heartbeat_timeout_s) raises a SafetyEvent `heartbeat_loss` on
  `safety/events` (cleared by an INFO event when it returns).
- Services: `arm` (std_srvs/SetBool) and `set_control_mode` (kaiyo SetControlMode); both
  answer only after the autopilot's COMMAND_ACK (a bounded wait of command_timeout_s).
- `manual_control` (geometry_msgs/Twist, normalised -1..1 FLU: linear.x forward, linear.y
  left, linear.z up, angular.z yaw left) -> MANUAL_CONTROL at manual_rate_hz; neutral
  after manual_timeout_s without a command.
- Telemetry: `imu/data` (Imu, ENU/FLU), `pressure` (FluidPressure, Pa), `depth`
  (std_msgs/Float64, m positive down), `battery` (BatteryState), `status` (VehicleStatus,
  1 Hz), `diagnostics`.
Polling pymavlink without blocking happens in a timer; the link is re-opened with backoff
if the device (serial) disappears.
"""
from __future__ import annotations

import math
import time

import serial
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import Twist
from pymavlink import mavutil
from pymavlink.dialects.v20 import ardupilotmega as mav
from rclpy.node import Node
from sensor_msgs.msg import BatteryState, FluidPressure, Imu
from std_msgs.msg import Float64
from std_srvs.srv import SetBool

from kaiyo_common import qos
from kaiyo_common.frames import attitude_ned_to_enu, frd_to_flu, quat_from_rpy, quat_to_ros
from kaiyo_common.node_main import run_node
from kaiyo_common.params import ParamSpec
from kaiyo_common.ros_params import declare_contract
from kaiyo_drivers.health import ERROR, OK, STALE, WARN, Health
from kaiyo_drivers.link import Backoff
from kaiyo_drivers.mavlink_core import (
    ArduSubState,
    HeartbeatWatch,
    UnsupportedModeError,
    ardusub_mode,
    depth_from_pressure,
    manual_control,
)
from kaiyo_drivers.ros_diag import diagnostic_array
from kaiyo_interfaces.msg import SafetyEvent, VehicleStatus
from kaiyo_interfaces.srv import SetControlMode

SPECS = [
    ParamSpec('url', 'str', "pymavlink connection: 'udpin:0.0.0.0:14550' (UDP, GCS port), "
              "'tcp:host:port' or a serial device such as /dev/ttyACM0",
              'udpin:0.0.0.0:14550'),
    ParamSpec('baud', 'int', 'Serial bit rate, bit/s (serial URLs only)', 115200,
              choices=(57600, 115200, 230400, 460800, 921600)),
    ParamSpec('vehicle', 'str', 'Vehicle name in VehicleStatus and SafetyEvent',
              'camera_robot'),
    ParamSpec('system_id', 'int', 'Our MAVLink system id (GCS)', 255, min_value=1,
              max_value=255),
    ParamSpec('target_system', 'int', 'Autopilot system id (0: the first one heard)', 0,
              min_value=0, max_value=255),
    ParamSpec('heartbeat_timeout_s', 'float', 'No autopilot heartbeat for this long -> '
              'heartbeat_loss, s', 2.0, min_value=0.5, max_value=30.0),
    ParamSpec('command_timeout_s', 'float', 'Wait for COMMAND_ACK at most this long, s', 1.0,
              min_value=0.05, max_value=10.0),
    ParamSpec('manual_rate_hz', 'float', 'MANUAL_CONTROL send rate, Hz', 10.0,
              min_value=1.0, max_value=50.0),
    ParamSpec('manual_timeout_s', 'float', 'No manual_control for this long -> neutral, s',
              0.5, min_value=0.05, max_value=10.0),
    ParamSpec('surface_pressure_pa', 'float', 'Air pressure at the surface, Pa', 101325.0,
              min_value=80000.0, max_value=110000.0),
    ParamSpec('water_density_kg_m3', 'float', 'Sea water density for depth, kg/m^3', 1025.0,
              min_value=990.0, max_value=1050.0),
    ParamSpec('frame_id', 'str', 'Frame of the autopilot IMU (FLU)', 'base_link'),
    ParamSpec('reconnect_max_s', 'float', 'Longest reconnect delay, s', 5.0,
              min_value=0.1, max_value=600.0),
]


class MavlinkBridgeNode(Node):
    def __init__(self, **kwargs):
        super().__init__('mavlink_bridge', **kwargs)
        self.params = declare_contract(self, SPECS)
        p = self.params
        self.state = ArduSubState()
        self.watch = HeartbeatWatch(p.heartbeat_timeout_s)
        self.backoff = Backoff(0.2, p.reconnect_max_s)
        self.conn = None
        self.retry_at = 0.0
        self.link_error = ''
        self.bad_messages = 0
        self.manual = (0, 0, 500, 0)
        self.manual_stamp = None
        self.pending_acks: dict[int, int | None] = {}    # MAV_CMD -> MAV_RESULT
        pub = self.create_publisher
        self.imu_pub = pub(Imu, 'imu/data', qos.SENSOR)
        self.pressure_pub = pub(FluidPressure, 'pressure', qos.SENSOR)
        self.depth_pub = pub(Float64, 'depth', qos.SENSOR)
        self.battery_pub = pub(BatteryState, 'battery', qos.SENSOR)
        self.status_pub = pub(VehicleStatus, 'status', qos.RELIABLE)
        self.event_pub = pub(SafetyEvent, 'safety/events', qos.EVENTS)
        self.diag_pub = pub(DiagnosticArray, 'diagnostics', qos.RELIABLE)
        self.create_subscription(Twist, 'manual_control', self.on_manual, qos.RELIABLE)
        self.create_service(SetBool, 'arm', self.on_arm)
        self.create_service(SetControlMode, 'set_control_mode', self.on_set_mode)
        self.create_timer(0.01, self.on_poll)
        self.create_timer(1.0, self.on_heartbeat)
        self.create_timer(1.0 / p.manual_rate_hz, self.on_send_manual)
        self.create_timer(1.0, self.on_status)
        self.create_timer(0.1, self.on_watch)
        self._open()

    # -- link
    def _open(self) -> None:
        p = self.params
        try:
            self.conn = mavutil.mavlink_connection(p.url, baud=p.baud, source_system=p.system_id,
                                                   source_component=mav.MAV_COMP_ID_MISSIONPLANNER,
                                                   dialect='ardupilotmega', autoreconnect=False)
            self.backoff.reset()
            self.link_error = ''
            self.get_logger().info(f'MAVLink on {p.url}')
        except (OSError, serial.SerialException) as err:
            self.conn = None
            self.link_error = f'cannot open {p.url}: {err}'
            self.retry_at = time.monotonic() + self.backoff.next_delay()

    def _lost_link(self, err) -> None:
        self.get_logger().error(f'MAVLink link {self.params.url} lost: {err}; reconnecting')
        self.link_error = f'{self.params.url} lost: {err}'
        try:
            self.conn.close()
        except (OSError, serial.SerialException):
            pass
        self.conn = None
        self.retry_at = time.monotonic() + self.backoff.next_delay()

    def _recv(self, timeout: float | None = None):
        try:
            if timeout is None:
                return self.conn.recv_match(blocking=False)
            return self.conn.recv_match(blocking=True, timeout=timeout)
        except (OSError, serial.SerialException) as err:
            self._lost_link(err)
            return None

    def _send(self, fn, *args) -> bool:
        if self.conn is None:
            return False
        try:
            fn(*args)
            return True
        except (OSError, serial.SerialException) as err:
            self._lost_link(err)
            return False

    # -- callbacks
    def on_poll(self) -> None:
        if self.conn is None:
            if time.monotonic() >= self.retry_at:
                self._open()
            return
        for _ in range(200):        # bounded work per tick
            msg = self._recv()
            if msg is None:
                return
            self.handle_message(msg)

    def handle_message(self, msg) -> None:
        t = msg.get_type()
        if t == 'BAD_DATA':
            self.bad_messages += 1
            return
        tsys = self.params.target_system
        if tsys and msg.get_srcSystem() != tsys:
            return
        self.state.apply(msg)
        now = time.monotonic()
        if t == 'HEARTBEAT' and msg.type != mav.MAV_TYPE_GCS:
            if self.watch.beat(now) == HeartbeatWatch.REGAINED:
                self.publish_event(False, self.watch.age(now))
                self.get_logger().info('autopilot heartbeat back')
        elif t == 'ATTITUDE':
            self.publish_imu()
        elif t == 'SCALED_PRESSURE2':
            self.publish_pressure()
        elif t == 'SYS_STATUS':
            self.publish_battery()
        elif t == 'COMMAND_ACK' and msg.command in self.pending_acks:
            self.pending_acks[msg.command] = msg.result

    def on_watch(self) -> None:
        now = time.monotonic()
        if self.watch.check(now) == HeartbeatWatch.LOST:
            age = self.watch.age(now)
            self.get_logger().error(f'autopilot heartbeat lost ({age:.1f} s)')
            self.publish_event(True, age)

    def publish_event(self, active: bool, age: float) -> None:
        e = SafetyEvent()
        e.header.stamp = self.get_clock().now().to_msg()
        e.vehicle = self.params.vehicle
        e.rule = 'heartbeat_loss'
        e.severity = SafetyEvent.SEVERITY_WARNING if active else SafetyEvent.SEVERITY_INFO
        e.action = SafetyEvent.ACTION_NONE      # ArduSub's own failsafe acts on board
        e.value = float(age)
        e.limit = float(self.params.heartbeat_timeout_s)
        e.message = (f'no autopilot HEARTBEAT for {age:.1f} s (limit '
                     f'{self.params.heartbeat_timeout_s} s)' if active
                     else 'autopilot HEARTBEAT received again')
        e.latched = False
        e.active = active
        self.event_pub.publish(e)

    def on_heartbeat(self) -> None:
        if self.conn is not None:
            self._send(self.conn.mav.heartbeat_send, mav.MAV_TYPE_GCS, mav.MAV_AUTOPILOT_INVALID,
                       0, 0, mav.MAV_STATE_ACTIVE)

    def on_manual(self, msg: Twist) -> None:
        self.manual = manual_control(msg.linear.x, msg.linear.y, msg.linear.z, msg.angular.z)
        self.manual_stamp = time.monotonic()

    def on_send_manual(self) -> None:
        if self.conn is None or self.state.system_id is None or self.manual_stamp is None:
            return      # nothing to steer yet; ArduSub keeps its neutral input
        if time.monotonic() - self.manual_stamp > self.params.manual_timeout_s:
            self.manual = (0, 0, 500, 0)
        x, y, z, r = self.manual
        self._send(self.conn.mav.manual_control_send, self.state.system_id, x, y, z, r, 0)

    def _command(self, command: int, *params) -> tuple[bool, str]:
        """COMMAND_LONG and a bounded wait for its ACK (other messages handled meanwhile)."""
        if self.conn is None or self.state.system_id is None:
            return False, f'no autopilot heard yet ({self.link_error or "waiting"})'
        self.pending_acks[command] = None
        p = list(params) + [0.0] * (7 - len(params))
        if not self._send(self.conn.mav.command_long_send, self.state.system_id, 1, command,
                          0, *p):
            return False, self.link_error
        deadline = time.monotonic() + self.params.command_timeout_s
        while self.pending_acks.get(command) is None and self.conn is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            msg = self._recv(timeout=min(remaining, 0.05))
            if msg is not None:
                self.handle_message(msg)
        result = self.pending_acks.pop(command, None)
        if result is None:
            return False, f'no COMMAND_ACK within {self.params.command_timeout_s} s'
        if result != mav.MAV_RESULT_ACCEPTED:
            name = mav.enums['MAV_RESULT'][result].name if result in mav.enums['MAV_RESULT'] \
                else str(result)
            return False, f'autopilot answered {name}'
        return True, 'accepted'

    def on_arm(self, request, response):
        ok, why = self._command(mav.MAV_CMD_COMPONENT_ARM_DISARM, 1.0 if request.data else 0.0)
        response.success = ok
        response.message = f"{'arm' if request.data else 'disarm'}: {why}"
        return response

    def on_set_mode(self, request, response):
        response.previous_mode = self.state.kaiyo_mode if self.state.kaiyo_mode is not None \
            else 0
        try:
            sub = ardusub_mode(request.mode)
        except UnsupportedModeError as err:
            response.success, response.message = False, str(err)
            return response
        ok, why = self._command(mav.MAV_CMD_DO_SET_MODE,
                                float(mav.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED), float(sub))
        if ok and request.arm:
            ok, why = self._command(mav.MAV_CMD_COMPONENT_ARM_DISARM, 1.0)
        response.success, response.message = ok, why
        return response

    # -- publishing
    def publish_imu(self) -> None:
        s = self.state
        msg = Imu()
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.header.frame_id = self.params.frame_id
        rpy = attitude_ned_to_enu(*s.attitude_ned)
        x, y, z, w = quat_to_ros(quat_from_rpy(*rpy))
        msg.orientation.x, msg.orientation.y, msg.orientation.z, msg.orientation.w = x, y, z, w
        wx, wy, wz = frd_to_flu(s.rates_frd)
        msg.angular_velocity.x, msg.angular_velocity.y, msg.angular_velocity.z = \
            float(wx), float(wy), float(wz)
        if s.accel_frd is not None:
            # specific force: an IMU at rest reads +g up; ArduSub's FRD z reads -1 g
            ax, ay, az = frd_to_flu(s.accel_frd)
            msg.linear_acceleration.x, msg.linear_acceleration.y, msg.linear_acceleration.z = \
                float(ax), float(ay), float(az)
        else:
            msg.linear_acceleration_covariance[0] = -1.0
        self.imu_pub.publish(msg)

    def publish_pressure(self) -> None:
        s = self.state
        stamp = self.get_clock().now().to_msg()
        fp = FluidPressure()
        fp.header.stamp = stamp
        fp.header.frame_id = self.params.frame_id
        fp.fluid_pressure = s.pressure_pa
        self.pressure_pub.publish(fp)
        self.depth_pub.publish(Float64(data=depth_from_pressure(
            s.pressure_pa, self.params.surface_pressure_pa, self.params.water_density_kg_m3)))

    def publish_battery(self) -> None:
        s = self.state
        b = BatteryState()
        b.header.stamp = self.get_clock().now().to_msg()
        b.voltage = s.battery_voltage_v if s.battery_voltage_v is not None else math.nan
        b.current = -s.battery_current_a if s.battery_current_a is not None else math.nan
        b.percentage = s.battery_fraction if s.battery_fraction is not None else math.nan
        b.present = True
        b.power_supply_status = BatteryState.POWER_SUPPLY_STATUS_DISCHARGING
        self.battery_pub.publish(b)

    def health(self) -> Health:
        now = time.monotonic()
        age = self.watch.age(now)
        values = {'url': self.params.url, 'heartbeat_age_s': f'{age:.2f}',
                  'messages': str(self.state.messages), 'bad_messages': str(self.bad_messages),
                  'armed': str(self.state.armed), 'mode': self.state.mode_name,
                  'link_error': self.link_error}
        if self.conn is None:
            return Health(ERROR, self.link_error or 'link closed', values)
        if self.watch.last is None:
            return Health(STALE, 'no autopilot heartbeat yet', values)
        if self.watch.lost:
            return Health(ERROR, f'autopilot heartbeat lost {age:.1f} s ago', values)
        if self.bad_messages and self.bad_messages * 10 > self.state.messages:
            return Health(WARN, f'{self.bad_messages} bad MAVLink frames', values)
        return Health(OK, f'ArduSub {self.state.mode_name}, '
                          f"{'armed' if self.state.armed else 'disarmed'}", values)

    def on_status(self) -> None:
        s = self.state
        h = self.health()
        st = VehicleStatus()
        st.header.stamp = self.get_clock().now().to_msg()
        st.vehicle = self.params.vehicle
        st.mode = s.kaiyo_mode if s.kaiyo_mode is not None else VehicleStatus.MODE_MANUAL
        st.armed = s.armed and not self.watch.lost
        st.battery_fraction = s.battery_fraction if s.battery_fraction is not None else math.nan
        st.battery_voltage_v = (s.battery_voltage_v if s.battery_voltage_v is not None
                                else math.nan)
        st.depth_m = (depth_from_pressure(s.pressure_pa, self.params.surface_pressure_pa,
                                          self.params.water_density_kg_m3)
                      if s.pressure_pa is not None else math.nan)
        st.altitude_m = math.nan
        st.health = {OK: VehicleStatus.HEALTH_OK, WARN: VehicleStatus.HEALTH_WARN,
                     ERROR: VehicleStatus.HEALTH_ERROR, STALE: VehicleStatus.HEALTH_STALE}[h.level]
        st.health_message = '' if h.level == OK else h.message
        self.status_pub.publish(st)
        self.diag_pub.publish(diagnostic_array(st.header.stamp, self.get_name(),
                                               self.params.url, h))

    def shutdown(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except (OSError, serial.SerialException):
                pass
            self.conn = None


def main(args=None):
    run_node(MavlinkBridgeNode, args)
