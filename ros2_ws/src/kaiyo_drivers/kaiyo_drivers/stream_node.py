"""The shape every byte-stream driver node shares (serial / TCP / UDP devices).

`StreamDriverNode` declares the link part of the parameter contract, owns a LinkRunner
(background thread, reconnect with exponential backoff), drains received bytes from a
timer into `on_bytes()` of the subclass, and publishes `diagnostics` from `health()`.
Subclasses add their own parameters, publishers and the protocol core; they never block.
"""
from __future__ import annotations

import time

from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node

from kaiyo_common import qos
from kaiyo_common.params import ParameterContractError, ParamSpec
from kaiyo_common.ros_params import declare_contract
from kaiyo_drivers.health import Health, link_health
from kaiyo_drivers.link import Backoff, LinkRunner, LinkState, make_link
from kaiyo_drivers.ros_diag import diagnostic_array


def link_specs(transport='serial', baud=115200, net_port=0, stale_after_s=2.0,
               transports=('serial', 'tcp', 'udp')) -> list[ParamSpec]:
    return [
        ParamSpec('transport', 'str', 'How the device is connected', transport,
                  choices=transports),
        ParamSpec('port', 'str', 'Serial device path, e.g. /dev/ttyUSB0 (serial)', ''),
        ParamSpec('baud', 'int', 'Serial bit rate, bit/s', baud,
                  choices=(1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400,
                           460800, 921600)),
        ParamSpec('host', 'str', 'Device address (tcp) or local bind address (udp)',
                  '127.0.0.1'),
        ParamSpec('net_port', 'int', 'TCP port of the device or local UDP port', net_port,
                  min_value=0, max_value=65535),
        ParamSpec('reconnect_initial_s', 'float', 'First reconnect delay after a loss, s', 0.2,
                  min_value=0.01, max_value=60.0),
        ParamSpec('reconnect_max_s', 'float', 'Longest reconnect delay (backoff cap), s', 5.0,
                  min_value=0.01, max_value=600.0),
        ParamSpec('stale_after_s', 'float', 'No valid frame for this long -> STALE, s',
                  stale_after_s, min_value=0.05, max_value=3600.0),
        ParamSpec('frame_id', 'str', 'TF frame of the sensor', 'sensor'),
        ParamSpec('hardware_id', 'str', 'Hardware id in diagnostics ("" = port or address)', ''),
        ParamSpec('diagnostic_period_s', 'float', 'Diagnostics publish period, s', 1.0,
                  min_value=0.1, max_value=60.0),
        ParamSpec('drain_period_s', 'float', 'How often received bytes are processed, s',
                  0.02, min_value=0.001, max_value=1.0),
    ]


class StreamDriverNode(Node):
    """Base of serial/TCP/UDP drivers; see the module docstring."""

    def __init__(self, name: str, specs: list[ParamSpec], **kwargs):
        super().__init__(name, **kwargs)
        self.params = declare_contract(self, specs)
        p = self.params
        if p.reconnect_max_s < p.reconnect_initial_s:
            raise ParameterContractError('reconnect_max_s', p.reconnect_max_s,
                                         'must be >= reconnect_initial_s')
        if p.transport == 'serial' and not p.port:
            raise ParameterContractError('port', p.port, "is required with transport 'serial'")
        if p.transport == 'tcp' and p.net_port == 0:
            raise ParameterContractError('net_port', 0, "is required with transport 'tcp'")
        self.link = make_link(p.transport, port=p.port, baud=p.baud, host=p.host,
                              net_port=p.net_port)
        self.runner = LinkRunner(self.link, Backoff(p.reconnect_initial_s, p.reconnect_max_s))
        self.good_frames = 0
        self.bad_frames = 0
        self.last_good = float('nan')      # monotonic time of the last valid frame
        self.last_bad_reason = ''
        self._last_state = None
        self.diag_pub = self.create_publisher(DiagnosticArray, 'diagnostics', qos.RELIABLE)
        self.create_timer(p.drain_period_s, self.on_drain)
        self.create_timer(p.diagnostic_period_s, self.on_diagnostics)
        self.runner.start()

    # -- for subclasses
    def on_bytes(self, stamp, data: bytes) -> None:
        raise NotImplementedError

    def count_good(self, n: int = 1) -> None:
        self.good_frames += n
        self.last_good = time.monotonic()

    def count_bad(self, reason: str, n: int = 1) -> None:
        self.bad_frames += n
        self.last_bad_reason = reason
        # a noisy line would flood the log: one line per 100 bad frames after the first
        if self.bad_frames <= 1 or self.bad_frames % 100 == 0:
            self.get_logger().warning(f'dropped bad frame #{self.bad_frames}: {reason}')

    def extra_health(self) -> dict:
        return {}

    def health(self) -> Health:
        extra = {'last_bad_frame': self.last_bad_reason, **self.extra_health()}
        return link_health(self.runner.stats, time.monotonic(), self.last_good,
                           self.params.stale_after_s, self.good_frames, self.bad_frames, extra)

    # -- callbacks
    def on_drain(self) -> None:
        state = self.runner.stats.state
        if state != self._last_state:
            self._log_state(state)
            self._last_state = state
        for _, data in self.runner.drain():
            self.on_bytes(self.get_clock().now(), data)

    def _log_state(self, state: LinkState) -> None:
        stats = self.runner.stats
        if state == LinkState.CONNECTED:
            self.get_logger().info(f'connected: {self.link.describe()}')
        elif state == LinkState.DISCONNECTED:
            self.get_logger().error(f'{self.link.describe()}: {stats.last_error}; retrying '
                                    f'with backoff up to {self.params.reconnect_max_s} s')

    def on_diagnostics(self) -> None:
        hw = self.params.hardware_id or self.link.describe()
        self.diag_pub.publish(diagnostic_array(self.get_clock().now().to_msg(),
                                               f'{self.get_name()}', hw, self.health()))

    def send(self, data: bytes) -> bool:
        return self.runner.write(data)

    def shutdown(self) -> None:
        self.runner.stop()
