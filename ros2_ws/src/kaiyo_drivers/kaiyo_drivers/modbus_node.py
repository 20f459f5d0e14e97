"""ROS node: poll a Modbus device (plant PLC, tower sensors) and publish NamedReadings.

Polling runs in a worker thread (a Modbus timeout must never stall the executor); a timer
drains finished polls and publishes `readings` (kaiyo_interfaces/NamedReadings, one value
per register) and `diagnostics`. Run in namespace /plant as node `modbus` for
/plant/readings. The register table comes from `register_file` (the hardware YAML that also
carries these parameters).
"""
from __future__ import annotations

import math
import queue
import threading

from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node

from kaiyo_common import qos
from kaiyo_common.node_main import run_node
from kaiyo_common.params import ParameterContractError, ParamSpec
from kaiyo_common.ros_params import declare_contract
from kaiyo_drivers.health import ERROR, OK, STALE, WARN, Health
from kaiyo_drivers.modbus_map import DeviceSettings, register_map_parameter
from kaiyo_drivers.modbus_poll import ModbusPoller, PollResult
from kaiyo_drivers.ros_diag import diagnostic_array
from kaiyo_interfaces.msg import NamedReadings

SPECS = [
    ParamSpec('device', 'str', 'Register map name in register_file (device: key), e.g. plant'),
    ParamSpec('register_file', 'str', 'Hardware YAML with the register map; relative paths '
              'are from the repository root'),
    ParamSpec('transport', 'str', 'Modbus transport', 'tcp', choices=('tcp', 'rtu')),
    ParamSpec('host', 'str', 'Device IP address or host name (tcp)', '127.0.0.1'),
    ParamSpec('port', 'int', 'Device TCP port (tcp)', 502, min_value=1, max_value=65535),
    ParamSpec('serial_port', 'str', 'Serial device for RTU, e.g. /dev/ttyUSB0', ''),
    ParamSpec('baud', 'int', 'RTU bit rate, bit/s', 19200,
              choices=(1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)),
    ParamSpec('parity', 'str', 'RTU parity', 'E', choices=('N', 'E', 'O')),
    ParamSpec('stopbits', 'int', 'RTU stop bits', 1, choices=(1, 2)),
    ParamSpec('unit_id', 'int', 'Modbus unit (slave) id', 1, min_value=0, max_value=247),
    ParamSpec('poll_period_s', 'float', 'Time between full polls, s', 1.0,
              min_value=0.05, max_value=3600.0),
    ParamSpec('timeout_s', 'float', 'Per-request answer timeout, s', 0.5,
              min_value=0.01, max_value=30.0),
    ParamSpec('stale_after_s', 'float', 'Readings older than this are reported stale, s', 5.0,
              min_value=0.1, max_value=86400.0),
    ParamSpec('hardware_id', 'str', 'Hardware id shown in diagnostics ("" = device name)', ''),
]


class ModbusNode(Node):
    def __init__(self, **kwargs):
        super().__init__('modbus', **kwargs)
        self.params = declare_contract(self, SPECS)
        p = self.params
        self.rmap = register_map_parameter(p.register_file, p.device)
        if p.transport == 'rtu' and not p.serial_port:
            raise ParameterContractError('serial_port', '', "is required with transport 'rtu'")
        settings = DeviceSettings(
            transport=p.transport, host=p.host, port=p.port, serial_port=p.serial_port,
            baud=p.baud, parity=p.parity, stopbits=p.stopbits, unit_id=p.unit_id,
            poll_period_s=p.poll_period_s, timeout_s=p.timeout_s, stale_after_s=p.stale_after_s)
        self.poller = ModbusPoller(self.rmap, settings)
        self.results: queue.SimpleQueue = queue.SimpleQueue()
        self.last: PollResult | None = None
        self.pub = self.create_publisher(NamedReadings, 'readings', qos.RELIABLE)
        self.diag_pub = self.create_publisher(DiagnosticArray, 'diagnostics', qos.RELIABLE)
        self._stop = threading.Event()
        self._worker = threading.Thread(target=self._poll_loop, name='modbus poll', daemon=True)
        self._worker.start()
        self.create_timer(min(0.1, p.poll_period_s / 2), self.on_drain)
        self.create_timer(1.0, self.on_diagnostics)
        self.get_logger().info(f'polling {len(self.rmap)} registers of {p.device} every '
                               f'{p.poll_period_s} s via {p.transport}')

    def _poll_loop(self) -> None:
        while not self._stop.is_set():
            self.results.put(self.poller.poll())
            self._stop.wait(self.params.poll_period_s)

    def on_drain(self) -> None:
        while True:
            try:
                result = self.results.get_nowait()
            except queue.Empty:
                return
            self._publish(result)

    def _publish(self, r: PollResult) -> None:
        if r.error and (self.last is None or self.last.error != r.error):
            self.get_logger().warning(f'{self.params.device}: {r.error}')
        elif r.ok and self.last is not None and not self.last.ok:
            self.get_logger().info(f'{self.params.device}: all registers read again')
        self.last = r
        msg = NamedReadings()
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.header.frame_id = self.params.device
        msg.device = self.params.device
        msg.names = list(r.names)
        msg.values = [float(v) for v in r.values]
        msg.units = list(r.units)
        msg.valid = list(r.valid)
        msg.age_s = r.age_s if math.isfinite(r.age_s) else float('inf')
        msg.error = r.error
        self.pub.publish(msg)

    def health(self) -> Health:
        r = self.last
        if r is None:
            return Health(STALE, 'no poll finished yet', {})
        values = {'connected': str(r.connected), 'age_s': f'{r.age_s:.2f}',
                  'exception_responses': str(r.exceptions), 'timeouts': str(r.timeouts),
                  'polls': str(self.poller.polls), 'last_error': r.error}
        if not r.connected:
            return Health(ERROR, r.error or 'not connected', values)
        if r.stale:
            return Health(STALE, f'no complete poll for {r.age_s:.1f} s: {r.error}', values)
        if not r.ok:
            return Health(WARN, r.error, values)
        return Health(OK, f'{len(r.names)} registers read', values)

    def on_diagnostics(self) -> None:
        hw = self.params.hardware_id or self.params.device
        self.diag_pub.publish(diagnostic_array(self.get_clock().now().to_msg(),
                                               f'{self.get_name()}: {self.params.device}',
                                               hw, self.health()))

    def shutdown(self) -> None:
        self._stop.set()
        self._worker.join(timeout=self.params.timeout_s * 4 + 1.0)
        self.poller.close()


def main(args=None):
    run_node(ModbusNode, args)
