"""Safety supervisor node: one per vehicle, independent of the mission executor.

Runs in the vehicle's namespace (e.g. /hover_auv):
  sub     status (VehicleStatus), odometry (Odometry), altimeter (Range), leak (Bool),
          battery (BatteryState), thrusters/state (ThrusterState), the monitored sensors
          (imu/data, pressure, dvl, altimeter, gps/fix), /tower/heartbeat (Header),
          mission/active (String, latched: the running mission's YAML)
  pub     safety/events (SafetyEvent, kaiyo_common.qos.EVENTS: reliable, transient local)
  client  set_control_mode (SetControlMode): HOLD / SURFACE / RETURN
  service safety/acknowledge (AcknowledgeSafety)

The rules live in `safety.Supervisor` (pure). This node feeds it, evaluates it at
`rate_hz`, publishes and logs every new event (JSON lines, fsync'ed), and enforces the
latched action: whenever the vehicle's reported mode differs from the action's mode it asks
the controller again (at most every `command_retry_s`), so an executor that switches back
to AUTO is overridden. The running mission is read from `mission/active` and validated here
again; its limits can only tighten the supervisor's own parameters, never loosen them.
"""
from __future__ import annotations

import math

import numpy as np
from nav_msgs.msg import Odometry
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node
from sensor_msgs.msg import BatteryState, FluidPressure, Imu, NavSatFix, Range
from std_msgs.msg import Bool, Header, String

from kaiyo_common.geodesy import GeodesyError, datum_from_spec
from kaiyo_common.node_main import run_node
from kaiyo_common.params import ParameterContractError, ParamSpec
from kaiyo_common.qos import EVENTS, LATCHED, SENSOR
from kaiyo_common.ros_params import declare_contract
from kaiyo_common.vehicles import VehicleFileError, load_vehicle
from kaiyo_interfaces.msg import DvlVelocity, SafetyEvent, ThrusterState, VehicleStatus
from kaiyo_interfaces.srv import AcknowledgeSafety, SetControlMode
from kaiyo_mission.planner import cruise_power_w, vertical_power_w
from kaiyo_mission.safety import (
    ACTION_NAMES,
    RULES,
    Action,
    Event,
    EventLog,
    MissionLimits,
    SafetyConfigError,
    SensorWatch,
    Supervisor,
    SupervisorConfig,
    altitude_from_altimeter,
    default_log_path,
)
from kaiyo_mission.validator import validate_text

ACTION_CHOICES = ('none', 'hold', 'surface', 'return')
_DEFAULT_ACTION = {'max_depth': 'surface', 'min_altitude': 'surface', 'geofence': 'return',
                   'battery_to_home': 'return', 'leak': 'surface', 'comms_loss': 'surface',
                   'heartbeat_loss': 'surface', 'thruster_fault': 'surface',
                   'stale_sensor': 'surface', 'frozen_sensor': 'surface',
                   'mission_timeout': 'surface'}

SPECS = [
    ParamSpec('vehicle_type', 'str', "Vehicle YAML name ('' = the namespace)", ''),
    ParamSpec('rate_hz', 'float', 'Rule evaluation rate, Hz', 20.0, min_value=1.0,
              max_value=200.0),
    ParamSpec('datum', 'str', 'Site datum of the map frame (name in kaiyo_common.geodesy)',
              'tower'),
    ParamSpec('max_depth_m', 'float', "Deepest allowed depth, m (0: the vehicle's rating)", 0.0,
              min_value=0.0, max_value=11000.0),
    ParamSpec('min_altitude_m', 'float', 'Lowest allowed altitude while submerged, m (0: off)',
              0.5, min_value=0.0, max_value=100.0),
    ParamSpec('geofence', 'str', "Standing fence as 'lat, lon; lat, lon; ...' in deg "
              "(at least 3 points); '' = only the running mission's fence", ''),
    ParamSpec('battery_reserve', 'float', 'Fraction of capacity kept for the return', 0.2,
              min_value=0.0, max_value=0.9),
    ParamSpec('heartbeat_topic', 'str', 'Station heartbeat topic (std_msgs/Header)',
              '/tower/heartbeat'),
    ParamSpec('heartbeat_timeout_s', 'float', 'Station silence counted as comms loss, s', 5.0,
              min_value=0.2, max_value=600.0),
    ParamSpec('status_timeout_s', 'float', 'Vehicle status silence counted as heartbeat loss, s',
              3.0, min_value=0.2, max_value=600.0),
    ParamSpec('monitored_sensors', 'str[]', 'Sensors watched for stale / frozen data '
              '(imu, pressure, dvl, altimeter, gps); only those in the vehicle YAML',
              ['imu', 'pressure', 'dvl', 'altimeter']),
    ParamSpec('stale_periods', 'float', 'A sensor is stale after this many missed periods', 3.0,
              min_value=1.0, max_value=100.0),
    ParamSpec('stale_min_s', 'float', 'Shortest stale timeout, s', 0.5, min_value=0.05,
              max_value=60.0),
    ParamSpec('frozen_window_s', 'float', 'Identical readings for this long are frozen, s', 0.5,
              min_value=0.05, max_value=60.0),
    ParamSpec('frozen_min_samples', 'int', '...and at least this many identical samples', 4,
              min_value=2, max_value=1000),
    ParamSpec('command_retry_s', 'float', 'Re-send the safety mode after this long, s', 1.0,
              min_value=0.1, max_value=60.0),
    ParamSpec('event_log', 'str', "JSON-lines event log path ('' = $KAIYO_LOG_DIR/safety/"
              "<vehicle>.jsonl or ~/.local/state/kaiyo/safety/<vehicle>.jsonl)", ''),
] + [ParamSpec(f'action_{rule}', 'str', f'Action when {rule} fires (comms_loss: the mission '
               'overrides with on_comms_loss)', _DEFAULT_ACTION[rule], choices=ACTION_CHOICES)
     for rule in RULES]

