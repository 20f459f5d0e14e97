"""Teleoperation nodes: gamepad (sensor_msgs/Joy) and terminal keyboard -> `pilot/command`.

Both publish geometry_msgs/TwistStamped stick deflections at `rate_hz` (the controller
treats a command older than its pilot_timeout_s as sticks released, so a dead teleop stops
the vehicle) and call `set_control_mode` (with arm=true) when a mode button/key is pressed.
The keyboard node polls the terminal from a timer (select with zero timeout), so it never
blocks the executor; it restores the terminal on exit.
"""
from __future__ import annotations

import os
import select
import sys

from geometry_msgs.msg import TwistStamped
from rclpy.node import Node
from sensor_msgs.msg import Joy

from kaiyo_common import qos
from kaiyo_common.node_main import run_node
from kaiyo_common.params import ParameterContractError, ParamSpec
from kaiyo_common.ros_params import declare_contract
from kaiyo_control.modes import Mode
from kaiyo_control.teleop import (
    HELP,
    JoyMapping,
    JoyTeleop,
    KeyboardTeleop,
    StickCommand,
    TeleopError,
)
from kaiyo_interfaces.srv import SetControlMode

COMMON = [
    ParamSpec('rate_hz', 'float', 'Pilot command publish rate, Hz', 20.0, min_value=1.0,
              max_value=100.0, read_only=True),
]

JOY_SPECS = COMMON + [
    ParamSpec('surge_axis', 'int', 'Joy axis index for surge', 1, min_value=0),
    ParamSpec('sway_axis', 'int', 'Joy axis index for sway', 3, min_value=0),
    ParamSpec('heave_axis', 'int', 'Joy axis index for heave', 4, min_value=0),
    ParamSpec('yaw_axis', 'int', 'Joy axis index for yaw', 0, min_value=0),
    ParamSpec('scales', 'float[]', 'Scale (sign flips) for surge, sway, heave, yaw, -1..1',
              [1.0, 1.0, 1.0, 1.0], min_value=-1.0, max_value=1.0, min_length=4),
    ParamSpec('deadband', 'float', 'Axis deflection treated as zero, fraction', 0.05,
              min_value=0.0, max_value=0.5),
    ParamSpec('button_manual', 'int', 'Button index for MANUAL (-1: none)', 0, min_value=-1),
    ParamSpec('button_stabilized', 'int', 'Button index for STABILIZED (-1: none)', 1,
              min_value=-1),
    ParamSpec('button_hold', 'int', 'Button index for HOLD (-1: none)', 2, min_value=-1),
    ParamSpec('button_surface', 'int', 'Button index for SURFACE (-1: none)', 3, min_value=-1),
    ParamSpec('joy_timeout_s', 'float', 'No Joy message for this long: publish zero sticks, s',
              0.5, min_value=0.05, max_value=10.0),
]

KEY_SPECS = COMMON + [
    ParamSpec('step', 'float', 'Stick change per key press, fraction of full', 0.1,
              min_value=0.01, max_value=1.0),
]


def _twist(node: Node, cmd: StickCommand) -> TwistStamped:
    msg = TwistStamped()
    msg.header.stamp = node.get_clock().now().to_msg()
    msg.header.frame_id = 'base_link'
    c = cmd.clipped()
    msg.twist.linear.x, msg.twist.linear.y, msg.twist.linear.z = c.surge, c.sway, c.heave
    msg.twist.angular.z = c.yaw
    return msg


class _ModeClient:
    def __init__(self, node: Node):
        self.node = node
        self.client = node.create_client(SetControlMode, 'set_control_mode')

    def request(self, mode: Mode) -> None:
        if not self.client.service_is_ready():
            self.node.get_logger().warning(f'{mode.name}: set_control_mode is not available')
            return
        req = SetControlMode.Request(mode=int(mode), arm=True)
        future = self.client.call_async(req)
        future.add_done_callback(lambda f, m=mode: self._done(m, f))

    def _done(self, mode: Mode, future) -> None:
        res = future.result()
        if res is None:
            self.node.get_logger().warning(f'{mode.name}: no answer from set_control_mode')
        elif res.success:
            self.node.get_logger().info(f'mode {mode.name}')
        else:
            self.node.get_logger().warning(f'mode {mode.name} refused: {res.message}')


