"""Fixtures for kaiyo_mission's node tests: `rig` spins nodes in a background thread.

The controller stand-in is `mission_test_peers.ControllerPeer` (a test fixture).
"""
from __future__ import annotations

import threading

import pytest
from rclpy.executors import MultiThreadedExecutor

from kaiyo_common.testing import ros_context


class RosRig:
    """Nodes spun by a MultiThreadedExecutor in a background thread for one test."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.executor = MultiThreadedExecutor(num_threads=4, context=ctx)
        self.nodes = []
        self.thread = None

    def add(self, node):
        self.nodes.append(node)
        self.executor.add_node(node)
        return node

    def start(self):
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()

    def stop(self):
        for n in self.nodes:
            shutdown = getattr(n, 'shutdown', None)
            if callable(shutdown):
                shutdown()
        self.executor.shutdown(timeout_sec=2.0)
        if self.thread is not None:
            self.thread.join(timeout=5.0)
        for n in self.nodes:
            n.destroy_node()


@pytest.fixture
def rig():
    with ros_context() as ctx:
        r = RosRig(ctx)
        try:
            yield r
        finally:
            r.stop()
