"""Tier 1: the pretrained network (shipped ONNX in cv2.dnn), its projection, and models trained
with pretrained features (save/load, analyser, errors)."""
import gzip
import json
import shutil

import cv2
import numpy as np
import pytest

from kaiyo_seabed.backbone import (
    IMAGENET_TRUNK_SHA256,
    TAP_CHANNELS,
    TAP_DIM,
    Backbone,
    BackboneError,
    Projection,
    file_sha256,
    input_size,
    tap_rows,
)
from kaiyo_seabed.classes import SeabedClass
from kaiyo_seabed.evaluation import cross_validate, format_table, headline
from kaiyo_seabed.features import N_FEATURES
from kaiyo_seabed.model import ForestParams, ModelError, SeabedModel
from kaiyo_seabed.pipeline import SeabedAnalyzer
from kaiyo_seabed.training import LabelError, LabelledImage, collect_samples, train_from_samples

RNG = np.random.default_rng(11)


@pytest.fixture(scope='module')
def backbone():
    return Backbone()


def _scene(h=120, w=160):
    """Left half weed-green blades, right half grey sand."""
    img = np.empty((h, w, 3), np.uint8)
    img[:, : w // 2] = np.clip(RNG.normal((40, 140, 50), 25, (h, w // 2, 3)), 0, 255)
    img[:, w // 2:] = np.clip(RNG.normal((150, 160, 165), 8, (h, w - w // 2, 3)), 0, 255)
    return img


def test_input_size_keeps_aspect_in_multiples_of_32():
    assert input_size(480, 640) == (224, 160)        # 4:3
    assert input_size(720, 1280) == (224, 128)       # 16:9
    assert input_size(4, 4000) == (224, 32)          # a sliver still gets one row of cells
    with pytest.raises(BackboneError, match='empty'):
        input_size(0, 640)


def test_taps_shapes_and_determinism(backbone):
    img = _scene(480, 640)
    taps = backbone.taps(img)
    assert [t.shape for t in taps] == [(40, 20, 28), (112, 10, 14), (320, 5, 7)]
    assert [t.shape[0] for t in taps] == list(TAP_CHANNELS)
    assert all(np.isfinite(t).all() for t in taps)
    again = backbone.taps(img)
    assert all(np.array_equal(a, b) for a, b in zip(taps, again, strict=True))
    # the network sees the picture: two different scenes give different features
    other = backbone.taps(np.full((480, 640, 3), 90, np.uint8))
    assert np.abs(other[2] - taps[2]).mean() > 0.05


def test_projection_of_maps_equals_projection_of_rows(backbone):
    # project() resamples the K-channel projections; that must equal projecting the resampled
    # raw features (resampling is linear), which is what training fits on
    taps = backbone.taps(_scene())
    h, w = 120, 160
    pos = RNG.choice(h * w, 400, replace=False)
    rows = tap_rows(taps, (h, w), pos)
    assert rows.shape == (400, TAP_DIM)
    proj = Projection.fit(rows, 8)
    z = proj.project(taps, (h, w))
    assert z.shape == (h, w, 8) and z.dtype == np.float32
    expect = (rows - proj.mean) @ proj.basis
    assert np.abs(z.reshape(-1, 8)[pos] - expect).max() < 1e-3 * (np.abs(expect).max() + 1)
    # orthonormal components, the first carrying the most variance
    assert np.allclose(proj.basis.T @ proj.basis, np.eye(8), atol=1e-4)
    var = expect.var(axis=0)
    assert var[0] == var.max()


def test_projection_rejects_bad_shapes():
    with pytest.raises(BackboneError, match='components k=0'):
        Projection.fit(np.zeros((50, TAP_DIM)), 0)
    with pytest.raises(BackboneError, match='more than 16 rows'):
        Projection.fit(np.zeros((10, TAP_DIM)), 16)
    with pytest.raises(BackboneError, match='projection must be'):
        Projection(np.zeros(TAP_DIM), np.zeros((TAP_DIM - 1, 4)))


def test_missing_or_broken_network_file_is_named(tmp_path):
    with pytest.raises(BackboneError, match='missing'):
        Backbone(tmp_path / 'none.onnx')
    (tmp_path / 'bad.onnx').write_bytes(b'not a network')
    with pytest.raises(BackboneError, match='unreadable'):
        Backbone(tmp_path / 'bad.onnx')


def _labelled(tmp_path, n):
    items = []
    for i in range(n):
        cv2.imwrite(str(tmp_path / f'im{i}.png'), _scene())
        mask = np.full((120, 160), SeabedClass.BARE, np.uint8)
        mask[:, :80] = SeabedClass.SEAWEED
        cv2.imwrite(str(tmp_path / f'im{i}_mask.png'), mask)
        items.append(LabelledImage(f'im{i}', tmp_path / f'im{i}.png', tmp_path / f'im{i}_mask.png'))
    return items


def test_deep_model_trains_saves_loads_and_classifies(tmp_path, backbone):
    items = _labelled(tmp_path, 5)
    samples = collect_samples(items[:4], per_class=80, backbone=backbone)
    assert samples[0].taps is not None and samples[0].height == 120
    model = train_from_samples(samples, ForestParams(trees=8, max_depth=6), components=6)
    assert model.projection is not None and model.n_features == N_FEATURES + 6
    assert model.meta['features'][-1] == 'deep_pc5'
    assert model.meta['deep']['backbone'] == 'efficientnet_lite0_trunk.onnx'
    assert model.forest.getVarCount() == N_FEATURES + 6
    loaded = SeabedModel.load(model.save(tmp_path / 'deep.yml.gz'))
    assert np.array_equal(loaded.projection.basis, model.projection.basis)
    assert loaded.context is not None and loaded.n_features == N_FEATURES + 6
    img = cv2.imread(str(items[4].image_path))
    analyzer = SeabedAnalyzer(loaded, detect_urchins_enabled=False)
    assert analyzer.backbone is not None
    cm = analyzer.analyze(img).class_map
    assert np.mean(cm[:, : cm.shape[1] // 2 - 2] == SeabedClass.SEAWEED) > 0.9
    assert np.mean(cm[:, cm.shape[1] // 2 + 2:] == SeabedClass.BARE) > 0.9
    same = SeabedAnalyzer(model, detect_urchins_enabled=False).analyze(img).class_map
    assert np.array_equal(cm, same)
    # a model without pretrained features never loads the network
    hand = train_from_samples(collect_samples(items[:4], per_class=80),
                              ForestParams(trees=4, max_depth=4, context=False))
    assert hand.projection is None and SeabedAnalyzer(hand).backbone is None


def test_deep_training_needs_the_features_on_every_image(tmp_path, backbone):
    items = _labelled(tmp_path, 3)
    mixed = collect_samples(items[:2], per_class=40, backbone=backbone) + \
        collect_samples(items[2:], per_class=40)
    with pytest.raises(LabelError, match='im2: no pretrained features'):
        train_from_samples(mixed, ForestParams(trees=4, max_depth=4, context=False))
    # one projection cannot span two networks' features
    two = collect_samples(items, per_class=40, backbone=backbone)
    two[2].network = 'cd' * 32
    with pytest.raises(LabelError, match='2 different networks'):
        train_from_samples(two, ForestParams(trees=4, max_depth=4, context=False))


def test_deep_model_file_errors(tmp_path, backbone):
    items = _labelled(tmp_path, 2)
    model = train_from_samples(collect_samples(items, per_class=40, backbone=backbone),
                               ForestParams(trees=4, max_depth=4, context=False), components=4)
    path = model.save(tmp_path / 'm.yml.gz')
    text = gzip.decompress(path.read_bytes()).decode()
    other = text.replace('efficientnet_lite0_trunk.onnx', 'resnet50.onnx')
    (tmp_path / 'other.yml.gz').write_bytes(gzip.compress(other.encode()))
    with pytest.raises(ModelError, match="needs the network 'resnet50.onnx'"):
        SeabedModel.load(tmp_path / 'other.yml.gz')
    cut = text[:text.index('deep_basis')]
    (tmp_path / 'cut.yml.gz').write_bytes(gzip.compress(cut.encode()))
    with pytest.raises(ModelError, match='projection'):
        SeabedModel.load(tmp_path / 'cut.yml.gz')
    with pytest.raises(ModelError, match=f'must be \\(N, {N_FEATURES + 4}\\)'):
        SeabedModel.train(np.zeros((20, N_FEATURES)), np.arange(20) % 2,
                          projection=model.projection)


def test_a_model_runs_only_with_the_network_it_was_trained_with(tmp_path, backbone):
    items = _labelled(tmp_path, 2)
    model = train_from_samples(collect_samples(items, per_class=40, backbone=backbone),
                               ForestParams(trees=4, max_depth=4, context=False), components=4)
    assert model.projection.network == backbone.sha256
    text = gzip.decompress(model.save(tmp_path / 'm.yml.gz').read_bytes()).decode()
    assert SeabedModel.load(tmp_path / 'm.yml.gz').projection.network == backbone.sha256
    # the projection's components mean nothing on another network's features
    (tmp_path / 'other.yml.gz').write_bytes(
        gzip.compress(text.replace(backbone.sha256, 'ab' * 32).encode()))
    other = SeabedModel.load(tmp_path / 'other.yml.gz')
    with pytest.raises(BackboneError, match='another network \\(sha256 abababababab'):
        SeabedAnalyzer(other)
    # models saved before the digest was recorded were all trained on the ImageNet trunk
    (tmp_path / 'old.yml.gz').write_bytes(
        gzip.compress(text.replace('network_sha256', 'unused_key').encode()))
    assert SeabedModel.load(tmp_path / 'old.yml.gz').projection.network == \
        IMAGENET_TRUNK_SHA256


def test_provenance_file_names_the_images_the_network_was_fine_tuned_on(tmp_path, backbone):
    net = tmp_path / 'trunk.onnx'
    shutil.copyfile(backbone.path, net)
    items = _labelled(tmp_path, 4)
    paths = [it.image_path for it in items]
    assert Backbone(net).seen(paths) == 0                  # no provenance file: none
    doc = {'sha256': backbone.sha256,
           'fine_tuned_on': [{'image': 'im1', 'sha256': file_sha256(paths[1])}]}
    net.with_suffix('.json').write_text(json.dumps(doc))
    tuned = Backbone(net)
    assert tuned.seen(paths) == 1
    # cross-validation retrains the forests, not the network: its figures say so
    ev = cross_validate(items, 2, ForestParams(trees=4, max_depth=4, context=False),
                        per_class=40, backbone=tuned)
    summary = ev.summary()
    assert 'fine-tuned on 1 of these 4 images' in summary['caution']
    assert 'CAUTION: the pretrained network' in format_table(summary)
    assert headline(summary)['caution'] == summary['caution']
    assert 'caution' not in headline(cross_validate(
        items, 2, ForestParams(trees=4, max_depth=4, context=False), per_class=40,
        backbone=backbone).summary())
    net.with_suffix('.json').write_text(json.dumps({**doc, 'sha256': '0' * 64}))
    with pytest.raises(BackboneError, match='describes another network'):
        Backbone(net)
    net.with_suffix('.json').write_text('{"fine_tuned_on": []}')
    with pytest.raises(BackboneError, match='malformed'):
        Backbone(net)
