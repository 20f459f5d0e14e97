"""`make bench` figures: per-frame seabed pipeline speed on one core, beside JPEG decoding of
the same frame (the floor any file-based analysis pays) measured in the same run."""
from __future__ import annotations

import time

import cv2
import numpy as np

from kaiyo_common.bench import Figure


def synthetic_seabed(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A seabed-like frame: blue-green cast, rock texture, weed patches, dark blobs."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(0, 1, (height // 8 + 1, width // 8 + 1)).astype(np.float32)
    base = cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC)
    fine = rng.normal(0, 12, (height, width)).astype(np.float32)
    img = np.empty((height, width, 3), np.float32)
    img[:, :, 0] = 120 + 25 * base + fine
    img[:, :, 1] = 110 + 25 * base + fine
    img[:, :, 2] = 60 + 20 * base + fine
    patch = cv2.resize(rng.normal(0, 1, (6, 8)).astype(np.float32), (width, height)) > 0.6
    img[patch] = img[patch] * [0.6, 1.1, 0.5]
    out = np.clip(img, 0, 255).astype(np.uint8)
    for _ in range(8):
        c = (int(rng.integers(20, width - 20)), int(rng.integers(20, height - 20)))
        cv2.circle(out, c, max(4, width // 80), (25, 15, 30), -1)
    return out


def _interleaved(baseline, work, repeat: int) -> tuple[float, float]:
    """Median times (s) of baseline() and work(), measured alternately so that load from
    other processes on a shared machine hits both alike."""
    baseline()
    work()
    work()
    tb, tw = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        baseline()
        t1 = time.perf_counter()
        work()
        t2 = time.perf_counter()
        tb.append(t1 - t0)
        tw.append(t2 - t1)
    return float(np.median(tb)), float(np.median(tw))


def run(quick: bool) -> list[Figure]:
    from kaiyo_seabed.model import SeabedModel, load_default_model, package_config
    from kaiyo_seabed.pipeline import SeabedAnalyzer
    cv2.setNumThreads(1)            # "one core"
    # the shipped real-photo model (pretrained-network features + two forests), and the
    # simulator-domain model (colour/texture features only) to show what the network costs
    shipped = SeabedAnalyzer(load_default_model())
    hand = SeabedAnalyzer(SeabedModel.load(package_config('seabed_sim_rtrees.yml.gz')))
    repeat = 10 if quick else 60
    figures = []
    for w, h, analyzer, what in ((640, 480, shipped, ''), (1280, 720, shipped, ''),
                                 (640, 480, hand, ', colour/texture-only model')):
        frame = synthetic_seabed(w, h)
        ok, jpeg = cv2.imencode('.jpg', frame, [cv2.IMWRITE_JPEG_QUALITY, 92])
        assert ok
        t_decode, t_frame = _interleaved(lambda jpeg=jpeg: cv2.imdecode(jpeg, cv2.IMREAD_COLOR),
                                         lambda frame=frame, a=analyzer: a.analyze(frame),
                                         repeat)
        with_goal = w == 640 and analyzer is shipped
        figures.append(Figure(
            f'seabed pipeline {w}x{h} (quality, colour, classes, urchins, cover){what}, 1 core',
            1.0 / t_frame, 'fps', f'JPEG decode of the same {w}x{h} frame, fps', 1.0 / t_decode,
            goal='>= 30 fps on one core' if with_goal else '',
            met=(1.0 / t_frame >= 30.0) if with_goal else None))
    return figures
