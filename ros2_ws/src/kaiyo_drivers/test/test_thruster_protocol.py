"""Tier 1: KTP framing, CRC, messages, the controller's watchdog, host session; fuzzing."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kaiyo_drivers.thruster_protocol import (
    AckStatus,
    FrameParser,
    HostSession,
    MsgType,
    ProtocolError,
    Telemetry,
    ThrusterControllerLogic,
    ThrusterReading,
    crc16_ccitt,
    encode_frame,
    parse_telemetry,
    parse_thrust,
    telemetry_payload,
    thrust_payload,
)


def test_crc_matches_the_ccitt_false_check_value():
    assert crc16_ccitt(b'123456789') == 0x29B1


def test_frames_roundtrip_in_any_chunking_and_resync_after_corruption():
    frames = [encode_frame(i, MsgType.THRUST, thrust_payload([1.0 * i, -2.5])) for i in range(5)]
    stream = b''.join(frames)
    corrupt = bytearray(stream)
    corrupt[len(frames[0]) + 6] ^= 0x01          # one flipped bit in frame 1
    p = FrameParser()
    got = []
    for i in range(0, len(corrupt), 3):
        got += p.feed(bytes(corrupt[i:i + 3]))
    assert [f.seq for f in got] == [0, 2, 3, 4] and p.bad_crc == 1
    assert parse_thrust(got[-1].payload) == [4.0, -2.5]


def test_bad_arguments_raise():
    with pytest.raises(ProtocolError, match='outside'):
        thrust_payload([400.0])
    with pytest.raises(ProtocolError, match='NaN'):
        thrust_payload([float('nan')])
    with pytest.raises(ProtocolError, match='seq 300'):
        encode_frame(300, MsgType.PING)
    with pytest.raises(ProtocolError, match='needs 11 bytes'):
        parse_telemetry(bytes([1, 0, 0, 1]))


def test_telemetry_roundtrip():
    t = Telemetry(True, False, 15.87, (ThrusterReading(12.34, 1500.0, 3.21, 0),
                                        ThrusterReading(-5.0, -800.0, 1.0, 2)))
    back = parse_telemetry(telemetry_payload(t))
    assert back.armed and not back.watchdog_tripped and back.bus_voltage_v == pytest.approx(15.87)
    assert back.thrusters[1].fault == 2 and back.thrusters[0].thrust_n == pytest.approx(12.34)


def test_controller_arms_acks_and_watchdog_zeroes_thrust():
    ctl = ThrusterControllerLogic(2, max_thrust_n=50.0, watchdog_s=0.5)
    host = HostSession(ack_timeout_s=0.2)

    def exchange(seq_frame, now):
        _, frame = seq_frame
        (f,) = FrameParser().feed(frame)
        acks, _ = host.feed(ctl.handle(f, now), now)
        return acks[0].status

    assert exchange(host.thrust([10.0, 0.0], 0.0), 0.0) == AckStatus.NOT_ARMED
    assert exchange(host.arm(True, 0.0), 0.0) == AckStatus.OK
    assert exchange(host.thrust([10.0, -5.0], 0.1), 0.1) == AckStatus.OK
    assert exchange(host.thrust([100.0, 0.0], 0.1), 0.1) == AckStatus.OUT_OF_RANGE
    assert exchange(host.thrust([1.0], 0.1), 0.1) == AckStatus.BAD_LENGTH
    assert ctl.output == [10.0, -5.0]
    _, tel = host.feed(ctl.tick(0.5), 0.5)
    assert tel[0].thrusters[0].thrust_n == pytest.approx(10.0) and not tel[0].watchdog_tripped
    _, tel = host.feed(ctl.tick(0.7), 0.7)           # 0.6 s since the last command
    assert ctl.output == [0.0, 0.0] and tel[0].watchdog_tripped
    assert exchange(host.thrust([3.0, 3.0], 0.8), 0.8) == AckStatus.OK
    assert not ctl.tripped


def test_host_counts_missing_acks():
    host = HostSession(ack_timeout_s=0.2)
    host.thrust([0.0], 0.0)
    assert host.expire(0.1) == []
    missed = host.expire(0.3)
    assert len(missed) == 1 and missed[0].status is None and host.missed_acks == 1


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=80), max_size=20))
def test_fuzz_parser_and_host_never_raise(chunks):
    host = HostSession()
    ctl = ThrusterControllerLogic(3)
    p = FrameParser()
    for c in chunks:
        host.feed(c, 0.0)
        for f in p.feed(c):
            ctl.handle(f, 0.0)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 255), st.integers(0, 255), st.binary(max_size=64))
def test_fuzz_valid_frames_with_any_payload(seq, typ, payload):
    host = HostSession()
    host.feed(encode_frame(seq, typ, payload), 0.0)     # bad payloads are counted, not raised
    f = FrameParser().feed(encode_frame(seq, typ, payload))
    assert f[0].payload == payload
    ThrusterControllerLogic(2).handle(f[0], 0.0)
