"""Labelled data (class masks, SUIM colour masks, CoralNet-style point labels) and training of
the seabed classifier (pure: numpy + OpenCV).

Label sources
-------------
- Masks: a single-channel PNG whose pixels are kaiyo class ids (0..6; 0 = unlabelled), or an
  RGB mask in the SUIM colour code, mapped as the issue asks: PF (plants) -> seaweed,
  SR (sea-floor and rocks) -> bare, BW (water) -> water, every other colour -> other.
  (SUIM does not tell coralline crust from bare rock; SR trains "bare".)
- Points: a CSV with columns image,x,y,label (x, y in pixels of that image; image relative
  to the images folder). Labels are kaiyo class names or ids, or any codes translated by a
  mapping CSV with columns label,class (class: a kaiyo name/id, or `ignore`). The shipped
  `config/coralnet_mapping.csv` maps the MCR-LTER / CoralNet codes.

Sampling: from each masked image up to `per_class` random pixels per class at the model's
working resolution (so big water areas do not drown the rest); from each point, the working
pixel under it and its 4 neighbours (labels cover a small patch of reef, not one pixel).
Each image's samples (`Samples`) also keep its feature grid and the sample positions, which
the context forest needs (`train_from_samples`; see `kaiyo_seabed.model`).

Pretrained features (`collect_samples(..., backbone=Backbone())`): each image's samples also
keep the network's tapped layer outputs (small: about 50 k numbers per image). Training
then fits the projection (`kaiyo_seabed.backbone.Projection`) on the raw features of up to
`PROJECTION_ROWS_PER_IMAGE` samples per image of the training images only, and appends the
projected components to every sample and grid cell before the forests are trained.
"""
from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from kaiyo_seabed.backbone import DEFAULT_COMPONENTS, Backbone, Projection, tap_rows
from kaiyo_seabed.classes import CLASS_COUNT, CLASS_IDS, SeabedClass
from kaiyo_seabed.features import pixel_features, resize_to_width, to_bgr8
from kaiyo_seabed.model import (
    CONTEXT_SIGMAS_PX,
    ForestParams,
    SeabedModel,
    context_rows,
    forest_probs,
    make_forest,
    package_config,
)

#: Inner folds (by image) that give the context forest honest first-stage probabilities.
CONTEXT_FOLDS = 3
#: Samples per image whose raw pretrained features fit the projection (bounds its memory).
PROJECTION_ROWS_PER_IMAGE = 300

#: SUIM colour code (R, G, B) -> kaiyo class id.
SUIM_RGB_TO_CLASS = {
    (0, 0, 0): SeabedClass.WATER,          # BW background / waterbody
    (0, 0, 255): SeabedClass.OTHER,        # HD human divers
    (0, 255, 0): SeabedClass.SEAWEED,      # PF plants and sea-grass
    (0, 255, 255): SeabedClass.OTHER,      # WR wrecks and ruins
    (255, 0, 0): SeabedClass.OTHER,        # RO robots and instruments
    (255, 0, 255): SeabedClass.OTHER,      # RI reefs and invertebrates
    (255, 255, 0): SeabedClass.OTHER,      # FV fish and vertebrates
    (255, 255, 255): SeabedClass.BARE,     # SR sea-floor and rocks
}


class LabelError(ValueError):
    """A label file (mask, points CSV, mapping) is malformed; the message names file and row."""


@dataclass
class LabelledImage:
    name: str                   # stable name (relative path) used for folds and reports
    image_path: Path
    mask_path: Path | None = None
    points: list = field(default_factory=list)     # [(x, y, class_id)], px of the image


def load_class_mask(path) -> np.ndarray:
    """A class-id mask from a single-channel id PNG or an RGB SUIM colour mask."""
    path = Path(path)
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise LabelError(f'mask {path}: not a readable image')
    if img.ndim == 2:
        if img.size and int(img.max()) >= CLASS_COUNT:
            raise LabelError(f'mask {path}: pixel value {int(img.max())} is not a class id 0..6')
        return img.astype(np.uint8)
    rgb = cv2.cvtColor(img[:, :, :3], cv2.COLOR_BGR2RGB) > 127
    code = rgb[:, :, 0].astype(np.uint8) * 4 + rgb[:, :, 1] * 2 + rgb[:, :, 2]
    lut = np.zeros(8, np.uint8)
    for (r, g, b), cid in SUIM_RGB_TO_CLASS.items():
        lut[(r > 127) * 4 + (g > 127) * 2 + (b > 127)] = int(cid)
    return lut[code]


