"""ROS node: Water Linked DVL-A50 over TCP (JSON lines, kaiyo_drivers.dvl_a50).

Publishes `dvl` (kaiyo_interfaces/DvlVelocity, FLU mounting frame) for every velocity
report, including invalid ones (velocity_valid false, altitude NaN: the navigation filter
must see bottom-lock loss), and serves `dvl/reset_dead_reckoning` (std_srvs/Trigger: sends
the command; the DVL's response is logged). Malformed lines are dropped and counted.
"""
from __future__ import annotations

import math

from std_srvs.srv import Trigger

from kaiyo_common import qos
from kaiyo_common.node_main import run_node
from kaiyo_drivers.dvl_a50 import DvlDecoder, PositionReport, Response, VelocityReport, command
from kaiyo_drivers.stream_node import StreamDriverNode, link_specs
from kaiyo_interfaces.msg import DvlVelocity

SPECS = link_specs(transport='tcp', net_port=16171, stale_after_s=2.0, transports=('tcp',))


class DvlNode(StreamDriverNode):
    def __init__(self, **kwargs):
        super().__init__('dvl_driver', SPECS, **kwargs)
        self.decoder = DvlDecoder()
        self.invalid_reports = 0
        self.pub = self.create_publisher(DvlVelocity, 'dvl', qos.SENSOR)
        self.create_service(Trigger, 'dvl/reset_dead_reckoning', self.on_reset)

    def on_bytes(self, stamp, data: bytes) -> None:
        bad0 = self.decoder.bad
        reports = self.decoder.feed(data)
        if self.decoder.bad > bad0:
            self.count_bad(self.decoder.last_error, self.decoder.bad - bad0)
        for rep in reports:
            if isinstance(rep, VelocityReport):
                self.count_good()
                self.publish(stamp, rep)
            elif isinstance(rep, Response):
                log = self.get_logger().info if rep.success else self.get_logger().error
                log(f'DVL {rep.response_to}: {"ok" if rep.success else rep.error_message}')
            elif isinstance(rep, PositionReport):
                self.count_good()

    def publish(self, stamp, rep: VelocityReport) -> None:
        msg = DvlVelocity()
        msg.header.stamp = stamp.to_msg()
        msg.header.frame_id = self.params.frame_id
        msg.velocity.x, msg.velocity.y, msg.velocity.z = rep.velocity_flu
        msg.covariance = list(rep.covariance_flu)
        msg.velocity_valid = rep.velocity_valid
        if not rep.velocity_valid:
            self.invalid_reports += 1
        msg.altitude_m = rep.altitude_m
        msg.figure_of_merit = rep.fom
        msg.beam_valid = list(rep.beam_valid)
        msg.beam_range_m = [r if math.isfinite(r) else math.nan for r in rep.beam_range_m]
        msg.time_of_validity_s = rep.time_of_validity_s
        self.pub.publish(msg)

    def on_reset(self, request, response):
        response.success = self.send(command('reset_dead_reckoning'))
        response.message = ('sent; the DVL answers on the stream' if response.success
                            else f'not connected: {self.runner.stats.last_error}')
        return response

    def extra_health(self) -> dict:
        return {'invalid_velocity_reports': str(self.invalid_reports),
                'ignored_reports': str(self.decoder.ignored)}


def main(args=None):
    run_node(DvlNode, args)
