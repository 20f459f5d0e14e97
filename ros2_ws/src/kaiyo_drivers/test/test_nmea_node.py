"""Tier 2: the NMEA node over a real socat PTY pair (serial) and UDP loopback.

Unplugging is simulated by killing socat (the device node disappears, exactly like a USB
adapter pulled out) and re-creating the pair at the same paths."""
import math
import socket

import serial
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from geometry_msgs.msg import QuaternionStamped, TwistStamped
from rclpy.parameter import Parameter
from sensor_msgs.msg import NavSatFix, NavSatStatus

from kaiyo_common import qos
from kaiyo_common.testing import Probe, ros_context
from kaiyo_drivers.nmea import checksum
from kaiyo_drivers.nmea_node import NmeaNode
from kaiyo_drivers.testing import SocatPty, free_udp_port


def wrap(body):
    return (f'${body}*{checksum(body):02X}\r\n').encode()


def cycle(sec: int) -> bytes:
    t = f'0100{sec:02d}.00'
    return (wrap(f'GPRMC,{t},A,3519.9046,N,13917.2631,E,2.0,45.0,291126,,')
            + wrap(f'GPGGA,{t},3519.9046,N,13917.2631,E,1,08,0.9,12.0,M,,,,')
            + wrap('HEHDT,90.0,T'))


def level(diags):
    return diags[-1].status[0].level if diags else None


def test_nmea_over_pty_survives_unplug(tmp_path):
    a, b = tmp_path / 'gnss', tmp_path / 'peer'
    pair = SocatPty(a, b).start()
    try:
        with ros_context() as ctx:
            node = NmeaNode(context=ctx, namespace='/wave_boat', parameter_overrides=[
                Parameter('port', value=str(a)), Parameter('baud', value=4800),
                Parameter('reconnect_initial_s', value=0.05),
                Parameter('reconnect_max_s', value=0.2),
                Parameter('stale_after_s', value=0.5),
                Parameter('diagnostic_period_s', value=0.1),
                Parameter('frame_id', value='gnss')])
            probe = Probe(ctx)
            fixes = probe.collect(NavSatFix, '/wave_boat/fix', qos.SENSOR)
            vels = probe.collect(TwistStamped, '/wave_boat/vel', qos.SENSOR)
            heads = probe.collect(QuaternionStamped, '/wave_boat/heading', qos.SENSOR)
            diags = probe.collect(DiagnosticArray, '/wave_boat/diagnostics')
            assert probe.spin_until(lambda: node.runner.stats.connects == 1, 5, [node])
            peer = serial.Serial(str(b), 4800, timeout=0.1)
            sec = [0]

            def send_cycle():
                peer.write(cycle(sec[0] % 60) + b'$GPGGA,garbage*00\r\n')
                sec[0] += 1

            # one burst, then silence: the cycle is published after cycle_gap_s, without
            # waiting for the next cycle
            send_cycle()
            assert probe.spin_until(lambda: len(fixes) == 1, 5, [node])
            assert probe.spin_until(lambda: (send_cycle() or len(fixes) >= 2), 10, [node])
            f = fixes[-1]
            assert f.status.status == NavSatStatus.STATUS_FIX and f.header.frame_id == 'gnss'
            assert abs(f.latitude - 35.331743333) < 1e-6 and abs(f.altitude - 12.0) < 1e-9
            assert probe.spin_until(lambda: vels and heads, 5, [node])
            v = vels[-1].twist.linear
            assert abs(v.x - v.y) < 1e-9 and abs(math.hypot(v.x, v.y) - 2 * 1852 / 3600) < 1e-9
            q = heads[-1].quaternion   # heading 90 (east) -> ENU yaw 0
            assert abs(q.z) < 1e-9 and abs(abs(q.w) - 1.0) < 1e-9
            assert node.bad_frames >= 1            # the garbage lines were counted
            assert probe.spin_until(lambda: level(diags) in (DiagnosticStatus.OK,
                                                             DiagnosticStatus.WARN), 5, [node])

            # unplug: the device node vanishes; the driver reports why and keeps trying
            peer.close()
            pair.close()
            assert probe.spin_until(lambda: level(diags) == DiagnosticStatus.ERROR, 10, [node])
            assert 'retrying' in diags[-1].status[0].message
            n_before = len(fixes)

            # plug back in at the same path: reconnect, data flows, diagnostics recover
            pair = SocatPty(a, b).start()
            peer = serial.Serial(str(b), 4800, timeout=0.1)
            assert probe.spin_until(lambda: node.runner.stats.connects >= 2, 10, [node])
            assert probe.spin_until(lambda: (send_cycle() or len(fixes) > n_before + 1), 10,
                                    [node])
            assert probe.spin_until(lambda: level(diags) in (DiagnosticStatus.OK,
                                                             DiagnosticStatus.WARN), 5, [node])
            peer.close()
            node.shutdown()
            node.destroy_node()
            probe.destroy()
    finally:
        pair.close()


def test_nmea_over_udp():
    port = free_udp_port()
    with ros_context() as ctx:
        node = NmeaNode(context=ctx, parameter_overrides=[
            Parameter('transport', value='udp'), Parameter('host', value='127.0.0.1'),
            Parameter('net_port', value=port)])
        probe = Probe(ctx)
        fixes = probe.collect(NavSatFix, 'fix', qos.SENSOR)
        assert probe.spin_until(lambda: node.runner.stats.connects == 1, 5, [node])
        tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sec = [0]

        def send():
            tx.sendto(cycle(sec[0]), ('127.0.0.1', port))
            sec[0] += 1
        assert probe.spin_until(lambda: send() or fixes, 10, [node])
        assert fixes[-1].status.status == NavSatStatus.STATUS_FIX
        tx.close()
        node.shutdown()
        node.destroy_node()
        probe.destroy()