def read_mapping(path) -> dict:
    """label -> class id (None = ignore) from a CSV with columns label,class."""
    path = Path(path)
    out = {}
    try:
        with open(path, newline='') as f:
            reader = csv.DictReader(f)
            if not reader.fieldnames or not {'label', 'class'} <= set(reader.fieldnames):
                raise LabelError(f'mapping {path}: needs columns label,class; '
                                 f'has {reader.fieldnames}')
            for i, row in enumerate(reader, start=2):
                out[row['label'].strip()] = _class_id(row['class'], f'mapping {path} line {i}')
    except OSError as err:
        raise LabelError(f'mapping {path}: {err.strerror or err}') from None
    return out


def _class_id(value: str, where: str):
    v = (value or '').strip().lower()
    if v in ('ignore', 'skip', 'off', ''):
        return None
    if v in CLASS_IDS:
        return CLASS_IDS[v]
    if v.isdigit() and int(v) < CLASS_COUNT:
        return int(v)
    raise LabelError(f'{where}: class {value!r} is not a kaiyo class name/id or "ignore"')


def read_points(csv_path, images_dir, mapping: dict | None = None) -> list[LabelledImage]:
    """Point labels grouped by image. Unmapped labels raise LabelError naming the row."""
    csv_path, images_dir = Path(csv_path), Path(images_dir)
    by_image: dict[str, LabelledImage] = {}
    try:
        with open(csv_path, newline='') as f:
            reader = csv.DictReader(f)
            if not reader.fieldnames or not {'image', 'x', 'y', 'label'} <= set(reader.fieldnames):
                raise LabelError(f'points {csv_path}: needs columns image,x,y,label; '
                                 f'has {reader.fieldnames}')
            for i, row in enumerate(reader, start=2):
                where = f'points {csv_path} line {i}'
                label = row['label'].strip()
                if mapping is not None and label in mapping:
                    cid = mapping[label]
                else:
                    try:
                        cid = _class_id(label, where)
                    except LabelError:
                        raise LabelError(f'{where}: label {label!r} is neither a kaiyo class nor '
                                         'in the mapping file') from None
                if cid is None:
                    continue
                try:
                    x, y = float(row['x']), float(row['y'])
                except ValueError:
                    raise LabelError(f'{where}: x/y {row["x"]!r}, {row["y"]!r} are not '
                                     'numbers') from None
                name = row['image'].strip()
                item = by_image.setdefault(name, LabelledImage(name, images_dir / name))
                item.points.append((x, y, cid))
    except OSError as err:
        raise LabelError(f'points {csv_path}: {err.strerror or err}') from None
    return list(by_image.values())


def find_mask_pairs(mask_dir, image_dirs=()) -> list[LabelledImage]:
    """Pair every mask in mask_dir with the image of the same stem in mask_dir/../images or
    one of image_dirs. A mask without an image raises LabelError."""
    mask_dir = Path(mask_dir)
    if not mask_dir.is_dir():
        raise LabelError(f'mask folder {mask_dir} does not exist')
    search = [mask_dir.parent / 'images', *(Path(d) for d in image_dirs)]
    out = []
    for mask in sorted(mask_dir.iterdir()):
        if mask.suffix.lower() not in ('.png', '.bmp', '.tif', '.tiff'):
            continue
        image = None
        for d in search:
            for ext in ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff'):
                if (d / (mask.stem + ext)).is_file() and (d / (mask.stem + ext)) != mask:
                    image = d / (mask.stem + ext)
                    break
            if image:
                break
        if image is None:
            raise LabelError(f'mask {mask}: no image {mask.stem}.* in '
                             f'{", ".join(map(str, search))}')
        out.append(LabelledImage(f'{mask_dir.parent.name}/{mask.stem}', image, mask))
    return out


def shared_items() -> list[LabelledImage]:
    """The shared labelled data (`../shared/data/seabed/`, README): the SUIM masks and the
    MCR-LTER points with the shipped CoralNet mapping, the set the shipped model is trained on."""
    from kaiyo_common.paths import shared_data_path
    root = shared_data_path('seabed')
    if not root.is_dir():
        raise LabelError(f'shared labelled data {root} not found; give --masks/--points')
    mapping = read_mapping(package_config('coralnet_mapping.csv'))
    mcr = root / 'mcr_lter_points'
    return (find_mask_pairs(root / 'suim_pf_sr' / 'masks')
            + find_mask_pairs(root / 'suim' / 'masks')
            + read_points(mcr / 'points.csv', mcr, mapping))


