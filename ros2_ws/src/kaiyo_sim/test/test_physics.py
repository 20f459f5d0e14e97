"""Tier 1: MuJoCo path vs numpy path, neutral hold and contacts in MuJoCo (short runs)."""
import dataclasses

import numpy as np
import pytest

from kaiyo_common.vehicles import load_vehicle
from kaiyo_sim.fossen import ThrusterBank, VehicleState
from kaiyo_sim.physics import MujocoPhysics, NumpyPhysics, PhysicsError, make_physics
from kaiyo_sim.world import load_world


@pytest.fixture(scope='module')
def world():
    return load_world('hiratsuka_tower')


def _manoeuvre(physics, params, dt, seconds=20.0):
    """Surge + sway + heave + yaw for 10 s, then a reversal; in a 0.25 m/s current."""
    bank = ThrusterBank(params.thrusters)
    b = params.allocation_matrix()
    traj = []
    for k in range(int(round(seconds / dt))):
        bank.set_command([50, 30, 20, 30, -10] if k * dt < 10 else [-20, 20, 0, 10, 10])
        physics.step({'v': b @ bank.step(dt)}, {'v': np.array([0.2, 0.15, 0.0])})
        traj.append(physics.state('v').position.copy())
    return physics.state('v'), np.array(traj)


def test_mujoco_and_numpy_paths_agree_within_1_percent(world):
    p = load_vehicle('hover_auv')
    s0 = VehicleState.at_rest([0.0, -30.0, -8.0], 0.3)
    # MuJoCo at the simulator's 20 ms step against the numpy RK4 reference at 10 ms
    a, ta = _manoeuvre(MujocoPhysics(world, [('v', p, s0)], 0.02), p, 0.02)
    b, tb = _manoeuvre(NumpyPhysics(world, [('v', p, s0)], 0.01), p, 0.01)
    travelled = np.sum(np.linalg.norm(np.diff(tb[1::2], axis=0), axis=1))
    assert travelled > 5.0   # a real manoeuvre, not a vehicle at rest
    err = np.max(np.linalg.norm(ta - tb[1::2], axis=1))
    assert err < 0.01 * travelled
    assert np.max(np.abs(a.velocity - b.velocity)) < 0.01 * p.max_speed_mps
    assert np.allclose(a.quaternion, b.quaternion, atol=0.01) or \
        np.allclose(a.quaternion, -b.quaternion, atol=0.01)


@pytest.mark.parametrize('name', ['hover_auv', 'camera_robot'])
def test_mujoco_neutral_vehicle_holds_depth_120_s(world, name):
    # MuJoCo applies gravity itself; kaiyo adds buoyancy at the CB: they must cancel.
    p = load_vehicle(name).with_neutral_ballast()
    phys = MujocoPhysics(world, [('v', p, VehicleState.at_rest([30.0, -30.0, -10.0]))], 0.02)
    worst = 0.0
    for _ in range(6000):
        phys.step({'v': np.zeros(6)}, {'v': np.array([0.2, 0.0, 0.0])})
        worst = max(worst, abs(phys.state('v').position[2] + 10.0))
    assert worst < 0.05
    assert phys.state('v').position[0] > 50.0     # drifted with the current meanwhile


def test_heavy_vehicle_lands_on_the_seabed_not_through_it(world):
    p = load_vehicle('hover_auv')
    heavy = dataclasses.replace(p, volume_m3=p.volume_m3 * 0.95)
    x, y = 30, -30                                   # ints work as well as floats
    seabed = float(world.bathymetry.seabed_z(x, y))
    phys = MujocoPhysics(world, [('v', heavy, VehicleState.at_rest([x, y, seabed + 2.0]))], 0.02)
    for _ in range(1500):   # 30 s
        phys.step({'v': np.zeros(6)}, {'v': np.zeros(3)})
    z = phys.state('v').position[2]
    assert phys.contacts('v') > 0
    # resting on the (0.5 m-gridded) seabed: the hull bottom 0.3 m below the origin
    assert z - seabed == pytest.approx(0.3, abs=0.1)
    assert abs(phys.state('v').velocity[2]) < 0.02


def test_bad_backend_and_step_are_refused(world):
    p = load_vehicle('hover_auv')
    with pytest.raises(PhysicsError, match='backend'):
        make_physics('bullet', world, [('v', p, VehicleState.at_rest())], 0.02)
    with pytest.raises(PhysicsError, match='time step'):
        MujocoPhysics(world, [('v', p, VehicleState.at_rest())], 0.5)
