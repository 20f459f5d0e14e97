"""Live web view node: ROS topics -> LiveState -> websocket (`kaiyo web`).

Subscribes per vehicle to `status` (VehicleStatus), `odometry` (Odometry) and
`safety/events` (SafetyEvent), and station-wide to `/plant/status` (PlantStatus) and
`/tower/sea_state` (SeaState); pushes a snapshot to every browser at `push_rate_hz`.
Read-only unless `token_file` names a file holding a command token: then an
`acknowledge_safety` command carrying that token calls `/<vehicle>/safety/acknowledge`.
The server listens on 127.0.0.1 by default; set `host` to serve the station LAN.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path

from nav_msgs.msg import Odometry
from rclpy.node import Node

from kaiyo_common import qos
from kaiyo_common.frames import quat_from_ros, rpy_from_quat
from kaiyo_common.node_main import run_node
from kaiyo_common.params import ParameterContractError, ParamSpec
from kaiyo_common.ros_params import declare_contract
from kaiyo_interfaces.msg import PlantStatus, SafetyEvent, SeaState, VehicleStatus
from kaiyo_interfaces.srv import AcknowledgeSafety
from kaiyo_report.live import CommandGate, CommandResult, LiveError, LiveState
from kaiyo_report.web_page import render_page
from kaiyo_report.web_server import LiveServer

SPECS = [
    ParamSpec('host', 'str', 'Address to listen on (127.0.0.1 = this computer only; '
              '0.0.0.0 = every interface), IP address', '127.0.0.1', read_only=True),
    ParamSpec('port', 'int', 'TCP port of the page and websocket (0 = any free port), port',
              8765, min_value=0, max_value=65535, read_only=True),
    ParamSpec('vehicles', 'str[]', 'Vehicle namespaces to show, names',
              ['camera_robot', 'hover_auv', 'wave_boat'], min_length=1, read_only=True),
    ParamSpec('token_file', 'str', 'File holding the command token (>= 16 characters); '
              '"" = read-only, every command refused, path', '', read_only=True),
    ParamSpec('push_rate_hz', 'float', 'Snapshots sent to browsers per second, Hz', 2.0,
              min_value=0.1, max_value=30.0, read_only=True),
    ParamSpec('stale_after_s', 'float', 'A vehicle or the plant silent this long is shown '
              'as stale, s', 5.0, min_value=0.5, max_value=3600.0),
    ParamSpec('ack_timeout_s', 'float', 'How long an acknowledge command waits for the '
              'safety supervisor, s', 5.0, min_value=0.5, max_value=60.0),
]


def read_token(path: str) -> str:
    """The token in `path` (surrounding whitespace removed); '' when path is ''."""
    if not path:
        return ''
    try:
        token = Path(path).read_text(encoding='utf-8').strip()
    except OSError as err:
        raise ParameterContractError('token_file', path,
                                     f'cannot read it ({err.strerror})') from None
    if not token:
        raise ParameterContractError('token_file', path, 'the file is empty')
    return token


class _Once:
    """Call `fn` only the first time (a reply or its timeout, whichever comes first)."""

    def __init__(self, fn):
        self.fn, self.lock, self.called = fn, threading.Lock(), False

    def __call__(self, *args) -> None:
        with self.lock:
            if self.called:
                return
            self.called = True
        self.fn(*args)


class WebNode(Node):
    def __init__(self, **kwargs):
        super().__init__('web', **kwargs)
        self.params = declare_contract(self, SPECS, on_change=self.on_param)
        p = self.params
        try:
            self.state = LiveState(list(p.vehicles), p.stale_after_s)
            gate = CommandGate(read_token(p.token_file), list(p.vehicles))
        except LiveError as err:
            raise ParameterContractError('vehicles/token_file', '', str(err)) from None
        self.ack_clients = {}
        for v in p.vehicles:
            ns = f'/{v}'
            self.create_subscription(VehicleStatus, f'{ns}/status',
                                     lambda m, v=v: self.on_status(v, m), qos.SENSOR)
            self.create_subscription(Odometry, f'{ns}/odometry',
                                     lambda m, v=v: self.on_odometry(v, m), qos.SENSOR)
            self.create_subscription(SafetyEvent, f'{ns}/safety/events',
                                     lambda m, v=v: self.on_safety(v, m), qos.EVENTS)
            self.ack_clients[v] = self.create_client(AcknowledgeSafety, f'{ns}/safety/acknowledge')
        self.create_subscription(PlantStatus, '/plant/status', self.on_plant, qos.SENSOR)
        self.create_subscription(SeaState, '/tower/sea_state', self.on_sea_state, qos.LATCHED)
        self.server = LiveServer(p.host, p.port, render_page(list(p.vehicles)), gate,
                                 self.on_command)
        try:
            self.port = self.server.start()
        except LiveError as err:
            raise ParameterContractError('host/port', f'{p.host}:{p.port}', str(err)) from None
        self.create_timer(1.0 / p.push_rate_hz, self.on_push)
        mode = 'read-only' if gate.read_only else 'commands need the token'
        self.get_logger().info(f'live view on http://{p.host}:{self.port}/ ({mode})')
        if not gate.read_only and p.host not in ('127.0.0.1', 'localhost', '::1'):
            self.get_logger().warning(
                f'serving on {p.host} without TLS: the command token crosses the network in '
                'clear text; keep this to a trusted station LAN (or tunnel over SSH)')

    def on_param(self, name: str, value) -> None:
        if name == 'stale_after_s':
            self.state.stale_after_s = value

    # -- ROS inputs ----------------------------------------------------------------------
    def on_status(self, vehicle: str, m: VehicleStatus) -> None:
        self.state.update_status(
            vehicle, time.monotonic(), mode=m.mode, armed=m.armed,
            battery_fraction=m.battery_fraction, battery_voltage_v=m.battery_voltage_v,
            leak=m.leak, depth_m=m.depth_m, altitude_m=m.altitude_m, health=m.health,
            health_message=m.health_message)

    def on_odometry(self, vehicle: str, m: Odometry) -> None:
        p, q = m.pose.pose.position, m.pose.pose.orientation
        yaw = rpy_from_quat(quat_from_ros(q.x, q.y, q.z, q.w))[2]
        self.state.update_pose(vehicle, time.monotonic(), p.x, p.y, p.z, yaw)

    def on_safety(self, vehicle: str, m: SafetyEvent) -> None:
        self.state.update_safety(vehicle, time.time(), rule=m.rule, severity=m.severity,
                                 message=m.message, active=m.active)

    def on_plant(self, m: PlantStatus) -> None:
        self.state.update_plant(time.monotonic(), power_kw=m.power_kw,
                                energy_today_kwh=m.energy_today_kwh,
                                generator_state=m.generator_state,
                                active_alarms=m.active_alarms, data_stale=m.data_stale)

    def on_sea_state(self, m: SeaState) -> None:
        self.state.update_sea_state(hs_m=m.hs_m, tp_s=m.tp_s, source=m.source)

    def on_push(self) -> None:
        self.server.publish(self.state.snapshot(time.monotonic(), time.time()))

    # -- commands (called on the server thread) ------------------------------------------
    def on_command(self, result: CommandResult, done) -> None:
        vehicle = result.args['vehicle']
        client = self.ack_clients[vehicle]
        self.get_logger().info(f'web command {result.command} for {vehicle} '
                               f'(operator {result.args["operator"]!r})')
        if not client.service_is_ready():
            done(False, f'/{vehicle}/safety/acknowledge is not available '
                        '(is the safety supervisor running?)')
            return
        once = _Once(done)
        future = client.call_async(AcknowledgeSafety.Request(
            rule=result.args['rule'], operator_name=result.args['operator']))
        future.add_done_callback(lambda f: self._ack_done(f, once))
        timer = threading.Timer(self.params.ack_timeout_s, once, (
            False, f'no answer from /{vehicle}/safety/acknowledge within '
                   f'{self.params.ack_timeout_s:g} s'))
        timer.daemon = True
        timer.start()

    def _ack_done(self, future, done) -> None:
        reply = future.result()
        if reply is None:
            done(False, 'no answer from the safety supervisor')
        else:
            done(bool(reply.success), f'{reply.message} ({reply.cleared} cleared)')

    def shutdown(self) -> None:
        self.server.stop()


def main(args=None):
    run_node(WebNode, args)
