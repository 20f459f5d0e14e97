"""ROS node: thrusters of the custom-built robots over the KTP serial protocol.

Subscribes `thrusters/command` (kaiyo_interfaces/ThrusterCommand, N per named thruster),
sends THRUST frames at `send_rate_hz` (which also feeds the controller's own watchdog),
publishes `thrusters/state` from the controller's telemetry, and serves `thrusters/arm`
(std_srvs/SetBool; answers only after the controller's ACK, or fails on a refusal or a
timeout). Watchdog: if no command arrives for `command_timeout_s`, zero thrust is sent.
Protocol: kaiyo_drivers.thruster_protocol.
"""
from __future__ import annotations

import math
import queue
import time

from std_srvs.srv import SetBool

from kaiyo_common import qos
from kaiyo_common.node_main import run_node
from kaiyo_common.params import ParameterContractError, ParamSpec
from kaiyo_drivers.health import WARN, Health
from kaiyo_drivers.stream_node import StreamDriverNode, link_specs
from kaiyo_drivers.thruster_protocol import AckStatus, HostSession, ProtocolError
from kaiyo_interfaces.msg import ThrusterCommand, ThrusterState

SPECS = link_specs(transport='serial', baud=115200, stale_after_s=1.0,
                   transports=('serial', 'tcp')) + [
    ParamSpec('thruster_names', 'str[]', 'Thruster names in the controller\'s channel order',
              min_length=1),
    ParamSpec('max_thrust_n', 'float', 'Demands are clipped to ±this, N', 50.0,
              min_value=0.1, max_value=327.0),
    ParamSpec('send_rate_hz', 'float', 'THRUST frames per second', 20.0,
              min_value=1.0, max_value=200.0),
    ParamSpec('command_timeout_s', 'float', 'No command for this long -> send zero thrust, s',
              0.5, min_value=0.05, max_value=10.0),
    ParamSpec('ack_timeout_s', 'float', 'A frame without ACK after this long is missed, s',
              0.2, min_value=0.01, max_value=5.0),
]


