"""Tier 1: image codec, colour correction and quality, urchins, model file, training, metrics."""
import gzip

import cv2
import numpy as np
import pytest

from kaiyo_seabed.classes import SeabedClass
from kaiyo_seabed.evaluation import Evaluation, class_scores
from kaiyo_seabed.features import (
    N_FEATURES,
    assess_quality,
    colour_correct,
    grayworld_gains,
    pixel_features,
    to_bgr8,
)
from kaiyo_seabed.image_codec import ImageEncodingError, array_to_image_fields, image_to_array
from kaiyo_seabed.model import ForestParams, ModelError, SeabedModel
from kaiyo_seabed.pipeline import SeabedAnalyzer
from kaiyo_seabed.training import (
    LabelError,
    LabelledImage,
    collect_samples,
    load_class_mask,
    read_mapping,
    read_points,
    train_from_samples,
)
from kaiyo_seabed.urchins import Urchin, confirm_by_class, detect_urchins

RNG = np.random.default_rng(7)


# -- image codec --------------------------------------------------------------------------------
@pytest.mark.parametrize('enc', ['bgr8', 'rgb8'])
def test_colour_roundtrip(enc):
    img = RNG.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    f = array_to_image_fields(img, enc)
    assert f['step'] == 21
    back = image_to_array(f['encoding'], f['height'], f['width'], f['step'], f['data'])
    assert np.array_equal(back, img)        # always BGR out


def test_mono_and_padded_and_big_endian():
    m8 = RNG.integers(0, 256, (4, 6), dtype=np.uint8)
    padded = np.zeros((4, 8), np.uint8)
    padded[:, :6] = m8
    assert np.array_equal(image_to_array('mono8', 4, 6, 8, padded.tobytes()), m8)
    m16 = RNG.integers(0, 65536, (3, 5), dtype=np.uint16)
    f = array_to_image_fields(m16, 'mono16')
    assert np.array_equal(image_to_array('mono16', 3, 5, f['step'], f['data']), m16)
    be = m16.astype('>u2').tobytes()
    assert np.array_equal(image_to_array('mono16', 3, 5, 10, be, is_bigendian=True), m16)


def test_codec_errors_name_the_problem():
    with pytest.raises(ImageEncodingError, match="'yuv422' is not supported"):
        image_to_array('yuv422', 2, 2, 4, b'\0' * 8)
    with pytest.raises(ImageEncodingError, match='shorter than step'):
        image_to_array('bgr8', 10, 10, 30, b'\0' * 100)
    with pytest.raises(ImageEncodingError, match='step'):
        image_to_array('bgr8', 2, 10, 20, b'\0' * 60)
    with pytest.raises(ImageEncodingError, match='needs'):
        array_to_image_fields(np.zeros((2, 2), np.uint16), 'mono8')


# -- correction and quality ---------------------------------------------------------------------
def test_grayworld_removes_a_blue_green_cast():
    scene = RNG.integers(60, 200, (120, 160, 3)).astype(np.float32)
    cast = np.clip(scene * [1.3, 1.1, 0.45], 0, 255).astype(np.uint8)     # B, G, R
    corrected, gains = colour_correct(cast)
    assert gains[2] > 1.5 > gains[0]                 # red boosted, blue cut
    means = corrected.reshape(-1, 3).mean(0)
    assert abs(means[2] - means[0]) < 0.3 * abs(cast.reshape(-1, 3).mean(0)[2] -
                                                 cast.reshape(-1, 3).mean(0)[0])
    assert grayworld_gains(cast).max() <= 3.0


