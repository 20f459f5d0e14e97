"""Vehicle parameter files: every shipped vehicle loads; bad files name file and key."""
import numpy as np
import pytest
import yaml

from kaiyo_common.vehicles import (
    VehicleFileError,
    available_vehicles,
    load_vehicle,
    vehicle_from_dict,
)

VEHICLES = ['camera_robot', 'hover_auv', 'wave_boat']


def test_all_shipped_vehicles_are_listed():
    assert set(VEHICLES) <= set(available_vehicles())


@pytest.mark.parametrize('name', VEHICLES)
def test_vehicle_loads_with_consistent_physics(name):
    p = load_vehicle(name)
    assert p.name == name
    assert p.kind in ('rov', 'auv', 'surface')
    assert p.inertia_kg_m2.shape == (3, 3) and p.added_mass.shape == (6, 6)
    m = p.rigid_body_mass_matrix()
    assert np.allclose(m, m.T) and np.all(np.linalg.eigvalsh(m) > 0)
    b = p.allocation_matrix()
    assert b.shape == (6, len(p.thrusters))
    for t in p.thrusters:
        assert abs(np.linalg.norm(t.direction) - 1.0) < 1e-9
        assert t.min_thrust_n <= 0 < t.max_thrust_n
    if p.kind != 'surface':
        # submerged vehicles are trimmed slightly positive (surface when power is lost)
        assert 0.0 < p.buoyancy_n() - p.weight_n() < 0.02 * p.weight_n()
        assert p.cb_m[2] > p.cg_m[2]  # CB above CG: passive roll/pitch stability


def test_allocation_matrix_columns_are_force_and_moment():
    p = load_vehicle('hover_auv')
    b = p.allocation_matrix()
    i = p.thruster_names().index('surge_l')  # at y = +0.3 pushing forward: yaw right (-z)
    assert np.allclose(b[:, i], [1, 0, 0, 0, 0, -0.3])


def test_camera_robot_controls_six_dof_and_hover_auv_four():
    assert np.linalg.matrix_rank(load_vehicle('camera_robot').allocation_matrix()) == 6
    b = load_vehicle('hover_auv').allocation_matrix()
    # surge, sway, heave, yaw reachable independently
    assert np.linalg.matrix_rank(b[[0, 1, 2, 5], :]) == 4


def test_neutral_ballast_copy():
    p = load_vehicle('hover_auv').with_neutral_ballast()
    assert p.buoyancy_n() == pytest.approx(p.weight_n())


def _base():
    with open(load_vehicle('hover_auv').source) as f:
        return yaml.safe_load(f)


@pytest.mark.parametrize('mutate, key', [
    (lambda d: d.pop('mass_kg'), 'mass_kg'),
    (lambda d: d.update(kind='submarine'), 'kind'),
    (lambda d: d.update(mass_kg=-3), 'mass_kg'),
    (lambda d: d.update(damping_linear=[1, 2, 3]), 'damping_linear'),
    (lambda d: d['thrusters'][2].update(direction=[1, 1, 0]), 'thrusters[2].direction'),
    (lambda d: d['thrusters'][1].update(name='surge_l'), 'thrusters[1].name'),
    (lambda d: d['thrusters'][0].update(min_thrust_n=5), 'thrusters[0].min_thrust_n'),
    (lambda d: d['battery'].update(capacity_wh='lots'), 'battery.capacity_wh'),
    (lambda d: d.update(added_mass=[[1, 2], [3, 4]]), 'added_mass'),
    (lambda d: d['sensors']['dvl'].update(rate_hz=0), 'sensors.dvl.rate_hz'),
    (lambda d: d['camera'].update(cx=9999), 'camera.cx'),
])
def test_bad_values_name_file_and_key(mutate, key):
    d = _base()
    mutate(d)
    with pytest.raises(VehicleFileError) as err:
        vehicle_from_dict(d, 'bad.yaml')
    assert err.value.key == key
    assert 'bad.yaml' in str(err.value) and key in str(err.value)


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(VehicleFileError, match='known vehicles: .*hover_auv'):
        load_vehicle('no_such_vehicle')
    bad = tmp_path / 'x.yaml'
    bad.write_text('kind: [unclosed\n')
    with pytest.raises(VehicleFileError, match='not valid YAML'):
        load_vehicle(bad)
    bad.write_text('- a list\n')
    with pytest.raises(VehicleFileError, match='must be a mapping'):
        load_vehicle(bad)
