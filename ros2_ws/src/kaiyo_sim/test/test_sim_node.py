"""Tier 2: the simulator node in-process (parameter_overrides), tier 3: `kaiyo sim run`."""
import os
import subprocess
import sys

import pytest
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from nav_msgs.msg import Odometry
from rclpy.parameter import Parameter
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import CameraInfo, FluidPressure, Image, Imu, NavSatFix
from std_msgs.msg import Bool, Float64

from kaiyo_common import qos
from kaiyo_common.params import ParameterContractError
from kaiyo_common.testing import Probe, ros_context, stop_process
from kaiyo_interfaces.msg import DvlVelocity, ThrusterCommand, ThrusterState
from kaiyo_interfaces.srv import InjectFault
from kaiyo_sim.sim_node import SimNode

pytestmark = pytest.mark.ros


def _params(**kw):
    base = dict(vehicles=['hover_auv', 'wave_boat'], mode='fast', camera_scale=0.1,
                fast_tick_s=0.02)
    base.update(kw)
    return [Parameter(k, value=v) for k, v in base.items()]


@pytest.fixture
def ctx():
    with ros_context() as c:
        yield c


def test_node_publishes_the_architecture_topics(ctx):
    node = SimNode(context=ctx, parameter_overrides=_params())
    probe = Probe(ctx)
    try:
        got = {
            'clock': probe.collect(Clock, '/clock'),
            'imu': probe.collect(Imu, '/hover_auv/imu/data', qos.SENSOR),
            'pressure': probe.collect(FluidPressure, '/hover_auv/pressure', qos.SENSOR),
            'depth': probe.collect(Float64, '/hover_auv/depth', qos.SENSOR),
            'dvl': probe.collect(DvlVelocity, '/hover_auv/dvl', qos.SENSOR),
            'gps': probe.collect(NavSatFix, '/wave_boat/gps/fix', qos.SENSOR),
            'thr': probe.collect(ThrusterState, '/hover_auv/thrusters/state', qos.SENSOR),
            'truth': probe.collect(Odometry, '/sim/hover_auv/odometry', qos.RELIABLE),
            'image': probe.collect(Image, '/hover_auv/camera/image_raw', qos.SENSOR),
            'info': probe.collect(CameraInfo, '/hover_auv/camera/camera_info', qos.LATCHED),
            'mask': probe.collect(Image, '/sim/hover_auv/camera/class_mask', qos.SENSOR),
        }
        assert probe.spin_until(lambda: all(got.values()), timeout=30.0, nodes=[node]), \
            {k: len(v) for k, v in got.items()}
        img, mask, info = got['image'][-1], got['mask'][-1], got['info'][-1]
        assert img.encoding == 'bgr8' and (img.width, img.height) == (64, 48)
        assert mask.encoding == 'mono8' and len(mask.data) == 64 * 48
        assert set(bytes(mask.data)) <= set(range(7))
        assert info.k[0] == pytest.approx(457.0 * 0.1) and info.header.frame_id.endswith('optical')
        assert got['dvl'][-1].velocity_valid                       # 3 m deep over ~20 m
        assert got['gps'][-1].status.status == 0                   # the boat has a fix
        assert got['imu'][-1].linear_acceleration.z == pytest.approx(9.81, abs=0.5)
        assert got['pressure'][-1].fluid_pressure > 101325 + 1025 * 9.81 * 2.5
        assert 2.0 < got['depth'][-1].data < 4.5                     # m down, starts at 3 m
    finally:
        probe.destroy()
        node.destroy_node()


def test_thruster_command_moves_the_vehicle_and_bad_ones_are_counted(ctx):
    node = SimNode(context=ctx, parameter_overrides=_params(camera_enabled=False))
    probe = Probe(ctx)
    try:
        truth = probe.collect(Odometry, '/sim/hover_auv/odometry', qos.RELIABLE)
        pub = probe.node.create_publisher(ThrusterCommand, '/hover_auv/thrusters/command',
                                          qos.RELIABLE)
        assert probe.wait_for_subscribers(pub, nodes=[node])
        pub.publish(ThrusterCommand(names=['warp'], thrust_n=[1.0]))
        pub.publish(ThrusterCommand(names=['surge_l', 'surge_r'], thrust_n=[50.0, 50.0]))
        assert probe.spin_until(lambda: truth and truth[-1].twist.twist.linear.x > 0.3,
                                timeout=30.0, nodes=[node])
        assert probe.spin_until(lambda: node.counters['commands_rejected'] == 1, timeout=5.0,
                                nodes=[node])
    finally:
        probe.destroy()
        node.destroy_node()


