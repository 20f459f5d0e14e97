"""`make bench` figures for kaiyo_control: control-loop period jitter at 50 Hz.

The controller node (full step: mode logic, loops, allocation, ThrusterCommand publish) runs
on its 50 Hz timer in a single-threaded executor; the time between successive callbacks is
compared with the requested 20 ms. The baseline, measured in the same run on the same
executor at the same time (so machine load hits both alike), is a bare rclpy timer at 50 Hz
whose callback does nothing: the jitter the executor and the machine add by themselves.
"""
from __future__ import annotations

import time

import numpy as np

from kaiyo_common.bench import Figure

PERIOD_S = 0.02


def _jitter(periods) -> tuple[float, float]:
    err = np.abs(np.asarray(periods) - PERIOD_S) * 1000.0
    return float(np.percentile(err, 50)), float(np.percentile(err, 99))


def _measure(duration_s: float):
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.node import Node
    from rclpy.parameter import Parameter

    from kaiyo_common.testing import isolate_ros_environment, ros_context
    from kaiyo_control.controller_node import ControllerNode
    from kaiyo_control.modes import Mode
    from kaiyo_control.vehicle_controller import USE_DEPTH, USE_HEADING, Estimate, Setpoint

    isolate_ros_environment()
    results = {}
    with ros_context() as ctx:
        # both timers run at once on one executor, so machine load hits them alike
        bare = Node('bench_bare_timer', context=ctx)
        stamps: list[float] = []
        bare.create_timer(PERIOD_S, lambda: stamps.append(time.perf_counter()))
        node = ControllerNode(context=ctx, parameter_overrides=[
            Parameter('vehicle', value='hover_auv')])
        ctrl_stamps: list[float] = []
        original = node.on_control_timer

        def timed():
            ctrl_stamps.append(time.perf_counter())
            # a fresh estimate each tick keeps every loop (depth, heading, allocation) active
            node.estimate = Estimate(node.now_s(), np.array([0.0, 0.0, -5.0]),
                                     np.zeros(3), np.zeros(6))
            original()
        for t in node.timers:       # swap the 50 Hz timer's callback for the timed wrapper
            if t.timer_period_ns == int(PERIOD_S * 1e9):
                t.callback = timed
        node.estimate = Estimate(node.now_s(), np.array([0.0, 0.0, -5.0]), np.zeros(3),
                                 np.zeros(6))
        node.core.request_mode(int(Mode.AUTO), True, node.now_s(), node.estimate)
        node.core.set_setpoint(Setpoint(mask=USE_DEPTH | USE_HEADING, depth_m=6.0,
                                        heading_rad=1.0))
        ex = SingleThreadedExecutor(context=ctx)
        ex.add_node(bare)
        ex.add_node(node)
        end = time.monotonic() + duration_s
        while time.monotonic() < end:
            ex.spin_once(timeout_sec=0.05)
        ex.shutdown()
        node.destroy_node()
        bare.destroy_node()
        results['bare'] = np.diff(stamps[1:])
        results['controller'] = np.diff(ctrl_stamps[1:])
    return results


def run(quick: bool) -> list[Figure]:
    res = _measure(3.0 if quick else 15.0)
    b50, b99 = _jitter(res['bare'])
    c50, c99 = _jitter(res['controller'])
    n = len(res['controller'])
    # goals are relative to the baseline of the same run (the machine may be shared and
    # loaded): the controller's own work may add at most 1 ms (p50) / 5 ms (p99) of jitter
    return [
        Figure(f'controller 50 Hz: period jitter p50 (|period - 20 ms|, {n} periods)', c50, 'ms',
               'bare rclpy 50 Hz timer p50', b50, '<= baseline + 1 ms', c50 <= b50 + 1.0),
        Figure('controller 50 Hz: period jitter p99', c99, 'ms',
               'bare rclpy 50 Hz timer p99', b99, '<= baseline + 5 ms', c99 <= b99 + 5.0),
    ]