class JoyTeleopNode(Node):
    def __init__(self, **kwargs):
        super().__init__('joy_teleop', **kwargs)
        p = self.params = declare_contract(self, JOY_SPECS)
        buttons = tuple((name, getattr(p, f'button_{name}'))
                        for name in ('manual', 'stabilized', 'hold', 'surface')
                        if getattr(p, f'button_{name}') >= 0)
        try:
            self.core = JoyTeleop(JoyMapping(p.surge_axis, p.sway_axis, p.heave_axis,
                                             p.yaw_axis, tuple(p.scales[:4]), p.deadband,
                                             buttons))
        except TeleopError as err:
            raise ParameterContractError('mapping', None, str(err)) from None
        self.cmd = StickCommand()
        self.last_joy = None
        self.modes = _ModeClient(self)
        self.pub = self.create_publisher(TwistStamped, 'pilot/command', qos.RELIABLE)
        self.create_subscription(Joy, 'joy', self.on_joy, qos.SENSOR)
        self.create_timer(1.0 / p.rate_hz, self.on_timer)

    def on_joy(self, msg: Joy) -> None:
        try:
            self.cmd, mode = self.core.update(msg.axes, msg.buttons)
        except TeleopError as err:
            self.get_logger().warning(f'dropped joy message: {err}', throttle_duration_sec=5.0)
            return
        self.last_joy = self.get_clock().now()
        if mode is not None:
            self.modes.request(mode)

    def on_timer(self) -> None:
        now = self.get_clock().now()
        if self.last_joy is None or \
                (now - self.last_joy).nanoseconds * 1e-9 > self.params.joy_timeout_s:
            self.cmd = StickCommand()        # gamepad gone: sticks released
        self.pub.publish(_twist(self, self.cmd))


class KeyboardTeleopNode(Node):
    def __init__(self, stream=None, **kwargs):
        super().__init__('keyboard_teleop', **kwargs)
        self.params = declare_contract(self, KEY_SPECS)
        self.core = KeyboardTeleop(self.params.step)
        self.stream = stream if stream is not None else sys.stdin
        self._saved_tty = None
        if stream is None:
            if not self.stream.isatty():
                raise ParameterContractError('stdin', None, 'keyboard teleop needs a terminal '
                                             '(run it in its own terminal, not from a launcher)')
            import termios
            import tty
            fd = self.stream.fileno()
            self._saved_tty = termios.tcgetattr(fd)
            tty.setcbreak(fd)
            print(HELP, flush=True)
        self.modes = _ModeClient(self)
        self.pub = self.create_publisher(TwistStamped, 'pilot/command', qos.RELIABLE)
        self.create_timer(1.0 / self.params.rate_hz, self.on_timer)

    def read_keys(self) -> str:
        """Whatever keys are waiting (never blocks)."""
        keys = ''
        while True:
            ready, _, _ = select.select([self.stream], [], [], 0.0)
            if not ready:
                return keys
            ch = os.read(self.stream.fileno(), 32).decode(errors='ignore')
            if not ch:
                return keys
            keys += ch

    def on_timer(self) -> None:
        for key in self.read_keys():
            mode = self.core.press(key)
            if mode is not None:
                self.modes.request(mode)
            if self._saved_tty is not None:
                print(f'\r{self.core.line()}   ', end='', flush=True)
        self.pub.publish(_twist(self, self.core.cmd))

    def shutdown(self) -> None:
        self.core.cmd = StickCommand()
        if self._saved_tty is not None:
            import termios
            termios.tcsetattr(self.stream.fileno(), termios.TCSADRAIN, self._saved_tty)
            print()


def joy_main(args=None):
    run_node(JoyTeleopNode, args)


def keyboard_main(args=None):
    run_node(KeyboardTeleopNode, args)
