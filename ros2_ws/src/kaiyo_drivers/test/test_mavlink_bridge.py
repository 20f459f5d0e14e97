"""MAVLink bridge against an ArduSub emulator *process* over UDP loopback: heartbeats, arm,
mode, manual control round trip, telemetry, and heartbeat loss detected within 3 s."""
import json
import os
import socket
import subprocess
import sys
import threading

import pytest
from geometry_msgs.msg import Twist
from hypothesis import given, settings
from hypothesis import strategies as st
from pymavlink.dialects.v20 import ardupilotmega
from rclpy.parameter import Parameter
from sensor_msgs.msg import FluidPressure, Imu
from std_srvs.srv import SetBool

from kaiyo_common import qos
from kaiyo_common.testing import Probe, ros_context
from kaiyo_drivers.mavlink_core import ArduSubState, manual_control
from kaiyo_drivers.mavlink_node import MavlinkBridgeNode
from kaiyo_drivers.testing import SocatPty, free_udp_port
from kaiyo_interfaces.msg import SafetyEvent, VehicleStatus
from kaiyo_interfaces.srv import SetControlMode


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
            # garbage datagrams on the MAVLink port are counted and dropped; still alive
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
                tx.sendto(b'\xfd\x09garbage\x00\x01' * 5, ('127.0.0.1', port))
            assert probe.spin_until(lambda: node.bad_messages >= 1, 5, [node])
            n = node.state.messages
            assert probe.spin_until(lambda: node.state.messages > n + 3, 5, [node])
            node.shutdown()
            node.destroy_node()
            probe.destroy()
    finally:
        peer.kill()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=120), max_size=10))
def test_fuzz_mavlink_bytes_into_state(chunks):
    """Random bytes through pymavlink's parser into ArduSubState: nothing but BAD_DATA."""
    parser = ardupilotmega.MAVLink(None)
    parser.robust_parsing = True
    state = ArduSubState()
    for c in chunks:
        for msg in parser.parse_buffer(c) or []:
            state.apply(msg)


@settings(max_examples=200, deadline=None)
@given(base_mode=st.integers(0, 255), custom=st.integers(0, 2**32 - 1),
       angles=st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=6,
                       max_size=6),
       volt=st.integers(0, 65535), cur=st.integers(-32768, 32767), rem=st.integers(-128, 127))
def test_fuzz_valid_messages_with_any_values(base_mode, custom, angles, volt, cur, rem):
    m = ardupilotmega.MAVLink(None, srcSystem=1)
    state = ArduSubState()
    for msg in (ardupilotmega.MAVLink_heartbeat_message(12, 3, base_mode, custom, 4, 3),
                ardupilotmega.MAVLink_attitude_message(0, *angles),
                ardupilotmega.MAVLink_sys_status_message(0, 0, 0, 0, volt, cur, rem, 0, 0, 0,
                                                         0, 0, 0)):
        buf = msg.pack(m)
        for decoded in m.parse_buffer(buf) or []:
            state.apply(decoded)
    assert state.armed == bool(base_mode & 128)
    assert isinstance(state.mode_name, str)  # any custom mode has a printable name


def test_bridge_over_serial_pty_survives_unplug(tmp_path):
    """ArduSub on a USB serial link: the device disappears and comes back."""
    a, b = tmp_path / 'ardusub', tmp_path / 'peer'
    pair = SocatPty(a, b).start()
    peer = SerialPeer(b)
    try:
        with ros_context() as ctx:
            node = MavlinkBridgeNode(context=ctx, parameter_overrides=[
                Parameter('url', value=str(a)), Parameter('reconnect_max_s', value=0.2),
                Parameter('heartbeat_timeout_s', value=1.0)])
            probe = Probe(ctx)
            status = probe.collect(VehicleStatus, 'status', qos.RELIABLE)
            assert probe.spin_until(lambda: node.state.system_id == 1, 10, [node])
            assert probe.spin_until(lambda: status and status[-1].health
                                    == VehicleStatus.HEALTH_OK, 5, [node])
            peer.kill()
            pair.close()
            assert probe.spin_until(lambda: node.conn is None and node.link_error, 10, [node])
            assert probe.spin_until(lambda: status[-1].health == VehicleStatus.HEALTH_ERROR,
                                    5, [node])
            beats = node.state.counts.get('HEARTBEAT', 0)
            pair = SocatPty(a, b).start()
            peer = SerialPeer(b)
            assert probe.spin_until(lambda: node.state.counts.get('HEARTBEAT', 0) > beats + 1,
                                    10, [node])
            assert probe.spin_until(lambda: status[-1].health == VehicleStatus.HEALTH_OK, 5,
                                    [node])
            node.shutdown()
            node.destroy_node()
            probe.destroy()
    finally:
        peer.kill()
        pair.close()


class SerialPeer(PeerProcess):
    def __init__(self, device):
        self.proc = subprocess.Popen(
            [sys.executable, '-m', 'kaiyo_drivers.peers.ardusub', '--serial', str(device),
             '--heartbeat-hz', '4'],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=os.environ)
        self.lines = []
        threading.Thread(target=self._read, daemon=True).start()