def fold_of(name: str, k: int) -> int:
    """Deterministic fold of an image (by the sha256 of its name), 0..k-1."""
    return int(hashlib.sha256(name.encode()).hexdigest(), 16) % k


class Samples(tuple):
    """(features (N, F), labels (N,)) of one image; also carries what the context forest
    needs: the image name, its feature grid (every `stride`-th working pixel) and the working
    pixel index of each sample; with pretrained features, the network's layer outputs
    (`taps`), the working image's height and the network's sha256 (`network`)."""

    def __new__(cls, x, y, name='', grid=None, pos=None, width=0, stride=3, taps=None,
                height=0, network=''):
        obj = super().__new__(cls, (x, y))
        obj.name, obj.grid, obj.pos, obj.width, obj.stride = name, grid, pos, width, stride
        obj.taps, obj.height, obj.network = taps, height, network
        return obj


def image_samples(item: LabelledImage, work_width: int, per_class: int,
                  rng: np.random.Generator, stride: int = 3,
                  backbone: Backbone | None = None) -> Samples:
    """(features, labels) sampled from one labelled image (module doc)."""
    img = cv2.imread(str(item.image_path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise LabelError(f'image {item.image_path}: not readable')
    bgr = to_bgr8(img)
    work = resize_to_width(bgr, work_width)
    h, w = work.shape[:2]
    feats, _ = pixel_features(work)
    xs, ys, ps = [], [], []
    if item.mask_path is not None:
        mask = load_class_mask(item.mask_path)
        if mask.shape[:2] != bgr.shape[:2]:
            raise LabelError(f'mask {item.mask_path}: size {mask.shape[1]}x{mask.shape[0]} differs '
                             f'from image {bgr.shape[1]}x{bgr.shape[0]}')
        labels = cv2.resize(mask, (w, h), interpolation=cv2.INTER_NEAREST).ravel()
        for c in np.unique(labels):
            if c == 0:
                continue
            idx = np.flatnonzero(labels == c)
            take = rng.choice(idx, min(per_class, len(idx)), replace=False)
            xs.append(feats[take])
            ys.append(np.full(len(take), c, np.int32))
            ps.append(take)
    if item.points:
        sx, sy = w / bgr.shape[1], h / bgr.shape[0]
        for x, y, cid in item.points:
            if not (0 <= x < bgr.shape[1] and 0 <= y < bgr.shape[0]):
                raise LabelError(f'point ({x}, {y}) is outside image {item.image_path} '
                                 f'({bgr.shape[1]}x{bgr.shape[0]})')
            j, i = min(int(x * sx), w - 1), min(int(y * sy), h - 1)
            for di, dj in ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)):
                ii, jj = min(max(i + di, 0), h - 1), min(max(j + dj, 0), w - 1)
                xs.append(feats[ii * w + jj][None])
                ys.append(np.array([cid], np.int32))
                ps.append(np.array([ii * w + jj]))
    grid = feats.reshape(h, w, -1)[::stride, ::stride].copy()
    taps = backbone.taps(bgr) if backbone is not None else None
    network = backbone.sha256 if backbone is not None else ''
    if not xs:
        return Samples(np.zeros((0, feats.shape[1]), np.float32), np.zeros(0, np.int32),
                       item.name, grid, np.zeros(0, np.int64), w, stride, taps, h, network)
    return Samples(np.concatenate(xs), np.concatenate(ys), item.name, grid,
                   np.concatenate(ps).astype(np.int64), w, stride, taps, h, network)


def collect_samples(items, work_width: int = 160, per_class: int = 250, seed: int = 0,
                    progress=None, stride: int = 3,
                    backbone: Backbone | None = None) -> list[Samples]:
    """Samples of every item (list aligned with items); with a backbone, each also keeps
    the pretrained network's layer outputs (module doc)."""
    rng = np.random.default_rng(seed)
    out = []
    for n, item in enumerate(items):
        out.append(image_samples(item, work_width, per_class, rng, stride, backbone))
        if progress:
            progress(n + 1, len(items), item.name)
    return out


