"""The seabed pixel classifier: an OpenCV random forest (cv2.ml.RTrees) over colour/texture
features, with its metadata, in one gzip'd OpenCV YAML file (pure: no rclpy).

A random forest was chosen over an MLP or SVM because it needs no feature scaling, copes
with the mixed ranges of colour and texture features, trains in seconds on a laptop, and
measured as well or better in cross-validation on the shared data (see README). Prediction
cost is per sample and per tree, so frames are classified on a strided grid of the working
image (`stride`) and the class map is upsampled.

Auto-context (two stages, `ForestParams.context`, on by default): a second forest (`context`)
classifies each grid cell again from its features plus the first forest's class
probabilities at the cell and Gaussian-smoothed over about 4 % and 11 % of the frame width
(`CONTEXT_SIGMAS_PX`), so it learns which neighbourhoods of first-stage answers mean what
(e.g. scattered "other" votes inside a seabed area). To give it the probabilities of
images the first forest never saw, its training inputs come from first forests trained on
the other inner folds by image (`training.CONTEXT_FOLDS`). Measured in 5-fold
cross-validation by image on the shared data: seabed IoU +0.04, seaweed IoU +0.02, point
accuracy +0.4 pp, cover errors lower; it costs a second forest pass (about 1.5x the
per-frame time). Models without a context forest (older files) still load and run.

Pretrained features (`projection`, optional): a model trained with `--features deep` also
sees K principal components of a pretrained network's layers (`kaiyo_seabed.backbone`) as
extra per-pixel features after the 30 colour/texture ones; its projection is part of the
model. Models without it (the simulator-domain model, older files) need no network.

File layout: YAML with `meta` (JSON string: format, feature names, working width, stride,
class ids, training provenance and cross-validated figures), `forest` (the RTrees), when
trained with context `context` (the second RTrees), and with pretrained features
`deep_mean` / `deep_basis` (the projection's matrices; meta `deep` names the network).
"""
from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from kaiyo_seabed.backbone import (
    BACKBONE_FILE,
    IMAGENET_TRUNK_SHA256,
    TAPS,
    BackboneError,
    Projection,
)
from kaiyo_seabed.features import FEATURE_NAMES, N_FEATURES

MODEL_FORMAT = 'kaiyo_seabed.rtrees/1'
#: The model shipped with the package (trained on ../shared/data/seabed; see MODEL-PROVENANCE.md).
SHIPPED_MODEL_NAME = 'seabed_rtrees.yml.gz'


#: Smoothing of the first forest's class probabilities fed to the context forest, Gaussian
#: sigma in working-image pixels (about 4 % and 11 % of the working width).
CONTEXT_SIGMAS_PX = (6.0, 18.0)


def context_rows(grid_feats: np.ndarray, probs: np.ndarray, stride: int) -> np.ndarray:
    """Context-forest inputs for a grid of cells: features (gh, gw, F), first-stage class
    probabilities (gh, gw, C) on the same grid (cells `stride` working pixels apart) ->
    (gh*gw, F + 3C): features, probabilities, probabilities smoothed at CONTEXT_SIGMAS_PX."""
    gh, gw = probs.shape[:2]
    c = probs.shape[2]
    parts = [grid_feats.reshape(gh * gw, -1), probs.reshape(gh * gw, c)]
    for sig in CONTEXT_SIGMAS_PX:
        b = cv2.GaussianBlur(np.ascontiguousarray(probs, np.float32), (0, 0), sig / stride,
                             borderType=cv2.BORDER_REFLECT)
        parts.append(b.reshape(gh * gw, c))
    return np.ascontiguousarray(np.concatenate(parts, axis=1), dtype=np.float32)


