"""TimedBuffer: pose and altitude read at a frame's stamp."""
import math

import pytest

from kaiyo_seabed.pose_buffer import PoseBufferError, TimedBuffer


def test_interpolates_between_samples_and_refuses_far_stamps():
    b = TimedBuffer(5.0)
    b.add(10.0, (0.0, 2.0))
    b.add(11.0, (1.0, 4.0))
    b.add(13.0, (9.0, 0.0))
    assert b.at(10.25, 1.0) == pytest.approx((0.25, 2.5))
    assert b.at(11.0, 1.0) == (1.0, 4.0)
    assert b.at(13.5, 1.0) == (9.0, 0.0)          # nearest, within the gap
    assert b.at(14.5, 1.0) is None                # too far past the newest
    assert b.at(8.0, 1.0) is None                 # before the oldest
    # samples 2 s apart with a 0.5 s gap: no interpolation; 11.4 is nearest-within-gap
    assert b.at(11.4, 0.5) == (1.0, 4.0)
    assert b.at(12.0, 0.5) is None


def test_quaternion_takes_the_short_arc_and_stays_unit():
    b = TimedBuffer(5.0, quat_slice=slice(1, 5))
    half = math.sqrt(0.5)
    b.add(0.0, (0.0, 1.0, 0.0, 0.0, 0.0))                 # yaw 0
    b.add(1.0, (1.0, -half, 0.0, 0.0, -half))              # yaw 90 deg, sign-flipped
    v = b.at(0.5, 1.0)
    q = v[1:]
    assert math.sqrt(sum(x * x for x in q)) == pytest.approx(1.0)
    yaw = 2 * math.atan2(q[3], q[0])
    assert yaw == pytest.approx(math.radians(45.0), abs=1e-6)


def test_old_samples_expire_and_a_clock_jump_back_restarts():
    b = TimedBuffer(2.0)
    for t in range(10):
        b.add(float(t), (t,))
    assert len(b) == 3 and b.at(6.0, 0.5) is None
    b.add(1.0, (100.0,))                           # replayed bag / sim restart
    assert len(b) == 1 and b.latest() == (1.0, (100.0,))


def test_bad_configuration_and_samples_raise():
    with pytest.raises(PoseBufferError, match='horizon_s'):
        TimedBuffer(0.0)
    with pytest.raises(PoseBufferError, match='max_samples'):
        TimedBuffer(1.0, max_samples=1)
    with pytest.raises(PoseBufferError, match='non-finite'):
        TimedBuffer().add(1.0, (float('nan'),))
