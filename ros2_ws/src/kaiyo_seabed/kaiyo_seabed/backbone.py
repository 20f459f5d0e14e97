"""Pretrained convolutional features for the seabed classifier (pure: no rclpy).

Why: the colour/texture features of `kaiyo_seabed.features` describe a pixel and its few-
centimetre neighbourhood. With the few dozen labelled photos kaiyo ships with, a forest on
them cannot learn what tells a seaweed bed from a reef or a rock face at the scale of the
frame. A network pretrained on ImageNet's 1.28 M photos (which include coral reefs, divers,
sea urchins, anemones and kelp-covered rock) already encodes shape and texture context at
1/8, 1/16 and 1/32 of the frame. kaiyo takes three of its layers, reduces them to a few
principal components fitted on the training images, and gives those to the same two forests
as extra per-pixel features. The shipped network was then fine-tuned on the labelled
underwater images (scripts/export-seabed-backbone.py). Cross-validated on the shared
labelled data (README), network included: seaweed IoU 0.20 -> 0.32 (ImageNet) -> 0.33
(fine-tuned), seabed IoU 0.44 -> 0.50 -> 0.55, cover error 20.4 -> 18.1 -> 17.2 pp, point
accuracy 62 -> 62 -> 65 %.

The network: `config/efficientnet_lite0_trunk.onnx`, EfficientNet-Lite0 (Apache-2.0;
provenance in config/MODEL-PROVENANCE.md and the JSON file beside it; rebuilt by
scripts/export-seabed-backbone.py) cut after block 15, run by OpenCV's dnn module, so it
needs no deep-learning runtime. Frames are resized to `INPUT_WIDTH` px wide and a height
that is a multiple of 32 (e.g. 224x160 for 4:3, 224x128 for 16:9) and scaled as
(RGB - 127) / 128. About 15 ms per frame on one core.

The projection (`Projection`): principal components of the tapped layers' outputs
(bilinearly resampled to the working image) at the training samples' pixels. It belongs to
a trained model and to the network it was fitted on (`network`, its sha256), and is saved
in the model file. Because resampling is linear, each layer is
projected at its own resolution first and only the K-channel results are resampled.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

BACKBONE_FILE = 'efficientnet_lite0_trunk.onnx'
#: Output names of the trunk and their channel counts.
TAPS = ('s8', 's16', 's32')
TAP_CHANNELS = (40, 112, 320)
TAP_DIM = sum(TAP_CHANNELS)
#: Width of the network's input, px (ImageNet resolution of EfficientNet-Lite0).
INPUT_WIDTH = 224
#: sha256 of the ImageNet-only trunk that kaiyo shipped before models recorded their
#: network's digest: deep models without one were trained on it.
IMAGENET_TRUNK_SHA256 = '6532d48dad12a6d04b9c9b73f91b7ea19f003cee3a553e6ac3a3d8261a88640e'
#: Principal components kept (8, 16 and 32 measured alike in cross-validation; 16 chosen).
DEFAULT_COMPONENTS = 16


class BackboneError(ValueError):
    """The backbone network file is missing or unusable."""


def input_size(height: int, width: int) -> tuple[int, int]:
    """(width, height) of the network input for a frame: INPUT_WIDTH wide, height the nearest
    multiple of 32 to the frame's aspect (at least 32)."""
    if height < 1 or width < 1:
        raise BackboneError(f'frame size {width}x{height} is empty')
    h = max(32, int(round(height * INPUT_WIDTH / width / 32.0)) * 32)
    return INPUT_WIDTH, h


