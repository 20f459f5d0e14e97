"""World file and seabed scene: fractions honoured, ground truth exported and consistent."""
import csv

import cv2
import numpy as np
import pytest
import yaml

from kaiyo_common.geodesy import TOWER
from kaiyo_sim.world import (
    CLASS_BARE,
    CLASS_CORALLINE,
    CLASS_SEAWEED,
    CLASS_URCHIN,
    WorldError,
    load_world,
    world_from_dict,
)


@pytest.fixture(scope='module')
def world():
    return load_world('hiratsuka_tower')


@pytest.fixture(scope='module')
def scene(world):
    return world.build_scene()


def test_world_matches_the_site(world):
    assert world.datum == TOWER
    assert world.bathymetry.depth(0.0, 0.0) == pytest.approx(20.0, abs=0.5)
    assert world.bathymetry.depth(0.0, -100.0) > world.bathymetry.depth(0.0, 100.0)  # deeper south
    assert len(world.legs_enu_m) == 4
    c = world.current_at(np.array([0.0, 0.0, -1.0]), 0.0)
    c_deep = world.current_at(np.array([0.0, 0.0, -19.0]), 0.0)
    assert np.linalg.norm(c_deep) < np.linalg.norm(c)          # slower near the seabed


def test_class_fractions_follow_the_world_file(world, scene):
    grid, _ = scene.class_grid(0.5)
    frac = np.bincount(grid.ravel(), minlength=7) / grid.size
    f = world.scene_spec.fractions
    assert frac[CLASS_BARE] == pytest.approx(f['sand'] + f['bare_rock'], abs=0.03)
    assert frac[CLASS_SEAWEED] == pytest.approx(f['seaweed'], abs=0.03)
    assert frac[CLASS_CORALLINE] + frac[CLASS_URCHIN] == pytest.approx(f['coralline'], abs=0.04)


def test_urchin_density_follows_the_seabed_type(world, scene):
    u = scene.urchins
    mats = scene.base_material(u[:, 0], u[:, 1])
    grid_m = scene.base_material(*np.meshgrid(np.arange(-119.75, 120, 0.5),
                                              np.arange(-119.75, 120, 0.5)))
    area = np.bincount(grid_m.ravel(), minlength=4) * 0.25
    dens = np.bincount(mats, minlength=4) / area
    want = world.scene_spec.urchin_density_per_m2
    assert dens[0] == 0.0                                    # none on sand
    assert dens[2] == pytest.approx(want['coralline'], rel=0.05)
    assert dens[1] == pytest.approx(want['bare_rock'], rel=0.1)


def test_same_seed_same_scene(world):
    a, b = world.build_scene(), world.build_scene()
    assert np.array_equal(a.urchins, b.urchins)
    x = np.linspace(-50, 50, 1000)
    assert np.array_equal(a.classify(x, -x), b.classify(x, -x))


def test_ground_truth_export_is_georeferenced_and_consistent(world, scene, tmp_path):
    paths = scene.export_ground_truth(tmp_path, world.datum, 0.05, (10.0, -20.0, 30.0, -5.0))
    grid = cv2.imread(paths['class_map'], cv2.IMREAD_UNCHANGED)
    meta = yaml.safe_load(open(paths['georeference']))
    assert grid.shape == (300, 400) and grid.dtype == np.uint8
    assert meta['resolution_m'] == 0.05 and meta['extent_m']['west'] == 10.0
    # a pixel maps back to the point the scene classifies
    r, c = 123, 321
    x = 10.0 + (c + 0.5) * 0.05
    y = -5.0 - (r + 0.5) * 0.05
    assert grid[r, c] == scene.classify(np.array([x]), np.array([y]))[0]
    with open(paths['urchins']) as f:
        rows = list(csv.DictReader(f))
    assert rows and all(10.0 <= float(r['east_m']) <= 30.0 for r in rows)
    e, n, _ = TOWER.to_enu(float(rows[0]['lat_deg']), float(rows[0]['lon_deg']))
    assert e == pytest.approx(float(rows[0]['east_m']), abs=0.01)
    # every urchin centre is class urchin in the exported map (when inside a cell centre disc)
    ux, uy = float(rows[0]['east_m']), float(rows[0]['north_m'])
    assert grid[int((-5.0 - uy) / 0.05), int((ux - 10.0) / 0.05)] == CLASS_URCHIN


def _doc(world):
    with open(world.source) as f:
        return yaml.safe_load(f)


@pytest.mark.parametrize('mutate, words', [
    (lambda d: d['scene']['fractions'].update(sand=0.9), 'sum to'),
    (lambda d: d['scene'].update(extent_m=[10, 0, -10, 5]), 'west < east'),
    (lambda d: d['sea_state'].update(hs_m=-1), 'hs_m'),
    (lambda d: d['bathymetry'].pop('depth_at_datum_m'), 'depth_at_datum_m'),
    (lambda d: d.update(datum='atlantis'), 'unknown datum'),
    (lambda d: d['scene']['urchin_density_per_m2'].update(lava=1.0), 'keys must be among'),
])
def test_bad_world_files_name_the_key(world, mutate, words):
    d = _doc(world)
    mutate(d)
    with pytest.raises(WorldError, match=words):
        world_from_dict(d)


def test_missing_world_file():
    with pytest.raises(WorldError, match='cannot read'):
        load_world('atlantis')


def test_class_ids_are_the_interface_constants():
    from kaiyo_interfaces.msg import SeabedObservation as S
    from kaiyo_sim import world as w
    assert (w.CLASS_UNKNOWN, w.CLASS_WATER, w.CLASS_SEAWEED, w.CLASS_CORALLINE, w.CLASS_BARE,
            w.CLASS_URCHIN, w.CLASS_OTHER) == (S.CLASS_UNKNOWN, S.CLASS_WATER, S.CLASS_SEAWEED,
                                                S.CLASS_CORALLINE, S.CLASS_BARE, S.CLASS_URCHIN,
                                                S.CLASS_OTHER)
    assert len(w.CLASS_NAMES) == S.CLASS_COUNT
