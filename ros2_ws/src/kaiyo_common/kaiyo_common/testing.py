"""Test helpers that wait on events, never on sleeps (used by kaiyo's node tests).

    with ros_context() as ctx:
        node = MyNode(context=ctx, parameter_overrides=[...])
        probe = Probe(ctx)
        got = probe.collect(VehicleStatus, '/hover_auv/status')
        assert probe.spin_until(lambda: got, timeout=5.0, nodes=[node])

Every wait has a timeout and returns False (or raises) instead of hanging. The root
conftest gives each test process its own ROS_DOMAIN_ID and localhost-only discovery.
"""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterable

import rclpy
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node


def isolate_ros_environment(seed: int | None = None) -> int:
    """Give this process its own ROS_DOMAIN_ID (10..99) and localhost-only discovery."""
    os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
    if 'KAIYO_TEST_DOMAIN_FIXED' not in os.environ:
        worker = os.environ.get('PYTEST_XDIST_WORKER', 'gw0')
        n = int(''.join(c for c in worker if c.isdigit()) or 0)
        base = seed if seed is not None else os.getpid()
        os.environ['ROS_DOMAIN_ID'] = str(10 + (base * 7 + n * 13) % 90)
    return int(os.environ['ROS_DOMAIN_ID'])


def stop_process(proc: subprocess.Popen, timeout: float = 15.0,
                 group: bool = False) -> int:
    """Ctrl-C a child process (as a user would), wait up to `timeout` s for it to exit, and
    kill it (its whole process group with `group`) if it does not. Returns its exit code
    (negative: killed by that signal), so a test can assert the clean exit it expects."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            if group:
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                proc.kill()
            proc.wait(timeout=10)
    return proc.returncode


@contextlib.contextmanager
def ros_context():
    """An rclpy context initialised for the block and shut down after it."""
    ctx = Context()
    rclpy.init(context=ctx)
    try:
        yield ctx
    finally:
        if ctx.ok():
            rclpy.shutdown(context=ctx)


class Probe:
    """A node for tests: subscribes, collects, and spins other nodes until a condition holds."""

    def __init__(self, context: Context, name: str = 'kaiyo_test_probe'):
        self.context = context
        self.node = Node(name, context=context)
        self.executor = SingleThreadedExecutor(context=context)
        self.executor.add_node(self.node)

    def collect(self, msg_type, topic: str, qos=10) -> list:
        got: list = []
        self.node.create_subscription(msg_type, topic, got.append, qos)
        return got

    def spin_until(self, condition: Callable[[], bool], timeout: float = 10.0,
                   nodes: Iterable[Node] = ()) -> bool:
        """Spin the probe (and `nodes`) until condition() is true or `timeout` s pass."""
        added = [n for n in nodes if n not in self.executor.get_nodes()]
        for n in added:
            self.executor.add_node(n)
        deadline = time.monotonic() + timeout
        try:
            while not condition():
                if time.monotonic() > deadline:
                    return False
                self.executor.spin_once(timeout_sec=0.05)
            return True
        finally:
            for n in added:
                self.executor.remove_node(n)

    def wait_for_subscribers(self, publisher, count: int = 1, timeout: float = 10.0,
                             nodes: Iterable[Node] = ()) -> bool:
        return self.spin_until(lambda: publisher.get_subscription_count() >= count,
                               timeout, nodes)

    def wait_for_publishers(self, topic: str, count: int = 1, timeout: float = 10.0,
                            nodes: Iterable[Node] = ()) -> bool:
        return self.spin_until(lambda: self.node.count_publishers(topic) >= count,
                               timeout, nodes)

    def destroy(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()