def file_sha256(path: Path | str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class Backbone:
    """The pretrained trunk in cv2.dnn. Not thread-safe: one per analyser.

    `sha256` identifies the network (a model's projection belongs to one network). The
    provenance file beside it (same name, .json; written by scripts/export-seabed-backbone.py)
    lists the images the network was fine-tuned on, by sha256 (`seen`).
    """

    def __init__(self, path: Path | str | None = None):
        if path is None:
            from kaiyo_seabed.model import package_config
            path = package_config(BACKBONE_FILE)
        self.path = Path(path)
        if not self.path.is_file():
            raise BackboneError(f'backbone network {self.path} is missing (it ships with '
                                'kaiyo_seabed; scripts/export-seabed-backbone.py rebuilds it)')
        try:
            self.net = cv2.dnn.readNetFromONNX(str(self.path))
        except cv2.error as err:
            raise BackboneError(f'backbone network {self.path} is unreadable: {err}') from None
        self.sha256 = file_sha256(self.path)
        self.fine_tuned_on = self._read_provenance(self.path.with_suffix('.json'))

    def _read_provenance(self, path: Path) -> frozenset[str]:
        """sha256s of the images the network was fine-tuned on (none without the file)."""
        if not path.is_file():
            return frozenset()
        try:
            doc = json.loads(path.read_text(encoding='utf-8'))
            if doc['sha256'] != self.sha256:
                raise BackboneError(f'provenance file {path} describes another network '
                                    f'(sha256 {doc["sha256"]}, {self.path} is {self.sha256})')
            return frozenset(img['sha256'] for img in doc.get('fine_tuned_on', []))
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise BackboneError(f'provenance file {path} is malformed: {err!r}') from None

    def seen(self, image_paths) -> int:
        """How many of these image files the network was fine-tuned on."""
        if not self.fine_tuned_on:
            return 0
        return sum(file_sha256(p) in self.fine_tuned_on for p in image_paths)

    def taps(self, bgr: np.ndarray) -> list[np.ndarray]:
        """The tapped layer outputs for a BGR uint8 frame: [(C, h, w) float32] per TAPS."""
        size = input_size(*bgr.shape[:2])
        img = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
        blob = cv2.dnn.blobFromImage(img, 1.0 / 128.0, size, (127.0, 127.0, 127.0),
                                     swapRB=True, crop=False)
        self.net.setInput(blob)
        outs = self.net.forward(list(TAPS))
        return [np.ascontiguousarray(o[0], np.float32) for o in outs]


def tap_rows(taps: list[np.ndarray], out_hw: tuple[int, int],
             positions: np.ndarray) -> np.ndarray:
    """Raw tapped features (N, TAP_DIM) at working-image pixels `positions` (flat indices of an
    image of size out_hw), each layer bilinearly resampled to out_hw."""
    h, w = out_hw
    parts = []
    for t in taps:
        up = cv2.resize(t.transpose(1, 2, 0), (w, h), interpolation=cv2.INTER_LINEAR)
        parts.append(up.reshape(h * w, -1)[positions])
    return np.ascontiguousarray(np.concatenate(parts, axis=1), np.float32)


@dataclass
class Projection:
    """Principal-component projection of the tapped features: z = (f - mean) @ basis."""
    mean: np.ndarray        # (TAP_DIM,) float32
    basis: np.ndarray       # (TAP_DIM, K) float32, orthonormal columns
    network: str = IMAGENET_TRUNK_SHA256     # sha256 of the network the rows came from

    def __post_init__(self) -> None:
        self.mean = np.ascontiguousarray(self.mean, np.float32).ravel()
        self.basis = np.ascontiguousarray(self.basis, np.float32)
        if self.mean.shape != (TAP_DIM,) or self.basis.ndim != 2 or \
                self.basis.shape[0] != TAP_DIM or not 1 <= self.basis.shape[1] <= 64:
            raise BackboneError(f'projection must be mean ({TAP_DIM},) and basis '
                                f'({TAP_DIM}, K<=64), got {self.mean.shape} and '
                                f'{self.basis.shape}')

    @property
    def components(self) -> int:
        return int(self.basis.shape[1])

    def check_network(self, backbone: Backbone) -> None:
        """Raise BackboneError unless the backbone is the network this was fitted on."""
        if backbone.sha256 != self.network:
            raise BackboneError(f'the model was trained with another network (sha256 '
                                f'{self.network[:12]}...) than {backbone.path} (sha256 '
                                f'{backbone.sha256[:12]}...): retrain it with `kaiyo seabed '
                                'train` or use the network it was trained with')

    @classmethod
    def fit(cls, rows: np.ndarray, k: int = DEFAULT_COMPONENTS,
            network: str = IMAGENET_TRUNK_SHA256) -> Projection:
        """The first k principal components of feature rows (N, TAP_DIM) of `network`."""
        if not 1 <= k <= 64:
            raise BackboneError(f'components k={k} must be 1..64')
        if rows.ndim != 2 or rows.shape[1] != TAP_DIM or len(rows) <= k:
            raise BackboneError(f'need more than {k} rows of {TAP_DIM} features to fit the '
                                f'projection, got {rows.shape}')
        rows = np.asarray(rows, np.float64)
        mean = rows.mean(axis=0)
        _, _, vt = np.linalg.svd(rows - mean, full_matrices=False)
        basis = vt[:k].T
        # a fixed sign per component, so retraining on the same data gives the same model
        basis *= np.where(basis[np.abs(basis).argmax(axis=0), np.arange(k)] < 0, -1.0, 1.0)
        return cls(mean, basis, network)

    def project(self, taps: list[np.ndarray], out_hw: tuple[int, int]) -> np.ndarray:
        """(h, w, K) float32 components at every pixel of a working image of size out_hw."""
        h, w = out_hw
        k = self.components
        z = np.zeros((h, w, k), np.float32)
        start = 0
        for t in taps:
            c = t.shape[0]
            small = t.reshape(c, -1).T @ self.basis[start:start + c]
            small = small.reshape(t.shape[1], t.shape[2], k)
            up = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
            z += up.reshape(h, w, k)
            start += c
        z -= self.mean @ self.basis
        return z