def test_inject_fault_service(ctx):
    node = SimNode(context=ctx, parameter_overrides=_params(camera_enabled=False))
    probe = Probe(ctx)
    try:
        leak = probe.collect(Bool, '/hover_auv/leak', qos.SENSOR)
        diag = probe.collect(DiagnosticArray, '/sim/diagnostics', qos.RELIABLE)
        client = probe.node.create_client(InjectFault, '/sim/inject_fault')
        assert probe.spin_until(lambda: client.service_is_ready(), timeout=10.0, nodes=[node])

        def call(**kw):
            fut = client.call_async(InjectFault.Request(**kw))
            assert probe.spin_until(fut.done, timeout=10.0, nodes=[node])
            return fut.result()
        bad = call(vehicle='hover_auv', fault='meteor')
        assert not bad.success and 'unknown fault' in bad.message
        ok = call(vehicle='hover_auv', fault='leak')
        assert ok.success
        assert probe.spin_until(lambda: leak and leak[-1].data, timeout=20.0, nodes=[node])
        assert probe.spin_until(lambda: diag and 'hover_auv:leak' in diag[-1].status[0].message,
                                timeout=5.0, nodes=[node])
        assert diag[-1].status[0].level == DiagnosticStatus.WARN
        client.destroy()
    finally:
        probe.destroy()
        node.destroy_node()


def test_lockstep_waits_for_every_vehicle(ctx):
    node = SimNode(context=ctx, parameter_overrides=_params(
        mode='lockstep', lockstep_period_s=0.2, camera_enabled=False))
    probe = Probe(ctx)
    try:
        pubs = {v: probe.node.create_publisher(ThrusterCommand, f'/{v}/thrusters/command',
                                               qos.RELIABLE) for v in ('hover_auv', 'wave_boat')}
        for p in pubs.values():
            assert probe.wait_for_subscribers(p, nodes=[node])
        # no commands: sim time stops at the first boundary
        probe.spin_until(lambda: False, timeout=0.5, nodes=[node])
        assert node.sim.time_s == pytest.approx(0.2, abs=1e-6)
        pubs['hover_auv'].publish(ThrusterCommand(names=['sway'], thrust_n=[1.0]))
        probe.spin_until(lambda: False, timeout=0.3, nodes=[node])
        assert node.sim.time_s == pytest.approx(0.2, abs=1e-6)   # still waiting for the boat
        pubs['wave_boat'].publish(ThrusterCommand(names=['rudder_deg'], thrust_n=[5.0]))
        assert probe.spin_until(lambda: node.sim.time_s > 0.35, timeout=5.0, nodes=[node])
        assert node.sim.time_s == pytest.approx(0.4, abs=1e-6)
    finally:
        probe.destroy()
        node.destroy_node()


def test_lockstep_round_starts_on_the_last_command_not_the_next_tick(ctx):
    node = SimNode(context=ctx, parameter_overrides=_params(
        mode='lockstep', lockstep_period_s=0.2, camera_enabled=False))
    probe = Probe(ctx)
    try:
        assert probe.spin_until(lambda: node.sim.time_s > 0.15, timeout=5.0, nodes=[node])
        assert node.sim.time_s == pytest.approx(0.2, abs=1e-6)     # waiting at the boundary
        node.on_command('hover_auv', ThrusterCommand(names=['sway'], thrust_n=[1.0]))
        assert node.sim.time_s == pytest.approx(0.2, abs=1e-6)     # the boat has not spoken
        # no spinning in between: the command callback itself runs the next round
        node.on_command('wave_boat', ThrusterCommand(names=['rudder_deg'], thrust_n=[5.0]))
        assert node.sim.time_s == pytest.approx(0.4, abs=1e-6)
    finally:
        probe.destroy()
        node.destroy_node()


def test_realtime_mode_never_runs_ahead_of_the_wall_clock(ctx):
    import time
    t0 = time.monotonic()
    node = SimNode(context=ctx, parameter_overrides=_params(
        mode='realtime', real_time_factor=2.0, camera_enabled=False))
    probe = Probe(ctx)
    try:
        clock = probe.collect(Clock, '/clock')
        assert probe.spin_until(lambda: node.sim.time_s >= 0.5, timeout=30.0, nodes=[node])
        # sim seconds <= 2 x wall seconds since start (+ one step): paced, not flat out
        assert node.sim.time_s <= 2.0 * (time.monotonic() - t0) + node.sim.dt
        assert clock and clock[-1].clock.sec + clock[-1].clock.nanosec * 1e-9 <= node.sim.time_s
    finally:
        probe.destroy()
        node.destroy_node()


@pytest.mark.parametrize('name, value', [('vehicles', ['submarine']), ('mode', 'warp'),
                                         ('dt_s', 0.5), ('world', 'atlantis')])
def test_bad_parameters_are_refused(ctx, name, value):
    with pytest.raises(ParameterContractError) as err:
        SimNode(context=ctx, parameter_overrides=_params(**{name: value}))
    assert name in str(err.value)


def test_kaiyo_sim_run_subprocess_publishes_and_exits_cleanly(ctx):
    kaiyo = os.path.join(os.path.dirname(sys.executable), 'kaiyo')
    proc = subprocess.Popen([kaiyo, 'sim', 'run', '--vehicles', 'hover_auv', '--mode', 'fast',
                             '--no-camera', '--backend', 'numpy', '--seed', '3'],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    probe = Probe(ctx)
    try:
        truth = probe.collect(Odometry, '/sim/hover_auv/odometry', qos.RELIABLE)
        clock = probe.collect(Clock, '/clock')
        assert probe.spin_until(lambda: len(truth) > 5 and len(clock) > 5, timeout=30.0)
        assert clock[-1].clock.sec + clock[-1].clock.nanosec * 1e-9 > 0
    finally:
        probe.destroy()
        code = stop_process(proc, timeout=15)
    assert code == 0, proc.stdout.read().decode()