_MODE_FOR = {Action.HOLD: VehicleStatus.MODE_HOLD, Action.SURFACE: VehicleStatus.MODE_SURFACE,
             Action.RETURN: VehicleStatus.MODE_RETURN}
_SENSOR_TOPICS = {'imu': ('imu/data', Imu), 'pressure': ('pressure', FluidPressure),
                  'dvl': ('dvl', DvlVelocity), 'altimeter': ('altimeter', Range),
                  'gps': ('gps/fix', NavSatFix)}


def _sensor_value(name: str, msg) -> tuple | None:
    """The numbers of a sample, compared exactly for frozen detection; None if the sample
    carries no measurement (a DVL without bottom lock, a GPS without fix), which the rules
    then see as silence (stale) rather than as a reading."""
    if name == 'imu':
        a, w, q = msg.linear_acceleration, msg.angular_velocity, msg.orientation
        return (a.x, a.y, a.z, w.x, w.y, w.z, q.x, q.y, q.z, q.w)
    if name == 'pressure':
        return (msg.fluid_pressure,)
    if name == 'dvl':
        if not msg.velocity_valid:
            return None
        v = msg.velocity
        values = (v.x, v.y, v.z)
    elif name == 'altimeter':
        values = (msg.range,)
    elif name == 'gps':
        if msg.status.status < 0:     # NavSatStatus.STATUS_NO_FIX
            return None
        values = (msg.latitude, msg.longitude, msg.altitude)
    else:
        return ()
    return values if all(math.isfinite(x) for x in values) else None


def parse_fence(text: str) -> list[tuple[float, float]]:
    """'35.31, 139.34; 35.31, 139.35; ...' -> [(lat, lon), ...]; ParameterContractError."""
    points = []
    for k, part in enumerate(p for p in text.split(';') if p.strip()):
        fields = part.split(',')
        try:
            lat, lon = (float(f) for f in fields)
        except ValueError:
            raise ParameterContractError('geofence', text, f"point {k + 1} {part.strip()!r} "
                                         "must be 'lat, lon' in degrees") from None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ParameterContractError('geofence', text, f'point {k + 1} ({lat}, {lon}) is '
                                         'outside lat [-90, 90] / lon [-180, 180]')
        points.append((lat, lon))
    if len(points) < 3:
        raise ParameterContractError('geofence', text,
                                     f'needs at least 3 points, got {len(points)}')
    return points