def forest_probs(forest, feats: np.ndarray, classes) -> np.ndarray:
    """Share of tree votes per class (N, len(classes)) in the order of `classes`; classes the
    forest never saw get 0."""
    v = forest.getVotes(np.ascontiguousarray(feats, dtype=np.float32), 0)
    ids, votes = v[0], v[1:].astype(np.float32)
    out = np.zeros((len(votes), len(classes)), np.float32)
    pos = {int(c): i for i, c in enumerate(classes)}
    for j, c in enumerate(ids):
        if int(c) in pos:
            out[:, pos[int(c)]] = votes[:, j]
    out /= np.maximum(out.sum(axis=1, keepdims=True), 1.0)
    return out


def make_forest(x: np.ndarray, y: np.ndarray, params: ForestParams):
    """A trained cv2.ml.RTrees on samples x (N, F) float32 and labels y (N,)."""
    forest = cv2.ml.RTrees_create()
    forest.setMaxDepth(params.max_depth)
    forest.setMinSampleCount(params.min_samples)
    forest.setActiveVarCount(min(params.active_vars, x.shape[1]))
    forest.setTermCriteria((cv2.TERM_CRITERIA_MAX_ITER, params.trees, 0))
    if params.balance > 0:
        # priors are indexed by the sorted distinct labels
        _, counts = np.unique(y, return_counts=True)
        pri = counts.astype(np.float64) ** -params.balance
        pri = (pri / pri.sum() * len(pri)).astype(np.float32).reshape(-1, 1)
        forest.setPriors(cv2.Mat(pri))
    forest.train(np.ascontiguousarray(x, dtype=np.float32), cv2.ml.ROW_SAMPLE,
                 np.ascontiguousarray(y, dtype=np.int32).ravel())
    return forest


class ModelError(ValueError):
    """A model file is missing, unreadable, of another format or inconsistent."""


def feature_names(projection: Projection | None) -> list:
    """Names of a model's per-pixel features: the colour/texture ones, then the pretrained
    components when the model has a projection."""
    deep = [f'deep_pc{i}' for i in range(projection.components)] if projection else []
    return list(FEATURE_NAMES) + deep


@dataclass
class ForestParams:
    trees: int = 25                 # number of trees (40 measured no better in CV, 1.6x slower)
    max_depth: int = 12             # tree depth
    min_samples: int = 5            # smallest node that is split
    active_vars: int = 5            # features tried per split
    balance: float = 0.0            # class priors ~ 1/count**balance (0 = sample frequency)
    context: bool = True            # second (auto-context) forest on the first one's class
                                    # probabilities, raw and smoothed (module doc)

    def __post_init__(self) -> None:
        if not 1 <= self.trees <= 1000:
            raise ModelError(f'trees {self.trees!r} must be 1..1000')
        if not 1 <= self.max_depth <= 30:
            raise ModelError(f'max_depth {self.max_depth!r} must be 1..30')
        if not 1 <= self.active_vars <= N_FEATURES:
            raise ModelError(f'active_vars {self.active_vars!r} must be 1..{N_FEATURES}')


