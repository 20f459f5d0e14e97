"""Tier 1: the simulation core: determinism, commands, every fault in InjectFault.srv."""
import math

import numpy as np
import pytest

from kaiyo_sim.simulation import FAULTS, CommandResult, FaultRequest, Simulation, SimulationError
from kaiyo_sim.world import load_world


@pytest.fixture(scope='module')
def world():
    return load_world('hiratsuka_tower')


def _sim(world, names=('hover_auv', 'wave_boat'), seed=1, backend='numpy', **kw):
    return Simulation(world, list(names), seed=seed, backend=backend, camera=False, **kw)


def _run(sim, seconds):
    out = []
    for _ in range(int(round(seconds / sim.dt))):
        out.extend(sim.step())
    return out


def _of(outputs, vehicle, kind):
    return [o.reading for o in outputs if o.vehicle == vehicle and o.kind == kind]


def _signature(outputs):
    sig = []
    for o in outputs:
        r = o.reading
        if o.kind == 'imu':
            sig.append(tuple(r.linear_acceleration))
        elif o.kind == 'gps':
            sig.append((r.lat_deg, r.lon_deg))
        elif o.kind == 'truth':
            sig.append(tuple(r.position))
    return sig


@pytest.mark.parametrize('backend', ['numpy', 'mujoco'])
def test_same_seed_same_run_other_seed_differs(world, backend):
    runs = []
    for seed in (5, 5, 6):
        sim = _sim(world, seed=seed, backend=backend)
        sim.set_command('hover_auv', ['surge_l', 'surge_r', 'heave_f'], [20.0, 25.0, -10.0])
        sim.set_command('wave_boat', ['rudder_deg'], [10.0])
        runs.append(_signature(_run(sim, 4.0)))
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_every_vehicle_publishes_its_sensors_at_their_rates(world):
    sim = _sim(world, names=('hover_auv', 'camera_robot', 'wave_boat'))
    out = _run(sim, 2.0)
    assert len(_of(out, 'hover_auv', 'imu')) == pytest.approx(2.0 * 50, abs=2)
    assert len(_of(out, 'hover_auv', 'dvl')) == pytest.approx(2.0 * 5, abs=1)
    assert len(_of(out, 'camera_robot', 'pressure')) == pytest.approx(2.0 * 10, abs=1)
    assert _of(out, 'wave_boat', 'dvl') == []            # the boat has no DVL
    assert all(r.fix for r in _of(out, 'wave_boat', 'gps'))
    assert not any(r.fix for r in _of(out, 'hover_auv', 'gps'))    # starts at 3 m depth


def test_commands_are_checked(world):
    sim = _sim(world)
    assert sim.set_command('nobody', ['x'], [1.0]) is CommandResult.UNKNOWN_VEHICLE
    assert sim.set_command('hover_auv', ['warp'], [1.0]) is CommandResult.UNKNOWN_NAME
    assert sim.set_command('hover_auv', ['sway'], [1.0, 2.0]) is CommandResult.BAD_LENGTH
    assert sim.set_command('hover_auv', ['sway'], [math.nan]) is CommandResult.BAD_VALUE
    assert sim.set_command('hover_auv', ['sway'], [500.0]) is CommandResult.ACCEPTED
    assert sim.vehicles['hover_auv'].bank.command_n[2] == 40.0       # saturated


def _inject(sim, **kw):
    r = sim.inject_fault(FaultRequest(**kw))
    assert r.success, r.message
    return r


def test_leak_gps_loss_dvl_dropout_and_clear(world):
    sim = _sim(world, start={'hover_auv': (0.0, -20.0, 0.0, 0.0)})
    _inject(sim, vehicle='hover_auv', fault='leak')
    _inject(sim, vehicle='wave_boat', fault='gps_loss', duration_s=1.0)
    _inject(sim, vehicle='hover_auv', fault='dvl_dropout')
    out = _run(sim, 0.9)
    assert all(_of(out, 'hover_auv', 'leak'))
    assert not any(r.fix for r in _of(out, 'wave_boat', 'gps'))
    assert not any(r.velocity_valid for r in _of(out, 'hover_auv', 'dvl'))
    out = _run(sim, 2.0)                                   # gps_loss lasted 1 s
    assert _of(out, 'wave_boat', 'gps')[-1].fix
    _inject(sim, vehicle='hover_auv', fault='dvl_dropout', clear=True)
    _inject(sim, vehicle='hover_auv', fault='leak', clear=True)
    out = _run(sim, 1.0)
    assert _of(out, 'hover_auv', 'dvl')[-1].velocity_valid
    assert not _of(out, 'hover_auv', 'leak')[-1]


def test_thruster_failure_by_name_or_index(world):
    sim = _sim(world)
    _inject(sim, vehicle='hover_auv', fault='thruster_failure', target='surge_l', magnitude=0.0)
    _inject(sim, vehicle='hover_auv', fault='thruster_failure', target='3', magnitude=0.5)
    sim.set_command('hover_auv', ['surge_l', 'surge_r', 'heave_f'], [40.0, 40.0, 40.0])
    out = _run(sim, 2.0)
    last = _of(out, 'hover_auv', 'thrusters')[-1]
    assert last.thrust_n[0] == pytest.approx(0.0, abs=1e-6) and last.ok[0] is False
    assert last.thrust_n[1] == pytest.approx(40.0, rel=0.01)
    assert last.thrust_n[3] == pytest.approx(20.0, rel=0.01)          # heave_f at half


