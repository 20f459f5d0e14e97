"""Tier 3: estimator and controller as separate processes (their installed executables),
driven by simulated sensors from the test; waits on events only."""
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from nav_msgs.msg import Odometry
from sensor_msgs.msg import FluidPressure, Imu

from kaiyo_common.geodesy import TOWER
from kaiyo_common.testing import Probe, ros_context
from kaiyo_interfaces.msg import MotionSetpoint, ThrusterCommand
from kaiyo_interfaces.srv import SetControlMode
from kaiyo_navigation.ekf import normal_gravity

LIB = Path(sys.prefix) / 'lib'
CONFIG = Path(__file__).resolve().parent.parent / 'config' / 'hover_auv.yaml'
NS = f'/nav_ctl_test_{os.getpid()}'   # other test processes may share the ROS domain


@pytest.fixture
def processes(tmp_path):
    exes = [LIB / 'kaiyo_navigation' / 'estimator', LIB / 'kaiyo_control' / 'controller']
    if not all(e.exists() for e in exes):
        pytest.skip('executables not installed: run `make setup`')
    procs = [
        subprocess.Popen([str(exes[0]), '--ros-args', '-r', f'__ns:={NS}',
                          '-p', 'vehicle:=hover_auv']),
        subprocess.Popen([str(exes[1]), '--ros-args', '-r', f'__ns:={NS}',
                          '--params-file', str(CONFIG)],
                         stderr=open(tmp_path / 'controller.err', 'w')),
    ]
    procs[1].stderr_path = tmp_path / 'controller.err'
    yield procs
    for p in procs:
        if p.poll() is None:
            p.terminate()
            p.wait(timeout=10)


def test_sensors_to_thrust_across_processes(processes):
    with ros_context() as ctx:
        probe = Probe(ctx)
        odom = probe.collect(Odometry, f'{NS}/odometry')
        cmds = probe.collect(ThrusterCommand, f'{NS}/thrusters/command')
        imu_pub = probe.node.create_publisher(Imu, f'{NS}/imu/data', 10)
        p_pub = probe.node.create_publisher(FluidPressure, f'{NS}/pressure', 10)
        sp_pub = probe.node.create_publisher(MotionSetpoint, f'{NS}/setpoint', 10)
        client = probe.node.create_client(SetControlMode, f'{NS}/set_control_mode')
        g = normal_gravity(TOWER.lat_deg)

        def feed():
            now = probe.node.get_clock().now().to_msg()
            imu = Imu()
            imu.header.stamp = now
            imu.orientation.w = 1.0
            imu_pub.publish(imu)
            p = FluidPressure()
            p.header.stamp = now
            p.fluid_pressure = 101325.0 + 1025.0 * g * 4.8     # port 0.2 m above origin
            p_pub.publish(p)

        assert probe.spin_until(lambda: feed() or (odom and abs(odom[-1].pose.pose.position.z
                                                                + 5.0) < 0.05), timeout=30.0)
        assert probe.spin_until(client.service_is_ready, timeout=20.0)
        # the controller may discover the estimator a little after we do: until its first
        # odometry arrives it refuses AUTO (rightly), so ask again until it accepts
        call = [None]

        def auto_accepted():
            feed()
            if call[0] is None:
                call[0] = client.call_async(SetControlMode.Request(
                    mode=SetControlMode.Request.MODE_AUTO, arm=True))
            elif call[0].done():
                if call[0].result().success:
                    return True
                assert 'odometry' in call[0].result().message, call[0].result().message
                call[0] = None
            return False
        assert probe.spin_until(auto_accepted, timeout=20.0)
        assert probe.wait_for_subscribers(sp_pub, timeout=10.0)
        sp_pub.publish(MotionSetpoint(mask=MotionSetpoint.USE_DEPTH, depth_m=7.0))
        # deeper setpoint: both heave thrusters push down
        assert probe.spin_until(lambda: feed() or (cmds and cmds[-1].thrust_n[3] < -1.0),
                                timeout=10.0)
        # Ctrl-C the controller: clean exit, last command all zero
        ctl = processes[1]
        ctl.send_signal(signal.SIGINT)
        assert probe.spin_until(lambda: ctl.poll() is not None, timeout=10.0)
        assert ctl.returncode == 0, ctl.stderr_path.read_text()[-2000:]
        assert not any(cmds[-1].thrust_n)
        probe.destroy()
