"""DVL-A50: parser units + fuzzing, and the node against a TCP peer with malformed lines and
a dropped connection."""
import json
import math

import pytest
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from hypothesis import given, settings
from hypothesis import strategies as st
from rclpy.parameter import Parameter

from kaiyo_common import qos
from kaiyo_common.testing import Probe, ros_context
from kaiyo_drivers.dvl_a50 import DvlDecoder, DvlError, VelocityReport, parse_line
from kaiyo_drivers.dvl_node import DvlNode
from kaiyo_drivers.peers.dvl_a50 import DvlA50Peer, velocity_report
from kaiyo_interfaces.msg import DvlVelocity


def test_velocity_report_to_flu():
    rep = parse_line(json.dumps(velocity_report(1000.0)))
    assert isinstance(rep, VelocityReport)
    assert rep.velocity_flu == (0.2, 0.05, -0.01)
    assert rep.covariance_flu[1] == pytest.approx(1.2e-07)     # xy flips sign
    assert rep.covariance_flu[5] == pytest.approx(3.0e-08)     # yz: two flips
    assert rep.altitude_m == 3.5 and rep.time_of_validity_s == pytest.approx(0.15)
    invalid = parse_line(json.dumps(velocity_report(1.0, valid=False)))
    assert not invalid.velocity_valid and math.isnan(invalid.altitude_m)
    assert all(math.isnan(r) for r in invalid.beam_range_m)


@pytest.mark.parametrize('line, match', [
    ('{"type": "velocity", "vx": 1', 'not JSON'),
    ('[1, 2]', 'not a JSON object'),
    ('{"vx": 1}', 'without "type"'),
    (json.dumps({**velocity_report(1.0), 'vx': 'fast'}), '"vx"'),
    (json.dumps({**velocity_report(1.0), 'covariance': [[1]]}), 'covariance'),
    (json.dumps({**velocity_report(1.0), 'transducers': []}), '4 beams'),
])
def test_malformed_lines_name_the_problem(line, match):
    with pytest.raises(DvlError, match=match):
        parse_line(line)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=200), st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=8),
    lambda c: st.lists(c, max_size=4) | st.dictionaries(
        st.sampled_from(['type', 'vx', 'vy', 'vz', 'fom', 'covariance', 'altitude',
                         'transducers', 'velocity_valid', 'status', 'beam_valid', 'distance',
                         'x', 'response_to']), c, max_size=10), max_leaves=30).map(json.dumps)))
def test_fuzz_parse_line_only_raises_dvl_error(line):
    try:
        parse_line(line)
    except DvlError:
        pass


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=10))
def test_fuzz_decoder_never_raises(chunks):
    d = DvlDecoder()
    for c in chunks:
        d.feed(c)


def test_dvl_node_against_tcp_peer():
    peer = DvlA50Peer(rate_hz=20.0).start()
    try:
        with ros_context() as ctx:
            node = DvlNode(context=ctx, namespace='/hover_auv', parameter_overrides=[
                Parameter('host', value='127.0.0.1'), Parameter('net_port', value=peer.port),
                Parameter('frame_id', value='dvl'), Parameter('reconnect_initial_s', value=0.05),
                Parameter('reconnect_max_s', value=0.2),
                Parameter('diagnostic_period_s', value=0.1)])
            probe = Probe(ctx)
            got = probe.collect(DvlVelocity, '/hover_auv/dvl', qos.SENSOR)
            diags = probe.collect(DiagnosticArray, '/hover_auv/diagnostics')
            assert probe.spin_until(lambda: len(got) >= 2, 10, [node])
            m = got[-1]
            assert m.header.frame_id == 'dvl' and m.velocity_valid
            assert (m.velocity.x, m.velocity.y) == pytest.approx((0.2, 0.05))
            # malformed JSON lines and garbage are dropped and counted; the stream goes on
            peer.send_raw(b'{"type": "velocity", "vx": \n\xff\xfe\n[1,2,3]\n{"vx":1}\n')
            assert probe.spin_until(lambda: node.bad_frames >= 4, 5, [node])
            n = len(got)
            assert probe.spin_until(lambda: len(got) > n + 2, 5, [node])
            # bottom lock lost: still published, flagged invalid
            peer.velocity = dict(valid=False)
            assert probe.spin_until(lambda: not got[-1].velocity_valid
                                    and math.isnan(got[-1].altitude_m), 5, [node])
            # the DVL drops the connection (power cycle): reconnect, data flows again
            connects = node.runner.stats.connects
            peer.drop_clients()
            assert probe.spin_until(lambda: node.runner.stats.connects > connects, 10, [node])
            peer.velocity = dict(valid=True)
            n = len(got)
            assert probe.spin_until(lambda: len(got) > n + 2 and got[-1].velocity_valid, 5,
                                    [node])
            assert probe.spin_until(lambda: diags and diags[-1].status[0].level in (
                DiagnosticStatus.OK, DiagnosticStatus.WARN), 5, [node])
            assert diags[-1].status[0].values[[v.key for v in diags[-1].status[0].values]
                                              .index('bad_frames')].value != '0'
            node.shutdown()
            node.destroy_node()
            probe.destroy()
    finally:
        peer.stop()