def test_frozen_sensor_repeats_its_last_value(world):
    sim = _sim(world)
    sim.set_command('hover_auv', ['surge_l', 'surge_r'], [40.0, 40.0])
    _run(sim, 1.0)
    _inject(sim, vehicle='hover_auv', fault='frozen_sensor', target='pressure')
    out = _run(sim, 2.0)
    vals = {r.pressure_pa for r in _of(out, 'hover_auv', 'pressure')}
    assert len(vals) == 1                                  # stuck while stamps move on
    imu = [tuple(r.linear_acceleration) for r in _of(out, 'hover_auv', 'imu')]
    assert len(set(imu)) > 10                              # other sensors keep living


def test_comms_loss_drops_commands(world):
    sim = _sim(world)
    _inject(sim, vehicle='hover_auv', fault='comms_loss', duration_s=0.5)
    assert sim.comms_lost('hover_auv')
    assert sim.set_command('hover_auv', ['sway'], [10.0]) is CommandResult.COMMS_LOST
    _run(sim, 0.6)
    assert not sim.comms_lost('hover_auv')
    assert sim.set_command('hover_auv', ['sway'], [10.0]) is CommandResult.ACCEPTED


def test_battery_drain(world):
    a, b = _sim(world), _sim(world)
    _inject(b, vehicle='hover_auv', fault='battery_drain', magnitude=3000.0)
    ra = _of(_run(a, 10.0), 'hover_auv', 'battery')[-1]
    rb = _of(_run(b, 10.0), 'hover_auv', 'battery')[-1]
    used_a, used_b = 1 - ra.percentage, 1 - rb.percentage
    assert used_b == pytest.approx(used_a * (60 + 3000) / 60, rel=0.02)


@pytest.mark.parametrize('kw, words', [
    (dict(vehicle='sub', fault='leak'), 'unknown vehicle'),
    (dict(vehicle='hover_auv', fault='fire'), 'unknown fault'),
    (dict(vehicle='hover_auv', fault='thruster_failure', target='nope'), 'no thruster'),
    (dict(vehicle='hover_auv', fault='thruster_failure', target='sway', magnitude=2.0), '0..1'),
    (dict(vehicle='hover_auv', fault='frozen_sensor', target='sonar'), 'must be one of'),
    (dict(vehicle='wave_boat', fault='frozen_sensor', target='dvl'), 'has no dvl'),
    (dict(vehicle='hover_auv', fault='battery_drain', magnitude=0.0), 'must be > 0'),
    (dict(vehicle='hover_auv', fault='leak', duration_s=-1.0), 'duration_s'),
    (dict(vehicle='hover_auv', fault='leak', clear=True), 'no active'),
])
def test_bad_fault_requests_are_refused_with_reasons(world, kw, words):
    r = _sim(world).inject_fault(FaultRequest(**kw))
    assert not r.success and words in r.message


def test_all_srv_faults_are_known():
    text = open(__import__('pathlib').Path(__file__).resolve().parents[2]
                / 'kaiyo_interfaces' / 'srv' / 'InjectFault.srv').read()
    for f in FAULTS:
        assert f in text


def test_a_second_vehicle_of_a_kind_starts_beside_the_first(world):
    sim = _sim(world, names=('hover_auv', 'hover_auv2'), backend='mujoco')
    a, b = sim.state('hover_auv').position, sim.state('hover_auv2').position
    assert b[0] - a[0] == pytest.approx(10.0) and b[1] == a[1]
    _run(sim, 1.0)
    assert len(sim.vehicles['hover_auv2'].bank.names) == 5


def test_bad_setups_raise(world):
    with pytest.raises(SimulationError, match='no vehicles'):
        Simulation(world, [], camera=False)
    with pytest.raises(SimulationError, match='duplicate'):
        Simulation(world, ['hover_auv', 'hover_auv'], camera=False)
    with pytest.raises(SimulationError, match='dt'):
        Simulation(world, ['hover_auv'], dt=1.0, camera=False)


def test_submerged_vehicles_feel_the_waves_fading_with_depth(world):
    # a neutral AUV near the surface sways with the swell; deep down much less; off: none
    def sway(depth, waves=True):
        sim = Simulation(world, ['hover_auv'], seed=1, backend='mujoco', camera=False,
                         start={'hover_auv': (-30.0, -30.0, depth, 0.0)},
                         waves_below_surface=waves)
        sim.vehicles['hover_auv'].fluid.buoyancy = sim.vehicles['hover_auv'].fluid.weight
        truth = _of(_run(sim, 16.0), 'hover_auv', 'truth')[200:]   # last 12 s
        return float(np.std([r.velocity[0] for r in truth]))
    shallow, deep, calm = sway(2.0), sway(15.0), sway(2.0, waves=False)
    assert shallow > 2 * deep > 0
    assert calm < 0.1 * deep
