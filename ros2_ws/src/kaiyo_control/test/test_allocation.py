"""Tier 1: thruster allocation with the three vehicles' real matrices."""
import numpy as np
import pytest

from kaiyo_common.vehicles import load_vehicle
from kaiyo_control.allocation import AllocationError, AllocationStatus, Allocator, controllable_dofs


@pytest.fixture(scope='module')
def auv():
    return Allocator.for_vehicle(load_vehicle('hover_auv'))


def test_controllable_dofs_of_each_vehicle(auv):
    assert auv.dofs == (0, 1, 2, 4, 5)                   # no roll authority
    assert Allocator.for_vehicle(load_vehicle('camera_robot')).dofs == (0, 1, 2, 3, 4, 5)
    assert controllable_dofs(load_vehicle('wave_boat').allocation_matrix()) == (0,)


def test_exact_when_within_limits(auv):
    tau = np.array([20.0, 5.0, -30.0, 0.0, 0.0, 3.0])
    res = auv.allocate(tau)
    assert res.status is AllocationStatus.OK
    assert np.allclose(res.achieved[[0, 1, 2, 4, 5]], tau[[0, 1, 2, 4, 5]], atol=1e-9)


def test_saturation_keeps_yaw_and_heave_and_scales_surge(auv):
    # full surge plus a strong yaw: both on the surge thrusters
    tau = np.array([110.0, 0.0, 60.0, 0.0, 0.0, 12.0])
    res = auv.allocate(tau)
    assert res.status is AllocationStatus.SCALED
    assert res.achieved[5] == pytest.approx(12.0, abs=1e-6)     # yaw kept in full
    assert res.achieved[2] == pytest.approx(60.0, abs=1e-6)     # heave kept in full
    assert 0.0 < res.achieved[0] < 110.0                         # surge gave way
    lo = np.array([t.min_thrust_n for t in load_vehicle('hover_auv').thrusters])
    hi = np.array([t.max_thrust_n for t in load_vehicle('hover_auv').thrusters])
    assert np.all(res.thrust_n <= hi + 1e-9) and np.all(res.thrust_n >= lo - 1e-9)
    # plain clipping of the pseudo-inverse would have lost yaw
    naive = np.clip(auv.pinv @ tau[list(auv.dofs)], lo, hi)
    assert abs((auv.b @ naive)[5] - 12.0) > 1.0


def test_priority_group_itself_saturated(auv):
    res = auv.allocate(np.array([0.0, 0.0, 500.0, 0.0, 0.0, 0.0]))
    assert res.status is AllocationStatus.PRIORITY_SCALED
    assert res.achieved[2] == pytest.approx(120.0, abs=1e-6)     # all the heave there is


def test_weights_spare_a_thruster():
    v = load_vehicle('camera_robot')
    plain = Allocator.for_vehicle(v).allocate(np.array([0, 0, 20.0, 0, 0, 0]))
    w = np.ones(8)
    w[4] = 10.0                                                   # spare v_fr
    spared = Allocator.for_vehicle(v, weights=w).allocate(np.array([0, 0, 20.0, 0, 0, 0]))
    assert abs(spared.thrust_n[4]) < abs(plain.thrust_n[4])
    assert spared.achieved[2] == pytest.approx(20.0)


def test_bad_arguments():
    b = load_vehicle('hover_auv').allocation_matrix()
    with pytest.raises(AllocationError, match='6 x N'):
        Allocator(b[:3], [-1] * 5, [1] * 5)
    with pytest.raises(AllocationError, match='limits'):
        Allocator(b, [-1] * 4, [1] * 5)
    with pytest.raises(AllocationError, match='weights'):
        Allocator(b, [-1] * 5, [1] * 5, weights=[1, 1, 1, 1, 0])
    with pytest.raises(AllocationError, match='wrench'):
        Allocator(b, [-1] * 5, [1] * 5).allocate([1, 2, 3])
