"""Synthetic labelled imagery (kaiyo_sim.dataset): layout, valid masks, determinism, truth
urchins, and clear errors for bad requests."""
import argparse
import json

import cv2
import numpy as np
import pytest

from kaiyo_common.vehicles import load_vehicle
from kaiyo_sim.dataset import (
    DatasetError,
    DatasetOptions,
    parse_seeds,
    render_seed,
    write_dataset,
)
from kaiyo_sim.world import CLASS_NAMES, CLASS_URCHIN, load_world

SEED = 300        # outside the training (100-139) and validation (200-209) ranges


@pytest.fixture(scope='module')
def world():
    return load_world('hiratsuka_tower')


@pytest.fixture(scope='module')
def auv():
    return load_vehicle('hover_auv')


def test_writes_images_masks_and_manifest(world, auv, tmp_path):
    man = write_dataset(world, auv, [SEED], 2, tmp_path)
    assert [f['name'] for f in man['frames']] == ['seed00300_0000', 'seed00300_0001']
    on_disk = json.loads((tmp_path / 'manifest.json').read_text())
    assert on_disk['seeds'] == [SEED] and len(on_disk['frames']) == 2
    for f in man['frames']:
        img = cv2.imread(str(tmp_path / 'images' / f'{f["name"]}.png'), cv2.IMREAD_UNCHANGED)
        mask = cv2.imread(str(tmp_path / 'masks' / f'{f["name"]}.png'), cv2.IMREAD_UNCHANGED)
        assert img.shape == (240, 320, 3)           # the demo's camera_scale 0.5
        assert mask.shape == (240, 320) and mask.dtype == np.uint8
        assert set(np.unique(mask)) <= set(range(1, len(CLASS_NAMES)))   # no unknown
        assert 1.5 <= f['pose']['altitude_m'] <= 3.5
        # a down-looking camera at <= 3.5 m sees seabed, not open water
        assert np.mean(mask == 1) < 0.05


def test_same_seed_same_frames_other_seed_other_scene(world, auv):
    a = list(render_seed(world, auv, SEED, 2))
    b = list(render_seed(world, auv, SEED, 2))
    c = list(render_seed(world, auv, SEED + 1, 2))
    for fa, fb in zip(a, b):
        assert np.array_equal(fa.image_rgb, fb.image_rgb)
        assert np.array_equal(fa.class_mask, fb.class_mask)
        assert fa.pose == fb.pose and fa.urchins_px == fb.urchins_px
    assert a[0].pose != c[0].pose


def test_truth_urchins_lie_on_urchin_pixels(world, auv):
    frames = list(render_seed(world, auv, SEED, 6))
    total = sum(len(f.urchins_px) for f in frames)
    assert total > 0                                # the site has ~1-4 urchins per m^2
    for f in frames:
        for u, v in f.urchins_px:
            assert f.class_mask[int(v), int(u)] == CLASS_URCHIN
        # every urchin blob fully inside the frame holds at least one truth centre
        n, labels, stats, _ = cv2.connectedComponentsWithStats(
            (f.class_mask == CLASS_URCHIN).astype(np.uint8))
        h, w = f.class_mask.shape
        centres = {int(labels[int(v), int(u)]) for u, v in f.urchins_px}
        for i in range(1, n):
            x, y, bw, bh, _ = stats[i]
            if x > 0 and y > 0 and x + bw < w and y + bh < h:
                assert i in centres


def test_parse_seeds():
    assert parse_seeds('100-103') == [100, 101, 102, 103]
    assert parse_seeds('5, 1,2-3,2') == [1, 2, 3, 5]


@pytest.mark.parametrize('text, words', [
    ('abc', 'is not N or N-M'), ('9-3', 'must be N-M'), ('', 'no seeds'), ('-4', 'not N or N-M'),
])
def test_bad_seeds_raise(text, words):
    with pytest.raises(DatasetError, match=words):
        parse_seeds(text)


@pytest.mark.parametrize('kwargs, words', [
    ({'altitude_m': (3.0, 1.0)}, 'altitude range'),
    ({'altitude_m': (0.0, 1.0)}, 'altitude range'),
    ({'max_tilt_deg': 45.0}, 'max_tilt_deg'),
    ({'turbidity': (2.0, 1.0)}, 'turbidity range'),
    ({'camera_scale': 0.0}, 'camera_scale'),
])
def test_bad_options_raise(kwargs, words):
    with pytest.raises(DatasetError, match=words):
        DatasetOptions(**kwargs)


def test_bad_requests_raise(world, auv, tmp_path):
    with pytest.raises(DatasetError, match='frames per seed 0'):
        list(render_seed(world, auv, SEED, 0))
    with pytest.raises(DatasetError, match='seed -1'):
        list(render_seed(world, auv, -1, 1))
    with pytest.raises(DatasetError, match='has no camera'):
        list(render_seed(world, load_vehicle('wave_boat'), SEED, 1))
    write_dataset(world, auv, [SEED], 1, tmp_path)
    with pytest.raises(DatasetError, match='not empty'):
        write_dataset(world, auv, [SEED], 1, tmp_path)


def test_cli_writes_a_dataset(tmp_path, capsys):
    from kaiyo_sim.cli import cmd_dataset, register
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(['sim', 'dataset', '--seeds', str(SEED), '--frames-per-seed', '1',
                              '--out', str(tmp_path)])
    assert cmd_dataset(args) == 0
    assert len(list((tmp_path / 'masks').glob('*.png'))) == 1
    bad = parser.parse_args(['sim', 'dataset', '--seeds', 'x', '--out', str(tmp_path / 'b')])
    assert cmd_dataset(bad) == 2
    assert 'seed range' in capsys.readouterr().err
