"""Accuracy against human labels: masks and point labels, optionally cross-validated (pure).

Masks are scored in four groups, because SUIM (the shared masks) does not separate coralline
crust from bare rock: water (1), seaweed (2), seabed = coralline + bare (3, 4), other =
urchin + other (5, 6). "Seabed IoU" is predicted coralline+bare against SUIM SR. Predicted
unknown counts as wrong. Pixel scores are computed on the classifier's grid (truth resized
with nearest neighbour), pooled over all images.

Points are scored on the seven class ids (coralline vs bare matters in the MCR-LTER set): the
prediction at a point is the majority class of the 3x3 grid cells around it (about 24 px at
640 px width, the patch size CoralNet-style methods classify).

Per-image cover error: for masks, seaweed and seabed (coralline + bare) cover as a share of
non-water pixels, predicted vs mask, in percentage points; for points, seaweed, coralline,
bare and other cover as shares of labelled points vs the prediction over the whole image.
MAE and bias (mean predicted - true) per key, and overall.

Cross-validation (`cross_validate`): images are split into k folds by the sha256 of their
name; each fold is predicted by a model trained on the other folds only, so every figure is
for images the model never saw. Evaluating the shipped model on its own training images
instead gives optimistic figures and is labelled as such. The forests are retrained per fold,
the pretrained network is not: when it was fine-tuned on some of the images (its provenance
file lists them, `Backbone.seen`), the figures are optimistic too and carry a `caution`;
scripts/export-seabed-backbone.py --cv K fine-tunes it per fold for the honest ones.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from kaiyo_seabed.classes import CLASS_COUNT, CLASS_NAMES
from kaiyo_seabed.pipeline import SeabedAnalyzer, read_image
from kaiyo_seabed.training import (
    LabelledImage,
    collect_samples,
    fold_of,
    load_class_mask,
    train_from_samples,
)

MASK_GROUPS = ('water', 'seaweed', 'seabed', 'other')
#: class id -> mask group index (-1: unknown, always wrong)
_GROUP_OF = np.array([-1, 0, 1, 2, 2, 3, 3])
POINT_COVER_KEYS = ('seaweed', 'coralline', 'bare', 'other')
MASK_COVER_KEYS = ('seaweed', 'seabed')


def class_scores(cm: np.ndarray, names) -> dict:
    """Per-class precision, recall, F1 and IoU from a confusion matrix (truth rows)."""
    out = {}
    for i, name in enumerate(names):
        tp = float(cm[i, i])
        fp = float(cm[:, i].sum() - tp)
        fn = float(cm[i, :].sum() - tp)
        p = tp / (tp + fp) if tp + fp else float('nan')
        r = tp / (tp + fn) if tp + fn else float('nan')
        f1 = 2 * p * r / (p + r) if (p + r) and not math.isnan(p + r) else float('nan')
        iou = tp / (tp + fp + fn) if tp + fp + fn else float('nan')
        out[name] = {'precision': p, 'recall': r, 'f1': f1, 'iou': iou, 'support': int(cm[i].sum())}
    return out


@dataclass
class Evaluation:
    mask_cm: np.ndarray = field(default_factory=lambda: np.zeros((4, 5), np.int64))
    point_cm: np.ndarray = field(
        default_factory=lambda: np.zeros((CLASS_COUNT, CLASS_COUNT), np.int64))
    mask_errors: list = field(default_factory=list)     # [(image, key, predicted, true)] fractions
    point_errors: list = field(default_factory=list)
    images: int = 0
    failed: list = field(default_factory=list)          # [(image, reason)]
    mode: str = 'model'                                 # 'model' or 'cv<k>'
    caution: str = ''                                   # why the figures are optimistic

    def add_mask(self, name: str, class_map: np.ndarray, truth_ids: np.ndarray) -> None:
        truth = cv2.resize(truth_ids, (class_map.shape[1], class_map.shape[0]),
                           interpolation=cv2.INTER_NEAREST)
        keep = truth > 0
        t = _GROUP_OF[truth[keep]]
        p = _GROUP_OF[class_map[keep]]
        p = np.where(p < 0, 4, p)                          # column 4: predicted unknown
        np.add.at(self.mask_cm, (t, p), 1)
        tn = np.count_nonzero(keep & (truth != 1))
        pn = np.count_nonzero((class_map != 1) & (class_map != 0))
        if tn >= 0.05 * truth.size:                        # some seabed in the truth
            for key, ids in (('seaweed', (2,)), ('seabed', (3, 4))):
                tv = np.count_nonzero(np.isin(truth, ids)) / tn
                pv = np.count_nonzero(np.isin(class_map, ids)) / pn if pn else 0.0
                self.mask_errors.append((name, key, pv, tv))
        self.images += 1

    def add_points(self, name: str, class_map: np.ndarray, width: int, height: int,
                   points) -> None:
        gh, gw = class_map.shape
        pad = np.pad(class_map, 1, mode='edge')
        for x, y, cid in points:
            i = min(int(y * gh / height), gh - 1)
            j = min(int(x * gw / width), gw - 1)
            patch = pad[i:i + 3, j:j + 3].ravel()
            pred = int(np.bincount(patch, minlength=CLASS_COUNT).argmax())
            self.point_cm[cid, pred] += 1
        # cover: labelled points vs whole-image prediction, both over seabed classes
        truth = np.bincount([p[2] for p in points], minlength=CLASS_COUNT).astype(float)
        pred = np.bincount(class_map.ravel(), minlength=CLASS_COUNT).astype(float)
        groups = {'seaweed': (2,), 'coralline': (3,), 'bare': (4,), 'other': (5, 6)}
        tsum, psum = truth[2:].sum(), pred[2:].sum()
        if tsum > 0:
            for key, ids in groups.items():
                pv = pred[list(ids)].sum() / psum if psum else 0.0
                self.point_errors.append((name, key, pv, truth[list(ids)].sum() / tsum))
        self.images += 1

    # -- summaries -------------------------------------------------------------------------
    @staticmethod
    def _cover_summary(errors, keys) -> dict:
        out = {}
        for key in (*keys, 'all'):
            e = [100.0 * (p - t) for _, k, p, t in errors if key in ('all', k)]
            out[key] = {'mae_pp': float(np.mean(np.abs(e))) if e else float('nan'),
                        'bias_pp': float(np.mean(e)) if e else float('nan'), 'n': len(e)}
        return out

    def summary(self) -> dict:
        mask_scores = class_scores(self.mask_cm[:, :4], MASK_GROUPS) if self.mask_cm.sum() else {}
        # recall must count predicted-unknown as missed: recompute with the full row
        for i, g in enumerate(MASK_GROUPS):
            if g in mask_scores:
                tp = float(self.mask_cm[i, i])
                row = float(self.mask_cm[i].sum())
                fp = float(self.mask_cm[:, i].sum() - tp)
                mask_scores[g]['recall'] = tp / row if row else float('nan')
                mask_scores[g]['iou'] = tp / (row + fp) if row + fp else float('nan')
                p, r = mask_scores[g]['precision'], mask_scores[g]['recall']
                mask_scores[g]['f1'] = (2 * p * r / (p + r) if p + r and not math.isnan(p + r)
                                        else float('nan'))
                mask_scores[g]['support'] = int(row)
        names = [CLASS_NAMES[i] for i in range(CLASS_COUNT)]
        n_points = int(self.point_cm.sum())
        return {
            'mode': self.mode,
            'caution': self.caution,
            'images': self.images,
            'failed': [{'image': n, 'error': r} for n, r in self.failed],
            'masks': {
                'groups': list(MASK_GROUPS),
                'confusion': self.mask_cm.tolist(),          # rows truth, cols pred (+unknown)
                'scores': mask_scores,
                'pixel_accuracy': float(np.trace(self.mask_cm[:, :4]) / self.mask_cm.sum())
                if self.mask_cm.sum() else float('nan'),
                'cover_error': self._cover_summary(self.mask_errors, MASK_COVER_KEYS),
            },
            'points': {
                'classes': names,
                'confusion': self.point_cm.tolist(),
                'scores': {k: v for k, v in class_scores(self.point_cm, names).items()
                           if v['support'] or self.point_cm[:, names.index(k)].sum()},
                'n': n_points,
                'accuracy': float(np.trace(self.point_cm) / n_points) if n_points else float('nan'),
                'cover_error': self._cover_summary(self.point_errors, POINT_COVER_KEYS),
            },
        }


def evaluate_items(analyzer: SeabedAnalyzer, items, ev: Evaluation | None = None,
                   progress=None) -> Evaluation:
    """Run the full pipeline on labelled images and accumulate the scores."""
    ev = ev or Evaluation()
    for n, item in enumerate(items):
        try:
            img = read_image(item.image_path)
            res = analyzer.analyze(img)
            if item.mask_path is not None:
                ev.add_mask(item.name, res.class_map, load_class_mask(item.mask_path))
            if item.points:
                ev.add_points(item.name, res.class_map, res.width, res.height, item.points)
        except ValueError as err:        # ImageReadError, LabelError, ImageFormatError
            ev.failed.append((item.name, str(err)))
        if progress:
            progress(n + 1, len(items), item.name)
    return ev


def cross_validate(items: list[LabelledImage], k: int = 5, params=None, work_width: int = 160,
                   stride: int = 3, per_class: int = 250, seed: int = 0,
                   progress=None, backbone=None) -> Evaluation:
    """k-fold cross-validation by image (module doc); with a backbone, the models use the
    pretrained features, each fold's projection fitted on its training images only."""
    if not 2 <= k <= len(items):
        raise ValueError(f'cross-validation folds k={k} must be 2..{len(items)} (images)')
    samples = collect_samples(items, work_width, per_class, seed, backbone=backbone)
    folds = [fold_of(it.name, k) for it in items]
    ev = Evaluation(mode=f'cv{k}')
    seen = backbone.seen([it.image_path for it in items]) if backbone is not None else 0
    if seen:
        ev.caution = (f'the pretrained network was fine-tuned on {seen} of these '
                      f'{len(items)} images, so these figures are optimistic; '
                      f'scripts/export-seabed-backbone.py --cv {k} fine-tunes it per fold')
    done = 0
    for f in range(k):
        train = [s for s, fo in zip(samples, folds, strict=True) if fo != f]
        test = [it for it, fo in zip(items, folds, strict=True) if fo == f]
        if not test:
            continue
        model = train_from_samples(train, params, work_width, stride)
        evaluate_items(SeabedAnalyzer(model, backbone=backbone), test, ev)
        done += len(test)
        if progress:
            progress(done, len(items), f'fold {f + 1}/{k}')
    return ev