class SafetySupervisorNode(Node):
    def __init__(self, **kwargs):
        super().__init__('safety_supervisor', **kwargs)
        self.params = declare_contract(self, SPECS)
        p = self.params
        self.vehicle = self.get_namespace().strip('/') or 'vehicle'
        self.vehicle_type = p.vehicle_type or self.vehicle
        try:
            self.vp = load_vehicle(self.vehicle_type)
        except VehicleFileError as err:
            raise ParameterContractError('vehicle_type', self.vehicle_type, str(err)) from None
        try:
            self.datum = datum_from_spec(p.datum)
        except GeodesyError as err:
            raise ParameterContractError('datum', p.datum, str(err)) from None
        self.config = self._make_config()
        self.sup = Supervisor(self.config, self.now())
        self.log = EventLog(p.event_log or default_log_path(self.vehicle))
        self.mode: int | None = None
        self.last_command = -math.inf
        self.pending = None
        self.group = ReentrantCallbackGroup()

        self.events_pub = self.create_publisher(SafetyEvent, 'safety/events', EVENTS)
        self.mode_client = self.create_client(SetControlMode, 'set_control_mode',
                                              callback_group=self.group)
        self.ack_srv = self.create_service(AcknowledgeSafety, 'safety/acknowledge',
                                           self.on_acknowledge)
        self.create_subscription(VehicleStatus, 'status', self.on_status, SENSOR)
        self.create_subscription(Odometry, 'odometry', self.on_odometry, SENSOR)
        self.create_subscription(Bool, 'leak', self.on_leak, SENSOR)
        self.create_subscription(BatteryState, 'battery', self.on_battery, SENSOR)
        self.create_subscription(ThrusterState, 'thrusters/state', self.on_thrusters, SENSOR)
        self.create_subscription(Header, p.heartbeat_topic, self.on_heartbeat, SENSOR)
        self.create_subscription(String, 'mission/active', self.on_mission, LATCHED)
        for name in {w.name for w in self.config.sensors} | {'altimeter'}:
            topic, mtype = _SENSOR_TOPICS[name]
            self.create_subscription(mtype, topic, self._sensor_callback(name), SENSOR)
        self.timer = self.create_timer(1.0 / p.rate_hz, self.on_tick)
        watched = ', '.join(w.name for w in self.config.sensors) or 'none'
        self.get_logger().info(
            f'safety supervisor for {self.vehicle}: max depth {self.config.max_depth_m:g} m, '
            f'min altitude {self.config.min_altitude_m:g} m, sensors watched: {watched}; '
            f'log {self.log.path}')

    # -- configuration ----------------------------------------------------------------
    def now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def _make_config(self) -> SupervisorConfig:
        p, vp = self.params, self.vp
        fence = None
        if p.geofence.strip():
            fence = [self.datum.to_enu(lat, lon)[:2] for lat, lon in parse_fence(p.geofence)]
        watches = []
        for name in p.monitored_sensors:
            if name not in _SENSOR_TOPICS:
                raise ParameterContractError('monitored_sensors', p.monitored_sensors,
                                             f'unknown sensor {name!r}; known: '
                                             f'{", ".join(_SENSOR_TOPICS)}')
            spec = vp.sensors.get(name)
            if spec is None:
                continue   # this vehicle has no such sensor
            period = 1.0 / spec.rate_hz
            watches.append(SensorWatch(name, max(p.stale_min_s, p.stale_periods * period),
                                       max(p.frozen_window_s, (p.frozen_min_samples - 1) * period),
                                       p.frozen_min_samples))
        actions = {r: ACTION_NAMES[getattr(p, f'action_{r}')] for r in RULES}
        if vp.kind == 'surface':
            # a surface vessel is already at the surface: "surface" means stop and hold
            actions = {r: Action.HOLD if a is Action.SURFACE else a for r, a in actions.items()}
        max_depth = p.max_depth_m if p.max_depth_m > 0 else vp.max_depth_m
        try:
            return SupervisorConfig(
                vehicle=self.vehicle, max_depth_m=min(max_depth, vp.max_depth_m),
                min_altitude_m=p.min_altitude_m, geofence_xy=fence,
                battery_capacity_wh=vp.battery.capacity_wh, battery_reserve=p.battery_reserve,
                return_speed_mps=vp.nominal_speed_mps,
                return_power_w=cruise_power_w(vp, vp.nominal_speed_mps, submerged=False),
                ascent_power_w=vertical_power_w(vp),
                heartbeat_timeout_s=p.heartbeat_timeout_s, status_timeout_s=p.status_timeout_s,
                sensors=watches, actions=actions)
        except SafetyConfigError as err:
            raise ParameterContractError('safety', '', str(err)) from None

    # -- inputs -----------------------------------------------------------------------
    def on_status(self, msg: VehicleStatus) -> None:
        self.mode = msg.mode
        self.sup.on_status(self.now(), float(msg.depth_m), float(msg.altitude_m),
                           float(msg.battery_fraction), bool(msg.leak))

    def on_odometry(self, msg: Odometry) -> None:
        pos = msg.pose.pose.position
        self.sup.on_position(self.now(), pos.x, pos.y, -pos.z)

    def on_leak(self, msg: Bool) -> None:
        self.sup.on_leak(self.now(), msg.data)

    def on_battery(self, msg: BatteryState) -> None:
        self.sup.on_battery(self.now(), float(msg.percentage))

    def on_thrusters(self, msg: ThrusterState) -> None:
        self.sup.on_thrusters(self.now(), list(msg.names), list(msg.ok))

    def on_heartbeat(self, msg: Header) -> None:
        self.sup.on_heartbeat(self.now())

    def _sensor_callback(self, name: str):
        watched = any(w.name == name for w in self.config.sensors)

        def callback(msg) -> None:
            now = self.now()
            if name == 'altimeter':
                r = msg.range
                ok = math.isfinite(r) and msg.min_range <= r <= msg.max_range
                self.sup.on_altitude(now, self._origin_altitude(float(r)) if ok else math.nan)
            if watched:
                value = _sensor_value(name, msg)
                if value is not None:
                    self.sup.on_sensor(now, name, value)
        return callback

    def _origin_altitude(self, range_m: float) -> float:
        """Altimeter range -> altitude of the vehicle origin (the missions' altitude)."""
        spec = self.vp.sensors.get('altimeter')
        if spec is None:
            return range_m
        beam = spec.mounting.rotation() @ np.array([1.0, 0.0, 0.0])
        return altitude_from_altimeter(range_m, spec.mounting.position_m, beam)

    def on_mission(self, msg: String) -> None:
        now = self.now()
        if not msg.data:
            if self.sup.mission is not None:
                self.get_logger().info(f'mission {self.sup.mission_name!r} ended')
            self.sup.set_mission(now, None)
            return
        report = validate_text(msg.data, 'mission/active')
        if not report.ok:
            # keep our own limits: they are already in force
            self.get_logger().error('the running mission does not validate here; keeping the '
                                    'supervisor limits: ' + '; '.join(report.lines()[:3]))
            return
        m = report.mission
        try:
            fence = [self.datum.to_enu(q.lat, q.lon)[:2] for q in m.limits.geofence]
        except GeodesyError as err:
            self.get_logger().error(f'mission geofence unusable: {err}')
            return
        on_loss = ACTION_NAMES[m.on_comms_loss]
        if self.vp.kind == 'surface' and on_loss is Action.SURFACE:
            on_loss = Action.HOLD
        self.sup.set_mission(now, MissionLimits(m.limits.max_depth, m.limits.min_altitude, fence,
                                                m.limits.max_duration, m.limits.battery_reserve,
                                                on_loss), m.name)
        self.get_logger().info(f'mission {m.name!r} active: max depth {self.sup.max_depth():g} m, '
                               f'timeout {m.limits.max_duration:g} s')

    # -- evaluation -------------------------------------------------------------------
    def publish(self, ev: Event) -> None:
        msg = SafetyEvent(vehicle=ev.vehicle, rule=ev.rule, severity=int(ev.severity),
                          action=int(ev.action), message=(f'{ev.subject}: ' if ev.subject and
                                                          ev.subject not in ev.message else '')
                          + ev.message, value=ev.value, limit=ev.limit, latched=ev.latched,
                          active=ev.active)
        msg.header.stamp = self.get_clock().now().to_msg()
        self.events_pub.publish(msg)
        self.log.append(ev, mission=self.sup.mission_name)
        text = f'[{ev.rule}] {ev.message} -> {ev.action.name}'
        # rclpy refuses one call site logging at two severities: two call sites
        if ev.active:
            self.get_logger().error(text)
        else:
            self.get_logger().info(text)

    def on_tick(self) -> None:
        now = self.now()
        for ev in self.sup.check(now):
            self.publish(ev)
        self.enforce(now)

    def enforce(self, now: float) -> None:
        action = self.sup.commanded_action()
        mode = _MODE_FOR.get(action)
        if mode is None or self.mode == mode:
            return
        if self.pending is not None and not self.pending.done():
            return
        if now - self.last_command < self.params.command_retry_s:
            return
        if not self.mode_client.service_is_ready():
            self.get_logger().error(f'{action.name} needed but {self.mode_client.srv_name} is '
                                    'not available', throttle_duration_sec=5.0)
            return
        self.last_command = now
        self.pending = self.mode_client.call_async(SetControlMode.Request(mode=mode, arm=False))
        self.pending.add_done_callback(lambda f, a=action: self.on_mode_reply(f, a))

    def on_mode_reply(self, future, action: Action) -> None:
        resp = future.result()
        if resp is None or not resp.success:
            why = resp.message if resp is not None else 'no response'
            self.get_logger().error(f'controller refused {action.name}: {why}')
        else:
            self.get_logger().warn(f'{self.vehicle} commanded to {action.name}')

    def on_acknowledge(self, request, response):
        events = self.sup.acknowledge(self.now(), request.rule, request.operator_name)
        for ev in events:
            self.publish(ev)
        response.cleared = len(events)
        response.success = bool(events) or not request.rule
        remaining = sorted(self.sup.latched)
        response.message = (f'cleared {len(events)}' if events else
                            f'nothing latched for {request.rule!r}' if request.rule else
                            'nothing latched') + \
            (f'; still latched: {", ".join(remaining)}' if remaining else '')
        return response

    def shutdown(self) -> None:
        self.log.close()
        self.destroy_client(self.mode_client)


def main(args=None):
    run_node(SafetySupervisorNode, args)
