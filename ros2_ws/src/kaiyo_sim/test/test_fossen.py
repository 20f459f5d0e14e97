"""Tier 1: the numpy Fossen model alone (long records are cheap here)."""
import math

import numpy as np
import pytest

from kaiyo_common.vehicles import load_vehicle
from kaiyo_sim.fossen import FossenError, FossenModel, ThrusterBank, VehicleState


def _run(model, state, tau, current, seconds, dt=0.01, bank=None, command=None,
         hold_attitude=False):
    if bank is not None:
        bank.set_command(command)
    for _ in range(int(round(seconds / dt))):
        if bank is not None:
            tau = model.params.allocation_matrix() @ bank.step(dt)
        if hold_attitude:
            # roll/pitch hold as ArduSub's stabilise mode does (PD on the tilt), because the
            # open-frame ROV is Munk-unstable in pitch when driven forward hands-off
            rot = state.rotation()
            tilt = np.array([rot[2, 1], -rot[2, 0]])   # ~ roll, pitch for small angles
            tau = tau.copy()
            tau[3:5] += -20.0 * tilt - 5.0 * state.velocity[3:5]
        state = model.step(state, tau, current, dt)
    return state


@pytest.mark.parametrize('name', ['hover_auv', 'camera_robot'])
def test_neutral_vehicle_holds_depth_for_120_s_within_5_cm(name):
    # Neutrally ballasted, zero thrust, released with a 10 deg roll and 5 deg pitch in a
    # 0.3 m/s current: it rolls back upright and drifts, but must not climb or sink.
    model = FossenModel(load_vehicle(name).with_neutral_ballast())
    s = VehicleState.at_rest([0.0, 0.0, -10.0])
    r, p = math.radians(10), math.radians(5)
    s.quaternion = np.array([math.cos(r / 2) * math.cos(p / 2), math.sin(r / 2) * math.cos(p / 2),
                             math.cos(r / 2) * math.sin(p / 2), -math.sin(r / 2) * math.sin(p / 2)])
    depths = []
    for _ in range(120):
        s = _run(model, s, np.zeros(6), [0.3, 0.1, 0.0], 1.0, dt=0.02)
        depths.append(s.depth_m)
    assert max(abs(d - 10.0) for d in depths) < 0.05
    # it did move with the current (the test would pass trivially for a frozen model)
    assert s.position[0] > 20.0
    assert abs(s.rotation()[2, 2] - 1.0) < 1e-3   # righted itself


def test_positive_vehicle_rises_and_floats_at_the_surface():
    model = FossenModel(load_vehicle('hover_auv'))
    s = _run(model, VehicleState.at_rest([0, 0, -3.0]), np.zeros(6), [0, 0, 0], 120.0, dt=0.02)
    assert -0.5 < s.position[2] < 0.0     # risen to the surface, still mostly submerged
    assert abs(s.velocity[2]) < 0.01


@pytest.mark.parametrize('name', ['camera_robot', 'hover_auv'])
def test_steady_surge_speed_matches_damping_solution_within_2_percent(name):
    params = load_vehicle(name).with_neutral_ballast()
    model = FossenModel(params)
    bank = ThrusterBank(params.thrusters)
    b = params.allocation_matrix()
    # full forward on every thruster that pushes forward, others idle
    cmd = np.array([t.max_thrust_n if b[0, i] > 0.5 else 0.0
                    for i, t in enumerate(params.thrusters)])
    surge_force = float((b @ cmd)[0])
    expected = model.steady_speed(0, surge_force)
    s = _run(model, VehicleState.at_rest([0, 0, -10]), None, [0, 0, 0], 60.0, dt=0.02,
             bank=bank, command=cmd, hold_attitude=params.kind == 'rov')
    assert s.velocity[0] == pytest.approx(expected, rel=0.02)
    assert 0.5 < expected < params.max_speed_mps * 1.05


def test_speed_through_water_not_over_ground_is_damped():
    # With a current, steady speed over ground = speed through water + current.
    params = load_vehicle('camera_robot').with_neutral_ballast()
    model = FossenModel(params)
    tau = np.array([40.0, 0, 0, 0, 0, 0])
    s = _run(model, VehicleState.at_rest([0, 0, -5]), tau, [0.2, 0, 0], 40.0)
    assert s.velocity[0] == pytest.approx(model.steady_speed(0, 40.0) + 0.2, rel=0.01)


def test_thruster_bank_saturates_lags_and_fails():
    params = load_vehicle('hover_auv')
    bank = ThrusterBank(params.thrusters)
    sat = bank.set_command([500, -500, 0, 0, 0])
    assert sat[0] == 60.0 and sat[1] == -45.0
    bank.step(0.15)                                  # one time constant
    assert bank.thrust_n[0] == pytest.approx(60.0 * (1 - math.exp(-1)), rel=1e-6)
    bank.health[0] = 0.0
    for _ in range(100):
        bank.step(0.05)
    assert abs(bank.thrust_n[0]) < 1e-3 and bank.thrust_n[1] == pytest.approx(-45.0)
    with pytest.raises(FossenError, match='5 thrusters'):
        bank.set_command([1.0, 2.0])
    with pytest.raises(FossenError, match='non-finite'):
        bank.set_command([1.0, float('nan'), 0, 0, 0])


def test_bad_inputs_raise():
    model = FossenModel(load_vehicle('hover_auv'))
    s = VehicleState.at_rest()
    with pytest.raises(FossenError, match='dt'):
        model.step(s, np.zeros(6), [0, 0, 0], 0.0)
    with pytest.raises(FossenError, match='tau_body'):
        model.step(s, np.zeros(5), [0, 0, 0], 0.01)
    with pytest.raises(FossenError, match='current_enu'):
        model.step(s, np.zeros(6), [0, float('inf'), 0], 0.01)
    with pytest.raises(FossenError, match='rho'):
        FossenModel(load_vehicle('hover_auv'), rho=0.0)
