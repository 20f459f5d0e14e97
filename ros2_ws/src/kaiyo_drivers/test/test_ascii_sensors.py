"""VectorNav / Paroscientific / altimeter parsers (+ fuzzing) and the node over a PTY."""
import math

import pytest
import serial
from hypothesis import given, settings
from hypothesis import strategies as st
from rclpy.parameter import Parameter
from sensor_msgs.msg import FluidPressure, Imu, Range
from std_msgs.msg import Float64

from kaiyo_common import qos
from kaiyo_common.testing import Probe, ros_context
from kaiyo_drivers.ascii_sensors import (
    SensorError,
    parse_altimeter,
    parse_paroscientific,
    parse_vn_ymr,
)
from kaiyo_drivers.nmea import checksum
from kaiyo_drivers.serial_sensor_node import SerialSensorNode
from kaiyo_drivers.thruster_protocol import crc16_ccitt

YMR = 'VNYMR,+090.000,+000.000,+000.000,+00.1000,-00.2000,+00.4000,+00.000,+00.000,-09.807,' \
      '+00.010,-00.020,+00.030'


def vn(body=YMR, crc=False):
    if crc:
        return f'${body}*{crc16_ccitt(body.encode(), 0):04X}'
    return f'${body}*{checksum(body):02X}'


def test_vectornav_both_checksums():
    for crc in (False, True):
        s = parse_vn_ymr(vn(crc=crc))
        assert s.ypr_deg == (90.0, 0.0, 0.0) and s.accel_mps2[2] == -9.807
    with pytest.raises(SensorError, match='checksum'):
        parse_vn_ymr(vn()[:-2] + '00')
    with pytest.raises(SensorError, match='disabled'):
        parse_vn_ymr(f'${YMR}*XX')
    assert parse_vn_ymr(f'${YMR}*XX', allow_no_checksum=True)
    with pytest.raises(SensorError, match='12 expected'):
        parse_vn_ymr(vn('VNYMR,1,2,3'))


def test_pressure_and_altimeter():
    assert parse_paroscientific('*000114.69750', 'psi') == pytest.approx(14.6975 * 6894.757,
                                                                         rel=1e-6)
    with pytest.raises(SensorError, match='not a Paroscientific'):
        parse_paroscientific('14.7', 'psi')
    with pytest.raises(ValueError, match='pressure unit'):
        parse_paroscientific('*000114.7', 'atm')
    assert parse_altimeter('012.345m', 0.1, 50.0) == 12.345
    assert parse_altimeter('099.999m', 0.1, 50.0) == math.inf
    with pytest.raises(SensorError, match='does not end in m'):
        parse_altimeter('12.3', 0.1, 50.0)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120))
def test_fuzz_ascii_parsers_only_raise_sensor_error(line):
    for fn in (lambda s: parse_vn_ymr(s, True), lambda s: parse_paroscientific(s, 'dbar'),
               lambda s: parse_altimeter(s, 0.1, 50.0)):
        try:
            fn(line)
        except SensorError:
            pass


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet='0123456789+-.,eE', max_size=9), min_size=12, max_size=12))
def test_fuzz_vectornav_fields(fields):
    try:
        parse_vn_ymr(vn('VNYMR,' + ','.join(fields)))
    except SensorError:
        pass


@pytest.mark.parametrize('protocol, lines, topic, msg_type', [
    ('vectornav_ymr', [vn(), vn(crc=True)], '/hover_auv/imu/data', Imu),
    ('paroscientific', ['*00012.00000'], '/hover_auv/depth', Float64),
    ('altimeter', ['003.250m'], '/hover_auv/altimeter', Range),
])
def test_serial_sensor_node_over_pty(pty_pair, protocol, lines, topic, msg_type):
    with ros_context() as ctx:
        node = SerialSensorNode(context=ctx, namespace='/hover_auv', parameter_overrides=[
            Parameter('port', value=pty_pair.a), Parameter('protocol', value=protocol),
            Parameter('pressure_unit', value='dbar')])
        probe = Probe(ctx)
        got = probe.collect(msg_type, topic, qos.SENSOR)
        pressure = probe.collect(FluidPressure, '/hover_auv/pressure', qos.SENSOR)
        assert probe.spin_until(lambda: node.runner.stats.connects == 1, 5, [node])
        peer = serial.Serial(pty_pair.b, 115200, timeout=0.1)
        data = ('\r\n'.join(lines + ['garbage!']) + '\r\n').encode()
        assert probe.spin_until(lambda: peer.write(data) and len(got) >= 2, 5, [node])
        assert node.bad_frames >= 1
        m = got[-1]
        if protocol == 'vectornav_ymr':
            # heading 90 (east) -> ENU yaw 0; specific force +g up in FLU
            assert abs(m.orientation.z) < 1e-9 and abs(m.linear_acceleration.z - 9.807) < 1e-9
            assert m.angular_velocity.y == pytest.approx(0.02)
        elif protocol == 'paroscientific':
            assert pressure[-1].fluid_pressure == pytest.approx(2e4)
            assert m.data == pytest.approx((2e4 - 101325.0) / (1025 * 9.80665))
        else:
            assert m.range == pytest.approx(3.25)
        peer.close()
        node.shutdown()
        node.destroy_node()
        probe.destroy()
