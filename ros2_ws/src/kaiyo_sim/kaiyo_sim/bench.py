"""`make bench` figures for the simulator, each beside the raw MuJoCo step rate of the same
model measured in the same run (the ceiling: MuJoCo alone, no hydrodynamics, no sensors).

Real-time factor = simulated seconds / wall seconds of the pure simulation core (physics,
Fossen wrench, waves, every sensor model; the camera renders where stated), on one core
(OpenCV limited to one thread). The measured run and the raw-MuJoCo baseline alternate in
ten interleaved slices, so on a shared machine whose load changes by the second both see
the same conditions and their ratio stays meaningful.
"""
from __future__ import annotations

import time

from kaiyo_common.bench import Figure
from kaiyo_sim.simulation import Simulation
from kaiyo_sim.world import load_world

VEHICLES = ['hover_auv', 'camera_robot', 'wave_boat']
SLICES = 10


class _Raw:
    """Raw MuJoCo stepping of the same model (a copy of its data), timed in slices."""

    def __init__(self, sim: Simulation):
        import mujoco
        self.mj = mujoco
        self.model = sim.physics.model
        self.data = mujoco.MjData(self.model)
        self.data.qpos[:] = sim.physics.data.qpos
        mujoco.mj_forward(self.model, self.data)
        self.dt = sim.dt
        self.steps = 0
        self.wall = 0.0

    def run(self, steps: int) -> None:
        t0 = time.perf_counter()
        for _ in range(steps):
            self.mj.mj_step(self.model, self.data)
        self.wall += time.perf_counter() - t0
        self.steps += steps

    @property
    def rtf(self) -> float:
        return self.steps * self.dt / self.wall


def _drive(sim: Simulation) -> None:
    # a little driving so the run is not three vehicles at rest
    sim.set_command('hover_auv', ['surge_l', 'surge_r', 'heave_f', 'heave_a'], [20, 20, -5, -5])
    sim.set_command('camera_robot', ['h_fr', 'h_fl', 'h_rr', 'h_rl'], [10, 10, 10, 10])
    sim.set_command('wave_boat', ['rudder_deg'], [5.0])
    for _ in range(10):          # warm-up (first render, caches)
        sim.step()


def _interleaved(sim: Simulation, sim_seconds: float, raw_steps: int) -> tuple[float, float]:
    """(simulation RTF, raw MuJoCo RTF) from SLICES alternating slices."""
    _drive(sim)
    raw = _Raw(sim)
    steps = max(1, int(round(sim_seconds / sim.dt / SLICES)))
    wall, done = 0.0, 0
    for _ in range(SLICES):
        raw.run(raw_steps // SLICES)
        t0 = time.perf_counter()
        for _ in range(steps):
            sim.step()
        wall += time.perf_counter() - t0
        done += steps
    return done * sim.dt / wall, raw.rtf


def _node_interleaved(raw: _Raw, seconds: float, raw_steps: int) -> float:
    """RTF of the ROS node in fast mode publishing every non-camera topic, alternating with
    raw MuJoCo slices (which accumulate into `raw`)."""
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
        wall, sim0 = 0.0, node.sim.time_s
        for _ in range(SLICES):
            raw.run(raw_steps // SLICES)
            t0 = time.monotonic()
            while time.monotonic() - t0 < seconds / SLICES:
                ex.spin_once(timeout_sec=0.01)
            wall += time.monotonic() - t0
        rtf = (node.sim.time_s - sim0) / wall
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
    raw_steps = 2000 if quick else 6000
    no_cam = Simulation(world, VEHICLES, seed=1, camera=False)
    rtf, raw1 = _interleaved(no_cam, 20.0 if quick else 60.0, raw_steps)
    cam = Simulation(world, VEHICLES, seed=1, camera=['hover_auv'], camera_scale=0.5)
    cam_v = cam.vehicles['hover_auv'].camera
    rtf_cam, raw2 = _interleaved(cam, 3.0 if quick else 10.0, raw_steps)
    raw_node = _Raw(no_cam)
    rtf_node = _node_interleaved(raw_node, 3.0 if quick else 8.0, raw_steps)
    base = 'raw MuJoCo step rate, same model, interleaved (x real time)'
    return [
        Figure('sim: 3 vehicles, all non-camera sensors', rtf, 'x real time', base, raw1,
               '>= 50 x real time on one core', rtf >= 50.0),
        Figure(f'sim: 3 vehicles + one {cam_v.width}x{cam_v.height} camera at '
               f'{cam_v.cam.rate_hz:g} Hz', rtf_cam, 'x real time', base, raw2,
               '>= 10 x real time on one core', rtf_cam >= 10.0),
        Figure('sim node: 3 vehicles, all non-camera topics published over ROS', rtf_node,
               'x real time', base, raw_node.rtf,
               '(no goal; the ROS publishing cost on top of the core)', None),
    ]


def run(quick: bool = False) -> list[Figure]:
    return measure(quick)
