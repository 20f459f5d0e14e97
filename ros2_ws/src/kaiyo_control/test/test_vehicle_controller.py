"""Tier 1: the vehicle controller core: modes, safety, loops, inputs."""
import math

import numpy as np
import pytest

from kaiyo_common.vehicles import load_vehicle
from kaiyo_control.control_params import config_from_values
from kaiyo_control.evaluation import load_config
from kaiyo_control.modes import Mode, ModeChange
from kaiyo_control.vehicle_controller import (
    USE_ALTITUDE,
    USE_DEPTH,
    USE_HEADING,
    Estimate,
    Health,
    PilotCommand,
    Setpoint,
    SetpointError,
    VehicleController,
    altitude_from_range,
)


@pytest.fixture
def ctrl():
    return VehicleController(load_vehicle('hover_auv'), load_config('hover_auv'))


def est(t, depth=5.0, yaw=0.0):
    return Estimate(t, np.array([0.0, 0.0, -depth]), np.array([0.0, 0.0, yaw]), np.zeros(6))


def test_disarmed_gives_zero(ctrl):
    out = ctrl.step(0.0, est(0.0))
    assert not np.any(out.thrust_n) and out.message == 'disarmed'


def test_closed_loop_mode_needs_fresh_estimate(ctrl):
    res = ctrl.request_mode(Mode.AUTO, True, 10.0, est(0.0))
    assert res.result is ModeChange.NO_ESTIMATE and not res.success
    assert ctrl.request_mode(Mode.MANUAL, True, 10.0, None).success
    assert ctrl.request_mode(99, True, 10.0, None).result is ModeChange.UNKNOWN_MODE


def test_stale_odometry_zero_thrust(ctrl):
    ctrl.request_mode(Mode.HOLD, True, 0.0, est(0.0))
    assert np.any(ctrl.step(0.02, est(0.02, depth=6.0)).thrust_n)
    out = ctrl.step(5.0, est(0.02))
    assert not np.any(out.thrust_n) and out.health is Health.STALE


def test_manual_pilot_and_timeout(ctrl):
    ctrl.request_mode(Mode.MANUAL, True, 0.0, None)
    ctrl.set_pilot(PilotCommand(surge=1.0, stamp_s=0.0))
    out = ctrl.step(0.1, None)
    assert out.wrench[0] == pytest.approx(50.0)            # pilot_max_force_n[0]
    assert out.thrust_n[0] > 0 and out.thrust_n[1] > 0
    assert not np.any(ctrl.step(2.0, None).thrust_n)      # pilot gone: stop
    with pytest.raises(SetpointError, match='surge'):
        ctrl.set_pilot(PilotCommand(surge=1.5))


def test_buoyancy_feed_forward_pushes_down_at_rest(ctrl):
    ctrl.request_mode(Mode.HOLD, True, 0.0, est(0.0))
    out = ctrl.step(0.02, est(0.02))
    # positively buoyant by ~4.3 N: holding depth needs a downward push of that size
    assert ctrl.net_buoyancy_n == pytest.approx(4.3, abs=0.2)
    assert out.wrench[2] == pytest.approx(-ctrl.net_buoyancy_n, abs=0.5)


def test_setpoint_validation(ctrl):
    with pytest.raises(SetpointError, match='depth_m'):
        ctrl.set_setpoint(Setpoint(mask=USE_DEPTH, depth_m=400.0))
    with pytest.raises(SetpointError, match='exclusive'):
        ctrl.set_setpoint(Setpoint(mask=USE_DEPTH | USE_ALTITUDE, depth_m=5, altitude_m=2))
    with pytest.raises(SetpointError, match='non-finite'):
        ctrl.set_setpoint(Setpoint(mask=USE_HEADING, heading_rad=math.nan))


def test_stabilized_heave_stick_moves_depth_target(ctrl):
    ctrl.request_mode(Mode.STABILIZED, True, 0.0, est(0.0))
    ctrl.set_pilot(PilotCommand(heave=1.0, stamp_s=0.0))
    out = ctrl.step(0.02, est(0.02))
    assert out.targets['depth_m'] < 5.0                    # climbing
    ctrl.set_pilot(PilotCommand(stamp_s=0.03))
    out = ctrl.step(0.04, est(0.04, depth=4.9))
    assert out.targets['depth_m'] == pytest.approx(out.targets['depth_m'])


def test_surface_mode_targets_zero_depth(ctrl):
    ctrl.request_mode(Mode.SURFACE, True, 0.0, est(0.0))
    assert ctrl.step(0.02, est(0.02)).targets['depth_m'] == 0.0


def test_altitude_falls_back_to_depth_hold_when_stale(ctrl):
    ctrl.request_mode(Mode.AUTO, True, 0.0, est(0.0))
    ctrl.set_setpoint(Setpoint(mask=USE_ALTITUDE, altitude_m=2.0))
    out = ctrl.step(0.02, est(0.02))
    assert out.health is Health.WARN and 'altitude' in out.message
    ctrl.set_altitude(3.0, 0.03)
    out = ctrl.step(0.04, est(0.04))
    assert out.health is Health.OK
    assert out.targets['depth_m'] == pytest.approx(6.0, abs=0.01)   # seabed 8 m - 2 m


def test_altitude_from_range_lever_and_tilt():
    rot = np.eye(3)
    assert altitude_from_range(3.0, rot, (0.2, 0.0, -0.3), (0, 0, -1)) == pytest.approx(3.3)
    assert math.isnan(altitude_from_range(3.0, rot, (0, 0, 0), (1, 0, 0)))   # not looking down


def test_wave_boat_rudder_and_names():
    v = load_vehicle('wave_boat')
    ctrl = VehicleController(v, load_config('wave_boat'))
    assert ctrl.has_rudder and not ctrl.hovering
    assert ctrl.request_mode(Mode.SURFACE, True, 0.0, est(0.0)).result is ModeChange.NOT_SUPPORTED
    ctrl.request_mode(Mode.AUTO, True, 0.0, est(0.0, depth=0.0))
    ctrl.set_setpoint(Setpoint(mask=USE_HEADING, heading_rad=1.0))
    out = None
    for k in range(1, 200):
        out = ctrl.step(0.02 * k, est(0.02 * k, depth=0.0))
    assert out.rudder_deg > 0                              # turn left toward +1 rad
    assert out.rudder_deg <= v.surface.rudder_max_angle_deg


def test_config_contract_rejects_bad_values():
    from kaiyo_common.params import ParameterContractError
    with pytest.raises(ParameterContractError, match='depth_kp'):
        config_from_values({'vehicle': 'hover_auv', 'depth_kp': -1.0})
    with pytest.raises(ParameterContractError, match='vehicle'):
        config_from_values({})
    with pytest.raises(ParameterContractError, match='unknown parameter'):
        config_from_values({'vehicle': 'x', 'depht_kp': 1.0})


def test_shipped_params_files_validate():
    for name in ('hover_auv', 'camera_robot', 'wave_boat'):
        cfg = load_config(name)
        assert cfg.vehicle == name
        VehicleController(load_vehicle(name), cfg)
