import math

import numpy as np
import pytest

from kaiyo_common import frames


def test_ned_enu_vectors():
    assert frames.ned_to_enu([1, 2, 3]).tolist() == [2, 1, -3]
    assert frames.enu_to_ned(frames.ned_to_enu([4, 5, 6])).tolist() == [4, 5, 6]
    assert frames.frd_to_flu([1, 2, 3]).tolist() == [1, -2, -3]


@pytest.mark.parametrize('heading, yaw', [(0, math.pi / 2), (90, 0), (180, -math.pi / 2),
                                          (270, -math.pi)])
def test_heading_yaw(heading, yaw):
    assert frames.heading_deg_to_yaw(heading) == pytest.approx(yaw)
    assert frames.yaw_to_heading_deg(yaw) == pytest.approx(heading % 360)


def test_attitude_ned_to_enu_heading_east_pitch_up():
    # marine: heading east (yaw_ned = 90 deg), nose 10 deg up, 5 deg roll to starboard
    roll, pitch, yaw = frames.attitude_ned_to_enu(math.radians(5), math.radians(10),
                                                  math.radians(90))
    assert yaw == pytest.approx(0.0, abs=1e-9)                 # east in ENU
    assert pitch == pytest.approx(math.radians(-10), abs=1e-9)  # nose up is negative about +y left
    assert roll == pytest.approx(math.radians(5), abs=1e-9)


def test_rotation_conversion_maps_body_axes():
    r_ned = np.eye(3)  # body FRD aligned with NED: facing north
    r_enu = frames.rotation_ned_frd_to_enu_flu(r_ned)
    # body forward (FLU x) points north = ENU y
    assert (r_enu @ [1, 0, 0]).tolist() == pytest.approx([0, 1, 0])
    # body up (FLU z) points up
    assert (r_enu @ [0, 0, 1]).tolist() == pytest.approx([0, 0, 1])


def test_quaternion_helpers():
    q = frames.quat_from_rpy(0.1, -0.2, 0.3)
    assert frames.rpy_from_quat(q) == pytest.approx((0.1, -0.2, 0.3))
    assert frames.quat_from_ros(*frames.quat_to_ros(q)) == pytest.approx(q)
    assert frames.rotate(frames.quat_from_rpy(0, 0, math.pi / 2), [1, 0, 0]) == \
        pytest.approx([0, 1, 0])
    assert frames.wrap_angle(3 * math.pi) == pytest.approx(-math.pi)
