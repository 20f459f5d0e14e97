"""MAVLink bridge against an ArduSub emulator *process* over UDP loopback: heartbeats, arm,
mode, manual control round trip, telemetry, and heartbeat loss detected within 3 s."""
import json
import os
import subprocess
import sys
import threading

import pytest
from geometry_msgs.msg import Twist
from kaiyo_interfaces.msg import SafetyEvent, VehicleStatus
from kaiyo_interfaces.srv import SetControlMode
from rclpy.parameter import Parameter
from sensor_msgs.msg import FluidPressure, Imu
from std_srvs.srv import SetBool

from kaiyo_common import qos
from kaiyo_common.testing import Probe, ros_context
from kaiyo_drivers.mavlink_core import manual_control
from kaiyo_drivers.mavlink_node import MavlinkBridgeNode
from kaiyo_drivers.testing import free_udp_port


class PeerProcess:
    def __init__(self, port, *extra):
        self.proc = subprocess.Popen(
            [sys.executable, '-m', 'kaiyo_drivers.peers.ardusub', '--target',
             f'127.0.0.1:{port}', '--heartbeat-hz', '4', *extra],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=os.environ)
        self.lines = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(json.loads(line))

    def events(self, kind):
        return [e for e in list(self.lines) if e.get('event') == kind]

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(5)


@pytest.fixture
def bridge_setup():
    port = free_udp_port()
    peer = PeerProcess(port)
    with ros_context() as ctx:
        node = MavlinkBridgeNode(context=ctx, namespace='/camera_robot', parameter_overrides=[
            Parameter('url', value=f'udpin:127.0.0.1:{port}'),
            Parameter('heartbeat_timeout_s', value=1.5)])
        probe = Probe(ctx)
        yield node, probe, peer
        peer.kill()
        node.shutdown()
        node.destroy_node()
        probe.destroy()


def call(probe, node, client, req):
    assert client.wait_for_service(timeout_sec=5.0)
    fut = client.call_async(req)
    assert probe.spin_until(fut.done, 10, [node])
    return fut.result()


def test_manual_control_mapping():
    assert manual_control(1.0, 0.0, 0.0, 0.0) == (1000, 0, 500, 0)
    assert manual_control(0.0, 1.0, -1.0, 0.5) == (0, -1000, 0, -500)
    assert manual_control(float('nan'), 7.0, 2.0, -9.0) == (0, -1000, 1000, 1000)


def test_arm_mode_manual_round_trip_and_heartbeat_loss(bridge_setup):
    node, probe, peer = bridge_setup
    status = probe.collect(VehicleStatus, '/camera_robot/status', qos.RELIABLE)
    events = probe.collect(SafetyEvent, '/camera_robot/safety/events', qos.EVENTS)
    imu = probe.collect(Imu, '/camera_robot/imu/data', qos.SENSOR)
    pressure = probe.collect(FluidPressure, '/camera_robot/pressure', qos.SENSOR)
    assert probe.spin_until(lambda: node.state.system_id == 1, 10, [node])
    assert probe.spin_until(lambda: pressure and any(
        m.linear_acceleration_covariance[0] == 0.0 for m in imu), 5, [node])
    imu = [m for m in imu if m.linear_acceleration_covariance[0] == 0.0]
    assert abs(imu[-1].linear_acceleration.z - 9.80665) < 1e-3       # at rest: +g up in FLU
    assert pressure[-1].fluid_pressure > 101325.0                    # under water

    arm = probe.node.create_client(SetBool, '/camera_robot/arm')
    res = call(probe, node, arm, SetBool.Request(data=True))
    assert res.success, res.message
    assert peer.events('arm')[-1] == {'event': 'arm', 'arm': True, 'result': 0}

    mode = probe.node.create_client(SetControlMode, '/camera_robot/set_control_mode')
    res = call(probe, node, mode, SetControlMode.Request(mode=SetControlMode.Request.MODE_HOLD))
    assert res.success, res.message
    assert peer.events('mode')[-1]['mode'] == 16                      # ArduSub POSHOLD
    res = call(probe, node, mode, SetControlMode.Request(mode=SetControlMode.Request.MODE_RETURN))
    assert not res.success and 'no ArduSub equivalent' in res.message
    # the heartbeat reflects both changes in VehicleStatus
    assert probe.spin_until(lambda: status and status[-1].armed
                            and status[-1].mode == VehicleStatus.MODE_HOLD, 5, [node])

    pub = probe.node.create_publisher(Twist, '/camera_robot/manual_control', qos.RELIABLE)
    assert probe.wait_for_subscribers(pub, 1, 5, [node])
    cmd = Twist()
    cmd.linear.x, cmd.linear.z, cmd.angular.z = 0.5, 0.2, -0.25
    pub.publish(cmd)
    assert probe.spin_until(lambda: any(e['x'] == 500 and e['z'] == 600 and e['r'] == 250
                                        for e in peer.events('manual')), 5, [node])
    # commands stop -> neutral after manual_timeout_s
    assert probe.spin_until(lambda: peer.events('manual')[-1]['x'] == 0
                            and peer.events('manual')[-1]['z'] == 500, 5, [node])

    # the autopilot dies: heartbeat_loss within 3 s of the last heartbeat
    peer.kill()
    assert probe.spin_until(lambda: any(e.rule == 'heartbeat_loss' and e.active
                                        for e in events), 5, [node])
    e = [e for e in events if e.active][-1]
    assert e.vehicle == 'camera_robot' and e.value < 3.0 and e.limit == 1.5
    assert probe.spin_until(lambda: status[-1].health == VehicleStatus.HEALTH_ERROR
                            and not status[-1].armed, 5, [node])
    res = call(probe, node, arm, SetBool.Request(data=False))
    assert not res.success and 'COMMAND_ACK' in res.message


def test_refused_arm_is_reported():
    port = free_udp_port()
    peer = PeerProcess(port, '--refuse-arm')
    try:
        with ros_context() as ctx:
            node = MavlinkBridgeNode(context=ctx, parameter_overrides=[
                Parameter('url', value=f'udpin:127.0.0.1:{port}')])
            probe = Probe(ctx)
            assert probe.spin_until(lambda: node.state.system_id == 1, 10, [node])
            arm = probe.node.create_client(SetBool, 'arm')
            res = call(probe, node, arm, SetBool.Request(data=True))
            assert not res.success and 'DENIED' in res.message
            node.shutdown()
            node.destroy_node()
            probe.destroy()
    finally:
        peer.kill()