@dataclass
class SeabedModel:
    forest: object                      # cv2.ml.RTrees
    work_width: int = 160               # frames are resized to this width for features, px
    stride: int = 3                     # classify every stride-th working pixel
    smooth_cells: float = 0.0           # Gaussian sigma of vote smoothing, grid cells (0 = off;
                                        # 1.5-3 cells measured no gain in cross-validation)
    meta: dict = field(default_factory=dict)
    context: object = None              # cv2.ml.RTrees on context_rows(), or None
    projection: Projection | None = None  # pretrained-feature projection, or None

    @property
    def n_features(self) -> int:
        """Per-pixel features the forests take (30, or 30 + the pretrained components)."""
        return N_FEATURES + (self.projection.components if self.projection else 0)

    @property
    def stage1_classes(self) -> list:
        """Class ids of the first forest, the order of its probabilities for the context."""
        return [int(c) for c in self.meta.get('classes', [])]

    def grid_votes(self, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(class ids (C,), votes (gh, gw, C) float32) for a grid of feature rows
        (gh, gw, n_features) whose cells are `stride` working pixels apart."""
        gh, gw = grid.shape[:2]
        flat = np.ascontiguousarray(grid.reshape(gh * gw, -1), dtype=np.float32)
        if self.context is None:
            ids, votes = self.votes(flat)
            return ids, votes.reshape(gh, gw, len(ids))
        classes = self.stage1_classes
        probs = forest_probs(self.forest, flat, classes).reshape(gh, gw, len(classes))
        v = self.context.getVotes(context_rows(grid, probs, self.stride), 0)
        return v[0].astype(np.uint8), v[1:].astype(np.float32).reshape(gh, gw, -1)

    @classmethod
    def train(cls, x: np.ndarray, y: np.ndarray, params: ForestParams | None = None,
              work_width: int = 160, stride: int = 3, meta: dict | None = None,
              projection: Projection | None = None) -> SeabedModel:
        """Train on samples x (N, n_features) float32 and labels y (N,) class ids; with a
        projection, x holds the colour/texture features then the pretrained components."""
        params = params or ForestParams()
        x = np.ascontiguousarray(x, dtype=np.float32)
        y = np.ascontiguousarray(y, dtype=np.int32).ravel()
        names = feature_names(projection)
        if x.ndim != 2 or x.shape[1] != len(names):
            raise ModelError(f'samples must be (N, {len(names)}), got {x.shape}')
        if len(x) != len(y) or len(y) < 10:
            raise ModelError(f'need >= 10 samples with one label each, got {len(x)} / {len(y)}')
        if len(np.unique(y)) < 2:
            raise ModelError(f'need at least 2 classes to train, got only {np.unique(y).tolist()}')
        forest = make_forest(x, y, params)
        m = dict(meta or {})
        if projection is not None:
            m['deep'] = {'backbone': BACKBONE_FILE, 'taps': list(TAPS),
                         'components': projection.components,
                         'network_sha256': projection.network}
        m.update({'format': MODEL_FORMAT, 'features': names,
                  'classes': sorted(int(c) for c in np.unique(y)),
                  'forest': params.__dict__, 'samples': int(len(y)),
                  'samples_per_class': {int(c): int(n) for c, n in
                                        zip(*np.unique(y, return_counts=True), strict=True)}})
        return cls(forest, work_width, stride, meta=m, projection=projection)

    def votes(self, feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(class ids (C,), tree votes (N, C) float32) for feature rows (N, n_features)."""
        v = self.forest.getVotes(np.ascontiguousarray(feats, dtype=np.float32), 0)
        return v[0].astype(np.uint8), v[1:].astype(np.float32)

    def predict(self, feats: np.ndarray) -> np.ndarray:
        """Class ids (N,) uint8 for feature rows (N, n_features)."""
        if feats.shape[0] == 0:
            return np.zeros(0, np.uint8)
        _, out = self.forest.predict(np.ascontiguousarray(feats, dtype=np.float32))
        return out.ravel().astype(np.uint8)

    # -- file ------------------------------------------------------------------------------
    def save(self, path) -> Path:
        path = Path(path)
        meta = dict(self.meta, work_width=self.work_width, stride=self.stride,
                    smooth_cells=self.smooth_cells)
        fs = cv2.FileStorage('.yml', cv2.FILE_STORAGE_WRITE | cv2.FILE_STORAGE_MEMORY)
        fs.write('meta', json.dumps(meta))
        fs.startWriteStruct('forest', cv2.FileNode_MAP)
        self.forest.write(fs)
        fs.endWriteStruct()
        if self.context is not None:
            fs.startWriteStruct('context', cv2.FileNode_MAP)
            self.context.write(fs)
            fs.endWriteStruct()
        if self.projection is not None:
            fs.write('deep_mean', self.projection.mean.reshape(1, -1))
            fs.write('deep_basis', self.projection.basis)
        text = fs.releaseAndGetString()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + '.tmp')
        tmp.write_bytes(gzip.compress(text.encode(), compresslevel=6, mtime=0))
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path) -> SeabedModel:
        path = Path(path)
        try:
            raw = path.read_bytes()
        except OSError as err:
            raise ModelError(f'cannot read model {path}: {err.strerror or err}') from None
        try:
            text = gzip.decompress(raw).decode() if raw[:2] == b'\x1f\x8b' else raw.decode()
        except (OSError, EOFError, UnicodeDecodeError) as err:
            raise ModelError(f'model {path} is not a gzip/YAML file: {err}') from None
        if not text.startswith('%YAML'):
            raise ModelError(f'model {path} is not an OpenCV YAML file')
        try:
            fs = cv2.FileStorage(text, cv2.FILE_STORAGE_READ | cv2.FILE_STORAGE_MEMORY)
            meta = json.loads(fs.getNode('meta').string() or '{}')
        except (cv2.error, json.JSONDecodeError) as err:
            raise ModelError(f'model {path}: unreadable metadata ({err})') from None
        if meta.get('format') != MODEL_FORMAT:
            raise ModelError(f'model {path} has format {meta.get("format")!r}, '
                             f'expected {MODEL_FORMAT!r}')
        projection = None
        if 'deep' in meta:
            try:
                projection = Projection(fs.getNode('deep_mean').mat(),
                                        fs.getNode('deep_basis').mat(),
                                        meta['deep'].get('network_sha256', IMAGENET_TRUNK_SHA256))
            except (cv2.error, AttributeError, BackboneError) as err:
                raise ModelError(f'model {path}: unreadable pretrained-feature projection '
                                 f'({err})') from None
            if meta['deep'].get('backbone') != BACKBONE_FILE:
                raise ModelError(f'model {path} needs the network {meta["deep"].get("backbone")!r}'
                                 f', this kaiyo_seabed has {BACKBONE_FILE!r}')
        names = feature_names(projection)
        n_features = len(names)
        if meta.get('features') != names:
            raise ModelError(f'model {path} was trained on other features; retrain it with '
                             '`kaiyo seabed train`')
        forest = cv2.ml.RTrees_create()
        try:
            forest.read(fs.getNode('forest'))
        except cv2.error as err:
            raise ModelError(f'model {path}: unreadable forest ({err})') from None
        if not forest.isTrained() or forest.getVarCount() != n_features:
            raise ModelError(f'model {path}: forest is untrained or has the wrong input size')
        context = None
        node = fs.getNode('context')
        if not node.empty():
            context = cv2.ml.RTrees_create()
            try:
                context.read(node)
            except cv2.error as err:
                raise ModelError(f'model {path}: unreadable context forest ({err})') from None
            n_cls = len(meta.get('classes', []))
            if not context.isTrained() or context.getVarCount() != n_features + 3 * n_cls:
                raise ModelError(f'model {path}: context forest is untrained or has the wrong '
                                 'input size')
        return cls(forest, int(meta.get('work_width', 160)), int(meta.get('stride', 3)),
                   float(meta.get('smooth_cells', 0.0)), meta, context, projection)


def package_config(name: str) -> Path:
    """A file of the package's config/ folder (source tree, else share/kaiyo_seabed/config)."""
    here = Path(__file__).resolve().parent.parent / 'config' / name
    if here.exists():
        return here
    try:
        from ament_index_python.packages import get_package_share_directory
        return Path(get_package_share_directory('kaiyo_seabed')) / 'config' / name
    except (ImportError, LookupError, ValueError):
        return here


def model_file(model_path: str) -> Path:
    """The seabed node's `model_path`: a bare file name names one of the package's shipped
    models (so launch and bringup files need no install path); anything with a folder is a
    path."""
    path = Path(model_path).expanduser()
    return package_config(model_path) if path.name == model_path else path


def shipped_model_path() -> Path:
    """The package's shipped model file."""
    return package_config(SHIPPED_MODEL_NAME)


def load_default_model() -> SeabedModel:
    path = shipped_model_path()
    if not path.exists():
        raise ModelError(f'shipped model {path} is missing; train one with `kaiyo seabed train` '
                         'or pass --model')
    return SeabedModel.load(path)