class ThrusterNode(StreamDriverNode):
    def __init__(self, **kwargs):
        super().__init__('thruster_driver', SPECS, **kwargs)
        p = self.params
        if len(set(p.thruster_names)) != len(p.thruster_names):
            raise ParameterContractError('thruster_names', p.thruster_names,
                                         'names must be unique')
        self.session = HostSession(p.ack_timeout_s)
        self.demand = [0.0] * len(p.thruster_names)
        self.last_command = None          # monotonic s of the last accepted command
        self.watchdog_active = True       # nothing received yet: send zeros
        self.watchdog_trips = 0
        self.rejected_commands = 0
        self._missed_seen = 0
        self._answered_seen = 0
        self._arm_results: dict = {}     # seq of an ARM in flight -> AckStatus | None
        self.state_pub = self.create_publisher(ThrusterState, 'thrusters/state', qos.SENSOR)
        self.create_subscription(ThrusterCommand, 'thrusters/command', self.on_command,
                                 qos.RELIABLE)
        self.create_service(SetBool, 'thrusters/arm', self.on_arm)
        self.create_timer(1.0 / p.send_rate_hz, self.on_send)

    def on_command(self, msg: ThrusterCommand) -> None:
        if len(msg.names) != len(msg.thrust_n):
            self._reject(f'{len(msg.names)} names but {len(msg.thrust_n)} thrust values')
            return
        index = {n: i for i, n in enumerate(self.params.thruster_names)}
        # a thruster the message does not name gets zero, never its old demand
        demand = [0.0] * len(self.params.thruster_names)
        for name, t in zip(msg.names, msg.thrust_n):
            if name not in index:
                self._reject(f"unknown thruster '{name}'; known: "
                             f"{', '.join(self.params.thruster_names)}")
                return
            if not math.isfinite(t):
                self._reject(f"thrust of '{name}' is {t}")
                return
            m = self.params.max_thrust_n
            demand[index[name]] = min(max(float(t), -m), m)
        self.demand = demand
        self.last_command = time.monotonic()

    def _reject(self, why: str) -> None:
        self.rejected_commands += 1
        self.get_logger().warning(f'thrusters/command dropped: {why}')

    def on_send(self) -> None:
        now = time.monotonic()
        stale = self.last_command is None or now - self.last_command > \
            self.params.command_timeout_s
        if stale and not self.watchdog_active and self.last_command is not None:
            self.watchdog_trips += 1
            self.get_logger().warning(f'no thrusters/command for '
                                      f'{self.params.command_timeout_s} s: zero thrust')
        self.watchdog_active = stale
        demand = [0.0] * len(self.demand) if stale else self.demand
        if stale:
            self.demand = demand
        try:
            _, frame = self.session.thrust(demand, now)
        except ProtocolError as err:     # cannot happen after clipping; keep running anyway
            self.get_logger().error(f'cannot encode thrust: {err}')
            return
        self.send(frame)
        self.session.expire(now)

    def on_bytes(self, stamp, data: bytes) -> None:
        before = self.session.parser.bad + self.session.bad_payloads
        acks, telemetry = self.session.feed(data, time.monotonic())
        bad = self.session.parser.bad + self.session.bad_payloads - before
        if bad:
            self.count_bad(self.session.parser.last_error or self.session.last_error, bad)
        if acks or telemetry:
            self.count_good(len(acks) + len(telemetry))
        for ack in acks:
            if ack.seq in self._arm_results:
                self._arm_results[ack.seq] = ack.status
        for tel in telemetry:
            self.publish_state(stamp, tel)

    def publish_state(self, stamp, tel) -> None:
        msg = ThrusterState()
        msg.header.stamp = stamp.to_msg()
        names = self.params.thruster_names
        if len(tel.thrusters) != len(names):
            self.count_bad(f'telemetry for {len(tel.thrusters)} thrusters, '
                           f'{len(names)} configured')
            return
        msg.names = list(names)
        msg.thrust_n = [r.thrust_n for r in tel.thrusters]
        msg.rpm = [r.rpm for r in tel.thrusters]
        msg.current_a = [r.current_a for r in tel.thrusters]
        msg.ok = [r.fault == 0 and not tel.watchdog_tripped for r in tel.thrusters]
        self.state_pub.publish(msg)

    def on_arm(self, request, response):
        """Send ARM and wait for its ACK (at most ack_timeout_s: a bounded wait, the
        link thread keeps receiving meanwhile)."""
        seq, frame = self.session.arm(request.data, time.monotonic())
        word = 'arm' if request.data else 'disarm'
        if not self.send(frame):
            response.success = False
            response.message = f'{word}: not connected: {self.runner.stats.last_error}'
            return response
        self._arm_results[seq] = None
        deadline = time.monotonic() + self.params.ack_timeout_s
        status = None
        while seq in self._arm_results and self._arm_results[seq] is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                _, data = self.runner.rx.get(timeout=remaining)
            except queue.Empty:
                break
            self.on_bytes(self.get_clock().now(), data)
        status = self._arm_results.pop(seq, None)
        if status is None:
            response.success = False
            response.message = f'{word}: no ACK within {self.params.ack_timeout_s} s'
        elif status != AckStatus.OK:
            response.success = False
            response.message = f'{word} refused by the controller: {status.name}'
        else:
            response.success = True
            response.message = f'{word}ed (ACK seq {seq})'
        return response

    def extra_health(self) -> dict:
        s = self.session
        tel = s.telemetry
        return {'acks_ok': str(s.acks_ok), 'nacks': str(s.nacks),
                'missed_acks': str(s.missed_acks), 'watchdog_active': str(self.watchdog_active),
                'watchdog_trips': str(self.watchdog_trips),
                'rejected_commands': str(self.rejected_commands),
                'controller_armed': str(tel.armed) if tel else 'unknown',
                'controller_watchdog_tripped': str(tel.watchdog_tripped) if tel else 'unknown',
                'bus_voltage_v': f'{tel.bus_voltage_v:.2f}' if tel else 'unknown'}

    def health(self):
        h = super().health()
        s = self.session
        # ACKs missed since the last report, with none answered: the board is not
        # listening (wrong baud, wrong port, firmware hung) although bytes may arrive
        missed = s.missed_acks - self._missed_seen
        answered = s.acks_ok + s.nacks - self._answered_seen
        self._missed_seen, self._answered_seen = s.missed_acks, s.acks_ok + s.nacks
        if h.level == 0 and missed and not answered:
            return Health(WARN, f'controller did not acknowledge {missed} frames', h.values)
        tel = s.telemetry
        if h.level == 0 and tel is not None and tel.watchdog_tripped:
            return Health(WARN, 'controller watchdog tripped: thrust zeroed on the board',
                          h.values)
        return h

    def shutdown(self) -> None:
        # leave the thrusters stopped and disarmed, whatever the controller's watchdog does
        try:
            self.send(self.session.thrust([0.0] * len(self.demand), time.monotonic())[1])
            self.send(self.session.arm(False, time.monotonic())[1])
        finally:
            super().shutdown()


def main(args=None):
    run_node(ThrusterNode, args)
