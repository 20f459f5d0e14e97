"""`make bench` figures for the simulator, each beside the raw MuJoCo step rate of the same
model measured in the same run (the ceiling: MuJoCo alone, no hydrodynamics, no sensors).

Real-time factor = simulated seconds / wall seconds of the pure simulation core (physics,
Fossen wrench, waves, every sensor model; the camera renders where stated), on one core.
"""
from __future__ import annotations

import time

from kaiyo_common.bench import Figure
from kaiyo_sim.simulation import Simulation
from kaiyo_sim.world import load_world

VEHICLES = ['hover_auv', 'camera_robot', 'wave_boat']


def _rtf(sim: Simulation, sim_seconds: float) -> float:
    # a little driving so the run is not a vehicle at rest
    sim.set_command('hover_auv', ['surge_l', 'surge_r', 'heave_f', 'heave_a'], [20, 20, -5, -5])
    sim.set_command('camera_robot', ['h_fr', 'h_fl', 'h_rr', 'h_rl'], [10, 10, 10, 10])
    sim.set_command('wave_boat', ['rudder_deg'], [5.0])
    for _ in range(10):          # warm-up (first render, caches)
        sim.step()
    steps = int(round(sim_seconds / sim.dt))
    t0 = time.perf_counter()
    for _ in range(steps):
        sim.step()
    return steps * sim.dt / (time.perf_counter() - t0)


def node_rtf(seconds: float) -> float:
    """Real-time factor of the ROS node in fast mode, publishing every topic (no camera)."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.parameter import Parameter

    from kaiyo_common.testing import isolate_ros_environment, ros_context
    from kaiyo_sim.sim_node import SimNode
    isolate_ros_environment()
    with ros_context() as ctx:
        node = SimNode(context=ctx, parameter_overrides=[
            Parameter('mode', value='fast'), Parameter('camera_enabled', value=False)])
        rclpy.logging.set_logger_level(node.get_logger().name, rclpy.logging.LoggingSeverity.WARN)
        ex = SingleThreadedExecutor(context=ctx)
        ex.add_node(node)
        t0 = time.monotonic()
        while time.monotonic() - t0 < seconds:
            ex.spin_once(timeout_sec=0.01)
        rtf = node.sim.time_s / (time.monotonic() - t0)
        ex.shutdown()
        node.destroy_node()
    return rtf


def measure(quick: bool = False) -> list[Figure]:
    import cv2
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)        # the goals are "on one core": no OpenCV worker threads
    try:
        return _measure(quick)
    finally:
        cv2.setNumThreads(threads)


def _measure(quick: bool) -> list[Figure]:
    world = load_world('hiratsuka_tower')
    no_cam = Simulation(world, VEHICLES, seed=1, camera=False)
    raw = no_cam.physics.raw_step_rate(1000 if quick else 5000) * no_cam.dt
    rtf = _rtf(no_cam, 20.0 if quick else 60.0)
    cam = Simulation(world, VEHICLES, seed=1, camera=['hover_auv'], camera_scale=0.5)
    cam_v = cam.vehicles['hover_auv'].camera
    rtf_cam = _rtf(cam, 3.0 if quick else 10.0)
    rtf_node = node_rtf(3.0 if quick else 8.0)
    base = 'raw MuJoCo step rate, same model (x real time)'
    return [
        Figure('sim node: 3 vehicles, all non-camera topics published over ROS', rtf_node,
               'x real time', base, raw, '(no goal; the ROS publishing cost on top of the core)',
               None),
        Figure('sim: 3 vehicles, all non-camera sensors', rtf, 'x real time', base, raw,
               '>= 50 x real time on one core', rtf >= 50.0),
        Figure(f'sim: 3 vehicles + one {cam_v.width}x{cam_v.height} camera at '
               f'{cam_v.cam.rate_hz:g} Hz', rtf_cam, 'x real time', base, raw,
               '>= 10 x real time on one core', rtf_cam >= 10.0),
    ]


def run(quick: bool = False) -> list[Figure]:
    return measure(quick)