def fit_projection(samples, components: int = DEFAULT_COMPONENTS,
                   seed: int = 0) -> Projection:
    """The pretrained-feature projection fitted on up to PROJECTION_ROWS_PER_IMAGE samples of
    each of these (training) images."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in samples:
        if s.taps is None:
            raise LabelError(f'image {s.name}: no pretrained features (collect the samples '
                             'with a backbone)')
        pos = s.pos
        if len(pos) > PROJECTION_ROWS_PER_IMAGE:
            pos = rng.choice(pos, PROJECTION_ROWS_PER_IMAGE, replace=False)
        rows.append(tap_rows(s.taps, (s.height, s.width), pos))
    networks = {s.network for s in samples}
    if len(networks) != 1:
        raise LabelError(f'samples come from {len(networks)} different networks; collect them '
                         'all with one backbone')
    return Projection.fit(np.concatenate(rows), components, networks.pop())


def with_projection(s: Samples, projection: Projection) -> Samples:
    """The samples with the projected pretrained components appended to every sample and
    grid cell (the same columns the analyser appends)."""
    z = projection.project(s.taps, (s.height, s.width))
    k = z.shape[2]
    x = np.concatenate([s[0], z.reshape(-1, k)[s.pos]], axis=1)
    grid = np.concatenate([s.grid, z[::s.stride, ::s.stride]], axis=2)
    return Samples(np.ascontiguousarray(x, np.float32), s[1], s.name,
                   np.ascontiguousarray(grid, np.float32), s.pos, s.width, s.stride, None,
                   s.height, s.network)


def train_from_samples(samples, params: ForestParams | None = None, work_width: int = 160,
                       stride: int = 3, meta: dict | None = None,
                       components: int = DEFAULT_COMPONENTS) -> SeabedModel:
    """A model trained on these samples; with pretrained features when the samples carry
    them (`components` principal components, fitted here on these samples only)."""
    params = params or ForestParams()
    samples = [s for s in samples if len(s[1])]
    if not samples:
        raise LabelError('no labelled samples found (empty masks / all points ignored)')
    projection = None
    if samples[0].taps is not None:
        projection = fit_projection(samples, components)
        samples = [with_projection(s, projection) for s in samples]
    model = SeabedModel.train(np.concatenate([s[0] for s in samples]),
                              np.concatenate([s[1] for s in samples]), params, work_width,
                              stride, meta, projection)
    if params.context:
        ctx = _context_training_rows(samples, params, model.stage1_classes, stride)
        if ctx is not None:
            model.context = make_forest(ctx[0], ctx[1], params)
            model.meta['context'] = {'inner_folds': CONTEXT_FOLDS,
                                     'sigmas_px': list(CONTEXT_SIGMAS_PX)}
    return model


def _context_training_rows(samples, params, classes, stride):
    """Inputs and labels of the context forest. Its probability inputs must look like those
    of images the first forest never saw, so each image's come from a first forest trained
    on the other inner folds (by image). None when there are too few images or an inner
    model cannot be trained (then the model has no context forest)."""
    usable = [s for s in samples if getattr(s, 'grid', None) is not None
              and s.stride == stride]
    if len(usable) != len(samples) or len(samples) < CONTEXT_FOLDS:
        return None
    folds = [fold_of(s.name + '#context', CONTEXT_FOLDS) for s in samples]
    xs, ys = [], []
    for f in range(CONTEXT_FOLDS):
        held = [s for s, fo in zip(samples, folds, strict=True) if fo == f]
        rest = [s for s, fo in zip(samples, folds, strict=True) if fo != f]
        if not held:
            continue
        y_rest = np.concatenate([s[1] for s in rest]) if rest else np.zeros(0, np.int32)
        if len(np.unique(y_rest)) < 2:
            return None
        inner = make_forest(np.concatenate([s[0] for s in rest]), y_rest, params)
        for s in held:
            gh, gw = s.grid.shape[:2]
            probs = forest_probs(inner, s.grid.reshape(gh * gw, -1), classes)
            rows = context_rows(s.grid, probs.reshape(gh, gw, -1), stride)
            # each sample takes the smoothed context of its nearest grid cell and the
            # first forest's probabilities of its own pixel
            i = np.minimum(s.pos // s.width // stride, gh - 1)
            j = np.minimum(s.pos % s.width // stride, gw - 1)
            r = rows[i * gw + j]
            nf = s[0].shape[1]
            r[:, :nf] = s[0]
            r[:, nf:nf + len(classes)] = forest_probs(inner, s[0], classes)
            xs.append(r)
            ys.append(s[1])
    return np.concatenate(xs), np.concatenate(ys)