def test_quality_flags():
    sharp = RNG.integers(0, 256, (240, 320, 3), dtype=np.uint8)
    assert assess_quality(sharp).usable
    q = assess_quality(cv2.GaussianBlur(sharp, (0, 0), 8))
    assert not q.usable and 'blur' in q.reason
    q = assess_quality((sharp // 20).astype(np.uint8))
    assert 'dark' in q.reason
    q = assess_quality(np.full_like(sharp, 255))
    assert 'overexposed' in q.reason


def test_features_shape_and_to_bgr8():
    f, corrected = pixel_features(RNG.integers(0, 256, (30, 40, 3), dtype=np.uint8))
    assert f.shape == (1200, N_FEATURES) and f.dtype == np.float32 and np.isfinite(f).all()
    assert to_bgr8(np.full((10, 10), 4095, np.uint16)).max() == 255        # 12-bit full scale
    assert to_bgr8(np.zeros((10, 10, 4), np.uint8)).shape == (10, 10, 3)


# -- urchins ------------------------------------------------------------------------------------
def _seabed_with_urchins(centres, radius=9):
    img = np.clip(RNG.normal(150, 12, (240, 320, 3)), 0, 255).astype(np.uint8)
    img = cv2.GaussianBlur(img, (3, 3), 0)
    for cx, cy in centres:
        cv2.circle(img, (cx, cy), radius, (30, 20, 35), -1)
        for a in np.linspace(0, 2 * np.pi, 16, endpoint=False):     # spines
            end = (int(cx + 1.6 * radius * np.cos(a)), int(cy + 1.6 * radius * np.sin(a)))
            cv2.line(img, (cx, cy), end, (30, 20, 35), 1)
    return img


def test_urchins_found_where_drawn():
    centres = [(50, 60), (200, 80), (120, 180), (270, 200)]
    found = detect_urchins(_seabed_with_urchins(centres))
    assert len(found) == 4
    for cx, cy in centres:
        assert any(abs(u.centre[0] - cx) < 6 and abs(u.centre[1] - cy) < 6 for u in found)
    assert all(0 < u.score <= 1 for u in found)


def test_no_urchins_on_plain_seabed_and_size_filter():
    assert detect_urchins(_seabed_with_urchins([])) == []
    img = _seabed_with_urchins([(160, 120)], radius=9)
    # at 1 cm/px a 9 px-radius blob is ~25 cm wide: too big for an urchin
    assert detect_urchins(img, metres_per_pixel=0.01) == []
    assert len(detect_urchins(img, metres_per_pixel=0.003)) == 1


def test_detections_are_confirmed_by_the_classifiers_urchin_cells():
    # 320x240 frame, class map 80x60 (4 px cells); urchin cells under the first box only,
    # one stray urchin cell in the corner of the second box's 5x5 cells
    cells = np.zeros((60, 80), bool)
    cells[10:13, 10:13] = True
    cells[40, 60] = True
    urchin = Urchin(40.0, 40.0, 12.0, 12.0, 0.9)       # cells 10..12 x 10..12
    crack = Urchin(240.0, 160.0, 20.0, 20.0, 0.9)      # cells 40..44 x 60..64: 1 of 25
    nothing = Urchin(120.0, 200.0, 10.0, 10.0, 0.9)
    assert confirm_by_class([urchin, crack, nothing], cells, 320, 240) == [urchin]
    assert confirm_by_class([crack], cells, 320, 240, min_fraction=0.0) == [crack]
    with pytest.raises(ValueError, match='min_fraction'):
        confirm_by_class([urchin], cells, 320, 240, min_fraction=1.5)


def test_confirmation_only_with_a_model_that_knows_urchins(tmp_path):
    # the shipped real-photo model has no urchin class: the detector alone counts
    from kaiyo_seabed.model import load_default_model
    model = load_default_model()
    assert 5 not in model.stage1_classes
    img = _seabed_with_urchins([(50, 60), (200, 80)])
    res = SeabedAnalyzer(model).analyze(img)
    assert len(res.urchins) == len(detect_urchins(img)) == 2


# -- model, training, evaluation ---------------------------------------------------------------
def _synthetic_labelled(tmp_path, n=4):
    """Images: left half green weed-like texture, right half grey sand; id masks."""
    items = []
    for i in range(n):
        img = np.empty((120, 160, 3), np.uint8)
        img[:, :80] = np.clip(RNG.normal((40, 140, 50), 25, (120, 80, 3)), 0, 255)
        img[:, 80:] = np.clip(RNG.normal((150, 160, 165), 8, (120, 80, 3)), 0, 255)
        mask = np.full((120, 160), SeabedClass.BARE, np.uint8)
        mask[:, :80] = SeabedClass.SEAWEED
        cv2.imwrite(str(tmp_path / f'im{i}.png'), img)
        cv2.imwrite(str(tmp_path / f'im{i}_mask.png'), mask)
        items.append(LabelledImage(f'im{i}', tmp_path / f'im{i}.png', tmp_path / f'im{i}_mask.png'))
    return items


def test_train_save_load_predict(tmp_path):
    items = _synthetic_labelled(tmp_path)
    model = train_from_samples(collect_samples(items[:3], per_class=100),
                               ForestParams(trees=10, max_depth=6), meta={'note': 'synthetic'})
    path = model.save(tmp_path / 'm.yml.gz')
    loaded = SeabedModel.load(path)
    assert loaded.meta['note'] == 'synthetic' and loaded.stride == model.stride
    test_img = cv2.imread(str(items[3].image_path))
    res = SeabedAnalyzer(loaded, detect_urchins_enabled=False).analyze(test_img)
    cm = res.class_map
    assert np.mean(cm[:, : cm.shape[1] // 2 - 2] == SeabedClass.SEAWEED) > 0.9
    assert np.mean(cm[:, cm.shape[1] // 2 + 2:] == SeabedClass.BARE) > 0.9
    assert res.seabed_cover[SeabedClass.SEAWEED] == pytest.approx(0.5, abs=0.1)
    assert res.cover_class in ('25-50', '50-75')
    assert res.isoyake_index == pytest.approx(0.5, abs=0.1)


def test_context_forest_saved_loaded_and_optional(tmp_path):
    items = _synthetic_labelled(tmp_path, n=5)
    samples = collect_samples(items[:4], per_class=100)
    model = train_from_samples(samples, ForestParams(trees=8, max_depth=6))
    assert model.context is not None and model.meta['context']['inner_folds'] == 3
    loaded = SeabedModel.load(model.save(tmp_path / 'ctx.yml.gz'))
    assert loaded.context is not None
    plain = train_from_samples(samples, ForestParams(trees=8, max_depth=6, context=False))
    assert plain.context is None
    assert SeabedModel.load(plain.save(tmp_path / 'plain.yml.gz')).context is None
    test_img = cv2.imread(str(items[4].image_path))
    for m in (loaded, plain):
        cm = SeabedAnalyzer(m, detect_urchins_enabled=False).analyze(test_img).class_map
        assert np.mean(cm[:, : cm.shape[1] // 2 - 2] == SeabedClass.SEAWEED) > 0.9
        assert np.mean(cm[:, cm.shape[1] // 2 + 2:] == SeabedClass.BARE) > 0.9


def test_model_load_errors(tmp_path):
    with pytest.raises(ModelError, match='cannot read'):
        SeabedModel.load(tmp_path / 'none.yml.gz')
    (tmp_path / 'bad.gz').write_bytes(gzip.compress(b'%YAML:1.0\n---\nmeta: "{}"\n'))
    with pytest.raises(ModelError, match='format'):
        SeabedModel.load(tmp_path / 'bad.gz')
    with pytest.raises(ModelError, match='2 classes'):
        SeabedModel.train(np.zeros((20, N_FEATURES)), np.ones(20))
    with pytest.raises(ModelError, match='trees'):
        ForestParams(trees=0)


def test_suim_colour_mask_mapping(tmp_path):
    rgb = np.array([[[0, 0, 0], [0, 255, 0], [255, 255, 255], [255, 0, 255]]], np.uint8)
    cv2.imwrite(str(tmp_path / 'm.png'), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    assert load_class_mask(tmp_path / 'm.png').tolist() == [[1, 2, 4, 6]]
    cv2.imwrite(str(tmp_path / 'ids.png'), np.array([[9]], np.uint8))
    with pytest.raises(LabelError, match='not a class id'):
        load_class_mask(tmp_path / 'ids.png')


def test_points_and_mapping_errors(tmp_path):
    (tmp_path / 'map.csv').write_text('label,class\nCCA,coralline\nOff,ignore\nX,kelpish\n')
    with pytest.raises(LabelError, match='line 4'):
        read_mapping(tmp_path / 'map.csv')
    (tmp_path / 'map.csv').write_text('label,class\nCCA,coralline\nOff,ignore\n')
    mapping = read_mapping(tmp_path / 'map.csv')
    (tmp_path / 'p.csv').write_text('image,x,y,label\na.jpg,1,2,CCA\na.jpg,3,4,Off\n'
                                    'b.jpg,5,6,seaweed\n')
    items = read_points(tmp_path / 'p.csv', tmp_path, mapping)
    assert [(i.name, i.points) for i in items] == [('a.jpg', [(1.0, 2.0, 3)]),
                                                   ('b.jpg', [(5.0, 6.0, 2)])]
    (tmp_path / 'p.csv').write_text('image,x,y,label\na.jpg,1,2,Porit\n')
    with pytest.raises(LabelError, match="line 2: label 'Porit'"):
        read_points(tmp_path / 'p.csv', tmp_path, mapping)
    (tmp_path / 'p.csv').write_text('img,x,y\n')
    with pytest.raises(LabelError, match='needs columns'):
        read_points(tmp_path / 'p.csv', tmp_path)


def test_metrics_on_a_known_confusion():
    cm = np.array([[8, 2], [4, 6]])
    s = class_scores(cm, ['a', 'b'])
    assert s['a']['precision'] == pytest.approx(8 / 12)
    assert s['a']['recall'] == pytest.approx(0.8)
    assert s['a']['iou'] == pytest.approx(8 / 14)
    ev = Evaluation()
    truth = np.array([[1, 2], [4, 6]], np.uint8)
    pred = np.array([[1, 2], [3, 2]], np.uint8)     # coralline counts as seabed (SR)
    ev.add_mask('x', pred, truth)
    sm = ev.summary()
    assert sm['masks']['scores']['seabed']['iou'] == 1.0
    assert sm['masks']['scores']['seaweed']['iou'] == pytest.approx(0.5)
    ev = Evaluation()
    ev.add_points('p', np.full((10, 10), 3, np.uint8), 100, 100, [(5, 5, 3), (50, 50, 4)])
    assert ev.summary()['points']['accuracy'] == 0.5
