#!/usr/bin/env python3
"""Score a seabed model on a `kaiyo sim dataset` folder: per-class IoU, per-image cover MAE
per class, and urchin detection (precision, recall, count error) against the manifest's truth
urchins, the way the seabed node analyses a frame (urchins sized from metres per pixel).

    .venv/bin/python scripts/score-sim-model.py DATASET [--model M] [--json]

Used by scripts/train-sim-model.sh on the held-out scenes; figures in
ros2_ws/src/kaiyo_seabed/config/MODEL-PROVENANCE.md. A detection matches the nearest unmatched
truth centre within max(4 px, 6 cm)."""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import cv2
import numpy as np

from kaiyo_common.vehicles import load_vehicle
from kaiyo_seabed.classes import CLASS_NAMES, cover_counts, cover_fractions
from kaiyo_seabed.model import SeabedModel, package_config
from kaiyo_seabed.pipeline import SeabedAnalyzer

CLASSES = (2, 3, 4, 5)          # seaweed, coralline, bare, urchin (the rendered seabed)


def score(dataset: Path, model_path: Path) -> dict:
    man = json.loads((dataset / 'manifest.json').read_text())
    cam = load_vehicle(man['vehicle']).camera
    scale = man['options']['camera_scale']
    fx = cam.fx * round(cam.width * scale) / cam.width
    cam_z = float(cam.mounting.position_m[2])          # camera below base_link (< 0)
    analyzer = SeabedAnalyzer(SeabedModel.load(model_path))
    inter = dict.fromkeys(CLASSES, 0)
    union = dict.fromkeys(CLASSES, 0)
    cover_err = {c: [] for c in CLASSES}
    tp = det = truth = 0
    for f in man['frames']:
        img = cv2.imread(str(dataset / 'images' / f'{f["name"]}.png'))
        mask = cv2.imread(str(dataset / 'masks' / f'{f["name"]}.png'), cv2.IMREAD_UNCHANGED)
        mpp = (f['pose']['altitude_m'] + cam_z) / fx
        res = analyzer.analyze(img, metres_per_pixel=mpp)
        pred = res.full_mask()
        for c in CLASSES:
            inter[c] += int(np.count_nonzero((pred == c) & (mask == c)))
            union[c] += int(np.count_nonzero((pred == c) | (mask == c)))
        _, t_cover = cover_fractions(cover_counts(mask))
        for c in CLASSES:
            cover_err[c].append(100.0 * (res.seabed_cover[c] - t_cover[c]))
        dets = [u.centre for u in res.urchins]
        centres = f['urchins_px']
        radius = max(4.0, 0.06 / mpp)
        used = set()
        for x, y in dets:
            best = min(((math.hypot(x - u, y - v), i) for i, (u, v) in enumerate(centres)
                        if i not in used), default=None)
            if best is not None and best[0] <= radius:
                used.add(best[1])
        tp += len(used)
        det += len(dets)
        truth += len(centres)
    return {
        'dataset': str(dataset), 'model': str(model_path), 'frames': len(man['frames']),
        'seeds': man['seeds'],
        'iou': {CLASS_NAMES[c]: round(inter[c] / union[c], 3) if union[c] else None
                for c in CLASSES},
        'cover_mae_pts': {CLASS_NAMES[c]: round(float(np.mean(np.abs(cover_err[c]))), 2)
                          for c in CLASSES},
        'cover_bias_pts': {CLASS_NAMES[c]: round(float(np.mean(cover_err[c])), 2)
                           for c in CLASSES},
        'urchins': {'truth': truth, 'detected': det,
                    'precision': round(tp / det, 3) if det else None,
                    'recall': round(tp / truth, 3) if truth else None,
                    'count_error': round(det / truth - 1.0, 3) if truth else None},
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('dataset', type=Path)
    ap.add_argument('--model', type=Path, default=package_config('seabed_sim_rtrees.yml.gz'))
    ap.add_argument('--json', action='store_true')
    a = ap.parse_args(argv)
    if not (a.dataset / 'manifest.json').is_file():
        print(f'{a.dataset}: no manifest.json (make one with `kaiyo sim dataset`)',
              file=sys.stderr)
        return 2
    s = score(a.dataset, a.model)
    if a.json:
        print(json.dumps(s, indent=1))
        return 0
    print(f'{s["frames"]} frames, seeds {s["seeds"][0]}-{s["seeds"][-1]}, model {s["model"]}')
    for name, iou in s['iou'].items():
        print(f'  {name:10s} IoU {iou}  cover MAE {s["cover_mae_pts"][name]:5.2f} pts '
              f'(bias {s["cover_bias_pts"][name]:+.2f})')
    u = s['urchins']
    print(f'  urchins: {u["detected"]} detected / {u["truth"]} true, precision '
          f'{u["precision"]}, recall {u["recall"]}, count error {u["count_error"]:+.1%}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
