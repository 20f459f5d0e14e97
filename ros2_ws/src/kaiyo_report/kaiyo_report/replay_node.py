"""Replay node: publish a recorded bag's messages at their recorded pace (x `rate`).

Messages are published as the stored CDR bytes (no decode/encode). A short timer drains
every message that is due by `ReplayClock`; with `clock:=true` the bag time is also
published on /clock (rosgraph_msgs/Clock) so nodes with use_sim_time follow the recording.
`finished` (an rclpy Future) completes after the last message.
"""
from __future__ import annotations

import time

from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.task import Future
from rosgraph_msgs.msg import Clock

from kaiyo_common.params import ParamSpec
from kaiyo_common.ros_params import declare_contract
from kaiyo_report.bag import BagReadReport, bag_topics, iter_bag
from kaiyo_report.recorder_node import message_class
from kaiyo_report.replay import ReplayClock

SPECS = [
    ParamSpec('bag', 'str', 'Bag folder or .mcap file to play, path', read_only=True),
    ParamSpec('rate', 'float', 'Playback speed, x recorded (2.0 = twice as fast)', 1.0,
              min_value=0.01, max_value=1000.0, read_only=True),
    ParamSpec('clock', 'bool', 'Publish the bag time on /clock, bool', False, read_only=True),
    ParamSpec('clock_rate_hz', 'float', 'Rate of /clock messages, Hz', 100.0,
              min_value=1.0, max_value=1000.0, read_only=True),
    ParamSpec('topics', 'str[]', 'Only these topics (empty = all), topic names', [],
              read_only=True),
    ParamSpec('start_delay_s', 'float', 'Wait this long after start-up before the first '
              'message (lets subscribers connect), s', 0.5, min_value=0.0, max_value=600.0,
              read_only=True),
    ParamSpec('wait_for_subscribers', 'int', 'Start only when every topic has at least this '
              'many subscribers (0 = do not wait), count', 0, min_value=0, max_value=100,
              read_only=True),
    ParamSpec('tick_s', 'float', 'How often due messages are drained, s', 0.002,
              min_value=0.0005, max_value=0.1, read_only=True),
]


def _qos(meta: dict) -> QoSProfile:
    text = meta.get('offered_qos_profiles', '')
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST, depth=100,
        reliability=ReliabilityPolicy.BEST_EFFORT if 'best_effort' in text
        else ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.TRANSIENT_LOCAL if 'transient_local' in text
        else DurabilityPolicy.VOLATILE)


class ReplayNode(Node):
    def __init__(self, **kwargs):
        super().__init__('replay', **kwargs)
        self.params = declare_contract(self, SPECS)
        p = self.params
        self.report = BagReadReport()
        self.publishers_by_topic: dict[str, object] = {}
        self.skipped: set[str] = set()
        # publishers exist before the first message so subscribers can connect in time
        for topic, info in bag_topics(p.bag).items():
            if not p.topics or topic in p.topics:
                self._publisher(info)
        self.messages = iter_bag(p.bag, p.topics or None, self.report)
        self.pending = next(self.messages, None)
        self.published = 0
        self.finished = Future()
        self.ready_at = time.monotonic() + p.start_delay_s
        self.clock: ReplayClock | None = None   # starts once the start conditions hold
        self.clock_pub = self.create_publisher(Clock, '/clock', 10) if p.clock else None
        if self.clock_pub is not None:
            self.create_timer(1.0 / p.clock_rate_hz, self.on_clock)
        self.create_timer(p.tick_s, self.on_tick)
        if self.pending is None:
            self.get_logger().warning(f'{p.bag}: no messages to play')
            self.finished.set_result(0)

    def _publisher(self, msg):
        pub = self.publishers_by_topic.get(msg.topic)
        if pub is None and msg.topic not in self.skipped:
            try:
                cls = message_class(msg.type)
            except (ImportError, AttributeError, ValueError) as err:
                self.skipped.add(msg.topic)
                self.get_logger().warning(f'cannot play {msg.topic} ({msg.type}): {err}')
                return None
            pub = self.create_publisher(cls, msg.topic, _qos(msg.channel_metadata))
            self.publishers_by_topic[msg.topic] = pub
        return pub

    def _start_clock(self, now: float) -> bool:
        if self.clock is not None:
            return True
        if now < self.ready_at or self.pending is None:
            return False
        need = self.params.wait_for_subscribers
        if need and any(pub.get_subscription_count() < need
                        for pub in self.publishers_by_topic.values()):
            return False
        self.clock = ReplayClock(self.pending.log_time_ns, now, self.params.rate)
        return True

    def on_tick(self) -> None:
        now = time.monotonic()
        if not self._start_clock(now):
            return
        while self.pending is not None and self.clock.due_s(self.pending.log_time_ns) <= now:
            pub = self._publisher(self.pending)
            if pub is not None:
                pub.publish(self.pending.data)
                self.published += 1
            self.pending = next(self.messages, None)
        if self.pending is None and not self.finished.done():
            for damaged in self.report.truncated:
                self.get_logger().warning(f'recording ends early: {damaged}')
            self.get_logger().info(f'replay done: {self.published} messages')
            self.finished.set_result(self.published)

    def on_clock(self) -> None:
        if self.clock is None:
            return
        ns = self.clock.bag_time_ns(time.monotonic())
        msg = Clock()
        msg.clock.sec, msg.clock.nanosec = divmod(ns, 1_000_000_000)
        self.clock_pub.publish(msg)