def headline(summary: dict) -> dict:
    """The figures the issue asks for, from an evaluation summary (with its caution)."""
    m, p = summary['masks'], summary['points']

    def r(v):
        return None if v is None or (isinstance(v, float) and math.isnan(v)) else round(v, 4)
    out = {'mode': summary['mode'], 'images': summary['images']}
    if summary.get('caution'):
        out['caution'] = summary['caution']
    if m['scores']:
        out.update(iou_seaweed=r(m['scores']['seaweed']['iou']),
                   iou_seabed=r(m['scores']['seabed']['iou']),
                   seabed_cover_mae_pp=r(m['cover_error']['all']['mae_pp']))
    if p['n']:
        out.update(point_accuracy=r(p['accuracy']),
                   point_cover_mae_pp=r(p['cover_error']['all']['mae_pp']))
    return out


def format_table(summary: dict) -> str:
    """Human-readable report of `Evaluation.summary()`."""
    def pct(v):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return '   -  '
        return f'{100 * v:5.1f}%'

    def pp(v):
        return '  -  ' if math.isnan(v) else f'{v:5.1f}'

    def score_lines(name: str, width: int, scores: dict, cover_error: dict,
                    accuracy: str) -> list[str]:
        """Precision/recall/F1/IoU rows, the accuracy line, the cover-error line."""
        out = ['', f"  {name:>{width}} {'precision':>9} {'recall':>7} {'F1':>7} {'IoU':>7}"]
        out += [f"  {key:>{width}} {pct(v['precision']):>9} {pct(v['recall']):>7} "
                f"{pct(v['f1']):>7} {pct(v['iou']):>7}" for key, v in scores.items()]
        out.append(accuracy)
        out.append('  per-image cover error (percentage points): ' + ', '.join(
            f"{key} MAE {pp(v['mae_pp'])} bias {pp(v['bias_pp'])}"
            for key, v in cover_error.items()))
        return out

    lines = [f"evaluation: {summary['images']} images, mode {summary['mode']}"
             + ('' if summary['mode'].startswith('cv') else
                '  (model evaluated as given: optimistic if these images trained it)')]
    if summary.get('caution'):
        lines.append(f"CAUTION: {summary['caution']}")
    m = summary['masks']
    if m['scores']:
        lines += ['', 'masks (pixels; seabed = coralline+bare vs SUIM SR)',
                  '  confusion (rows truth, cols predicted):',
                  '  ' + ' ' * 9 + ''.join(f'{g:>10}' for g in (*m['groups'], 'unknown'))]
        for g, row in zip(m['groups'], m['confusion'], strict=True):
            lines.append(f'  {g:>9}' + ''.join(f'{v:>10}' for v in row))
        lines += score_lines('group', 9, m['scores'], m['cover_error'],
                             f"  pixel accuracy {pct(m['pixel_accuracy'])}")
    p = summary['points']
    if p['n']:
        lines += ['', f"points ({p['n']} labels; majority of 3x3 cells around each point)",
                  '  confusion (rows truth, cols predicted):',
                  '  ' + ' ' * 10 + ''.join(f'{c[:9]:>10}' for c in p['classes'])]
        for c, row in zip(p['classes'], p['confusion'], strict=True):
            if sum(row):
                lines.append(f'  {c[:9]:>10}' + ''.join(f'{v:>10}' for v in row))
        lines += score_lines('class', 10, p['scores'], p['cover_error'],
                             f"  point accuracy {pct(p['accuracy'])}")
    for f in summary['failed']:
        lines.append(f"  FAILED {f['image']}: {f['error']}")
    return '\n'.join(lines)
