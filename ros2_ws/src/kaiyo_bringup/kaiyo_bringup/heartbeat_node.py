"""Station heartbeat: the tower station's "I am here" beacon.

Vehicles' safety supervisors watch `/tower/heartbeat` to detect loss of comms with the
station (radio or tether). Each message is a std_msgs/Header: stamp = send time, frame_id =
station name, so the receiver can measure both silence and latency.
"""
from __future__ import annotations

from rclpy.node import Node
from std_msgs.msg import Header

from kaiyo_common.node_main import run_node
from kaiyo_common.params import ParamSpec
from kaiyo_common.qos import RELIABLE
from kaiyo_common.ros_params import declare_contract

SPECS = [
    ParamSpec('station', 'str', 'Station name written in each heartbeat (frame_id)', 'tower'),
    ParamSpec('rate_hz', 'float', 'Heartbeat rate, Hz', 2.0, min_value=0.1, max_value=50.0),
]


class HeartbeatNode(Node):
    def __init__(self, **kwargs):
        super().__init__('heartbeat', **kwargs)
        self.params = declare_contract(self, SPECS)
        self.publisher = self.create_publisher(Header, 'heartbeat', RELIABLE)
        self.timer = self.create_timer(1.0 / self.params.rate_hz, self.on_timer)
        self.get_logger().info(f"station '{self.params.station}' heartbeat at "
                               f'{self.params.rate_hz} Hz on {self.publisher.topic_name}')

    def on_timer(self) -> None:
        msg = Header(frame_id=self.params.station)
        msg.stamp = self.get_clock().now().to_msg()
        self.publisher.publish(msg)


def main(args=None):
    run_node(HeartbeatNode, args)
