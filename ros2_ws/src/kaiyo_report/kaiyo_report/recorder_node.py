"""Recorder node: subscribe to topics as raw CDR bytes and write them with `bag.BagWriter`.

Topics are found by polling the graph every `discovery_interval_s` (late publishers are
picked up). Each subscription copies the QoS offered by the publishers, as rosbag2 does:
best effort if any publisher is best effort, transient local only if all are. Messages are
never deserialized; the header stamp is read straight from the CDR bytes for the clock
check. A timer flushes the open chunk every `flush_interval_s`, which bounds what a SIGKILL
can lose.
"""
from __future__ import annotations

import importlib
import re
import time

import rclpy.logging
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

from kaiyo_common.mcap_schema import MsgSchemaError, split_type
from kaiyo_common.node_main import run_node
from kaiyo_common.params import ParamSpec
from kaiyo_common.ros_params import declare_contract
from kaiyo_report.bag import BagError, BagWriter, ClockCheck, header_stamp_ns, qos_yaml

SPECS = [
    ParamSpec('out_dir', 'str', 'Bag folder to create (must not exist or be empty), path',
              read_only=True),
    ParamSpec('topics', 'str[]', 'Topics to record (absolute names); empty with all=true '
              'records every topic', [], read_only=True),
    ParamSpec('all', 'bool', 'Record every topic that appears (except hidden ones), bool',
              False, read_only=True),
    ParamSpec('exclude_regex', 'str', 'Topics matching this regular expression are not '
              'recorded ("" = none), regex', '', read_only=True),
    ParamSpec('max_file_size_mb', 'float', 'Start a new .mcap file at this size, MB '
              '(0 = never split by size)', 0.0, min_value=0.0, max_value=1e6, read_only=True),
    ParamSpec('max_file_duration_s', 'float', 'Start a new .mcap file after this long, s '
              '(0 = never split by time)', 0.0, min_value=0.0, max_value=1e7, read_only=True),
    ParamSpec('chunk_size_kb', 'int', 'Uncompressed chunk size, KiB', 768,
              min_value=1, max_value=1024 * 1024, read_only=True),
    ParamSpec('compression', 'str', 'Chunk compression', 'zstd',
              choices=('zstd', 'lz4', 'none'), read_only=True),
    ParamSpec('flush_interval_s', 'float', 'Close the open chunk and flush it to disk this '
              'often, s (most a SIGKILL can lose)', 1.0, min_value=0.01, max_value=60.0),
    ParamSpec('discovery_interval_s', 'float', 'Look for new topics this often, s', 1.0,
              min_value=0.05, max_value=60.0),
    ParamSpec('max_clock_offset_s', 'float', 'Warn when the recorder clock or a header '
              'stamp is further than this from the wall clock, s', 60.0,
              min_value=0.001, max_value=1e9),
]


def message_class(type_name: str):
    """The generated Python class of 'pkg/msg/Type' (ImportError/AttributeError if absent)."""
    pkg, name = split_type(type_name)
    return getattr(importlib.import_module(f'{pkg}.msg'), name)


def is_hidden(topic: str) -> bool:
    return any(part.startswith('_') for part in topic.split('/'))


class RecorderNode(Node):
    def __init__(self, **kwargs):
        super().__init__('recorder', **kwargs)
        self.params = declare_contract(self, SPECS)
        p = self.params
        if not p.all and not p.topics:
            raise BagError('nothing to record: give topics or set all:=true')
        try:
            self.exclude = re.compile(p.exclude_regex) if p.exclude_regex else None
        except re.error as err:
            raise BagError(f'exclude_regex {p.exclude_regex!r}: {err}') from None
        self.wanted = {t if t.startswith('/') else '/' + t for t in p.topics}
        self.writer = BagWriter(p.out_dir, int(p.max_file_size_mb * 1e6), p.max_file_duration_s,
                                p.chunk_size_kb * 1024, p.compression)
        self.clock_check = ClockCheck(p.max_clock_offset_s)
        self.subscriptions_by_topic: dict[str, object] = {}
        self.skipped: set[str] = set()
        self.received = 0
        self.create_timer(p.discovery_interval_s, self.on_discovery)
        self.create_timer(p.flush_interval_s, self.on_flush)
        self.on_discovery()
        self.get_logger().info(f'recording to {self.writer.dir} '
                               f"({'all topics' if p.all else ', '.join(sorted(self.wanted))})")

    def _selected(self, topic: str) -> bool:
        if topic in self.subscriptions_by_topic or topic in self.skipped:
            return False
        if self.exclude is not None and self.exclude.search(topic):
            return False
        if self.params.all:
            return not is_hidden(topic)
        return topic in self.wanted

    def _qos(self, topic: str) -> QoSProfile:
        infos = self.get_publishers_info_by_topic(topic)
        best_effort = any(i.qos_profile.reliability == ReliabilityPolicy.BEST_EFFORT
                          for i in infos)
        latched = bool(infos) and all(
            i.qos_profile.durability == DurabilityPolicy.TRANSIENT_LOCAL for i in infos)
        return QoSProfile(
            history=HistoryPolicy.KEEP_LAST, depth=100,
            reliability=(ReliabilityPolicy.BEST_EFFORT if best_effort
                         else ReliabilityPolicy.RELIABLE),
            durability=DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE)

    def on_discovery(self) -> None:
        for topic, types in self.get_topic_names_and_types():
            if not self._selected(topic):
                continue
            if not self.get_publishers_info_by_topic(topic):
                continue  # only subscribers so far: wait for a publisher to learn its QoS
            type_name = types[0]
            try:
                cls = message_class(type_name)
                qos = self._qos(topic)
                self.writer.add_topic(topic, type_name, qos_yaml(
                    'best_effort' if qos.reliability == ReliabilityPolicy.BEST_EFFORT
                    else 'reliable',
                    'transient_local' if qos.durability == DurabilityPolicy.TRANSIENT_LOCAL
                    else 'volatile', qos.depth))
            except (ImportError, AttributeError, MsgSchemaError, BagError) as err:
                self.skipped.add(topic)
                self.get_logger().warning(f'not recording {topic} ({type_name}): {err}')
                continue
            self.subscriptions_by_topic[topic] = self.create_subscription(
                cls, topic, lambda data, t=topic: self.on_message(t, data), qos, raw=True)
            self.get_logger().info(f'recording {topic} [{type_name}]')

    def on_message(self, topic: str, data: bytes) -> None:
        log_ns = self.get_clock().now().nanoseconds
        wall_ns = time.time_ns()
        header = header_stamp_ns(data) if self.writer.topics[topic].header_first else None
        warning = self.clock_check.check(topic, log_ns, wall_ns, header)
        if warning:
            self.get_logger().warning(warning)
        self.writer.write(topic, data, log_ns)
        self.received += 1

    def on_flush(self) -> None:
        self.writer.flush()

    def shutdown(self) -> None:
        self.writer.close()
        # the context may already be shut down (Ctrl-C): log without /rosout
        rclpy.logging.get_logger('kaiyo_record').info(
            f'closed {self.writer.dir}: {self.writer.message_count} messages '
                               f'in {len(self.writer.files)} file(s)')


def main(args=None):
    try:
        run_node(RecorderNode, args)
    except BagError as err:
        raise SystemExit(f'[recorder] error: {err}') from None
