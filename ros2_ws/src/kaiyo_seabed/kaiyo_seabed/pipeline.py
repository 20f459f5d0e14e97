"""The per-frame seabed pipeline: quality -> colour correction -> classes -> urchins -> cover ->
isoyake index (pure: numpy + OpenCV, no rclpy).

Cost control: features are computed on a working image `model.work_width` px wide (160 by
default) and the forest classifies every `model.stride`-th working pixel; the class map is
upsampled to full resolution only when a full mask is asked for. A model trained with
pretrained features (the shipped real-photo model) also runs the pretrained network on a
224 px wide copy of the frame and appends its projected components to every grid cell
(`kaiyo_seabed.backbone`); colour/texture-only models (the simulator model) skip it.
Cover fractions are counted on the class map (each cell stands for the same image area, so
the fractions are those of the full-resolution mask up to border rounding). Urchins are
detected on a 320 px wide grey image and painted into the class map as filled ellipses.
When the model has an urchin class (trained on labelled urchins, e.g. the simulator-domain
model), the detector runs with a lower darkness threshold and its candidates are kept only
where the classifier also sees urchin (`kaiyo_seabed.urchins.confirm_by_class`); otherwise
the detector alone counts.

Image decoding (`read_image`) is separate and reports unreadable, empty, truncated or
unsupported files as `ImageReadError` with the reason.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from kaiyo_seabed.backbone import Backbone
from kaiyo_seabed.classes import (
    CLASS_COLORS_BGR,
    CLASS_NAMES,
    COVER_KEYS,
    SEABED_KEYS,
    SeabedClass,
    cover_class,
    cover_counts,
    cover_dict,
    cover_fractions,
    isoyake_index,
)
from kaiyo_seabed.features import (
    N_FEATURES,
    Quality,
    assess_quality,
    pixel_features,
    resize_to_width,
    to_bgr8,
)
from kaiyo_seabed.model import SeabedModel
from kaiyo_seabed.urchins import (
    CONFIRMED_MIN_CONTRAST,
    CONFIRMED_OUTLIER_STD,
    Urchin,
    confirm_by_class,
    detect_urchins,
)

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp', '.pgm', '.ppm')
#: Largest image accepted, pixels (a 100 Mpx frame would take GBs once converted to float).
MAX_PIXELS = 60_000_000


class ImageReadError(ValueError):
    """An image file cannot be used: missing, empty, truncated, not an image, too large."""


def read_image(path) -> np.ndarray:
    """Decode an image file to an array (uint8/uint16, grey or colour) or raise ImageReadError."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as err:
        raise ImageReadError(f'cannot open: {err.strerror or err}') from None
    if size == 0:
        raise ImageReadError('empty file (0 bytes)')
    data = np.fromfile(str(path), dtype=np.uint8)
    head = bytes(data[:16])
    if head[:3] == b'\xff\xd8\xff' and b'\xff\xd9' not in bytes(data[-4096:]):
        # libjpeg decodes a cut-off JPEG with a grey bottom and only a warning. The marker
        # cannot occur inside entropy-coded data (0xFF is stuffed), so a tail without it is
        # a cut file; some cameras pad after the marker, hence the tail search.
        raise ImageReadError('truncated JPEG (no end-of-image marker)')
    if head[:8] == b'\x89PNG\r\n\x1a\n' and b'IEND' not in bytes(data[-16:]):
        raise ImageReadError('truncated PNG (no IEND chunk)')
    if head[:8] == b'\x89PNG\r\n\x1a\n' and len(data) >= 24:
        w = int.from_bytes(bytes(data[16:20]), 'big')
        h = int.from_bytes(bytes(data[20:24]), 'big')
        if w * h > MAX_PIXELS:
            raise ImageReadError(f'image {w}x{h} px is larger than {MAX_PIXELS} px')
    try:
        img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    except cv2.error as err:
        raise ImageReadError(f'decoder error: {err.msg if hasattr(err, "msg") else err}') from None
    if img is None:
        raise ImageReadError('not a readable image (unknown format or corrupt data)')
    if img.size == 0:
        raise ImageReadError('image has no pixels')
    if img.shape[0] * img.shape[1] > MAX_PIXELS:
        raise ImageReadError(f'image {img.shape[1]}x{img.shape[0]} px is larger than '
                             f'{MAX_PIXELS} px')
    return img


@dataclass
class FrameResult:
    """Analysis of one frame. Arrays are indexed by class id."""

    width: int
    height: int
    class_map: np.ndarray           # class ids at classification resolution (uint8)
    counts: np.ndarray              # pixels (cells) per class
    cover: np.ndarray               # fraction of all pixels per class
    seabed_cover: np.ndarray        # fraction of seabed pixels per class
    urchins: list
    urchin_density_per_m2: float    # NaN unless the footprint area was given
    isoyake_index: float            # NaN when no substrate is in view
    cover_class: str                # '' when no seabed is in view
    quality: Quality
    corrected: np.ndarray | None = None     # colour-corrected working image (BGR)
    extra: dict = field(default_factory=dict)

    def full_mask(self) -> np.ndarray:
        """Class mask at the frame's full resolution (nearest upsampling)."""
        return cv2.resize(self.class_map, (self.width, self.height),
                          interpolation=cv2.INTER_NEAREST)

    def to_dict(self, image: str) -> dict:
        """The results.json entry (issue 4 keys)."""
        return {
            'image': image, 'width': self.width, 'height': self.height,
            'cover': {k: round(v, 5) for k, v in cover_dict(self.cover, COVER_KEYS).items()},
            'seabed_cover': {k: round(v, 5) for k, v in
                             cover_dict(self.seabed_cover, SEABED_KEYS).items()},
            'urchins': [u.as_dict() for u in self.urchins],
            'isoyake_index': (None if math.isnan(self.isoyake_index)
                              else round(self.isoyake_index, 4)),
            'cover_class': self.cover_class,
            'quality': self.quality.as_dict(),
        }


class SeabedAnalyzer:
    """Runs the pipeline with one model. Not thread-safe (OpenCV ml models are not)."""

    def __init__(self, model: SeabedModel, detect_urchins_enabled: bool = True,
                 backbone: Backbone | None = None):
        """backbone: the network for a model with pretrained features (default: the shipped
        one, loaded only for such a model); it must be the one the model was trained with."""
        self.model = model
        self.detect_urchins_enabled = detect_urchins_enabled
        # a classifier trained with urchin labels confirms and completes the detector
        self.model_knows_urchins = int(SeabedClass.URCHIN) in model.stage1_classes
        # the pretrained network runs only for models trained with its features
        self.backbone = None
        if model.projection is not None:
            self.backbone = backbone or Backbone()
            model.projection.check_network(self.backbone)

    def classify(self, bgr: np.ndarray,
                 range_m: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(class map at working/stride resolution, corrected working image)."""
        work = resize_to_width(bgr, self.model.work_width)
        feats, corrected = pixel_features(work, range_m)
        h, w = work.shape[:2]
        s = self.model.stride
        grid = feats.reshape(h, w, N_FEATURES)[::s, ::s]
        if self.backbone is not None:
            deep = self.model.projection.project(self.backbone.taps(bgr), (h, w))[::s, ::s]
            grid = np.concatenate([grid, deep], axis=2)
        ids, votes = self.model.grid_votes(grid)
        sigma = self.model.smooth_cells
        if sigma > 0:
            # neighbouring cells vote too: the forest's per-cell noise averages out
            # and region borders follow the bulk of the evidence
            votes = np.dstack([cv2.GaussianBlur(votes[:, :, i], (0, 0), sigma)
                               for i in range(len(ids))])
        return ids[votes.argmax(axis=2)], corrected

    def analyze(self, image: np.ndarray, range_m: float | None = None,
                footprint_area_m2: float | None = None,
                metres_per_pixel: float | None = None) -> FrameResult:
        """Analyse one frame (grey/BGR/BGRA, uint8/uint16).

        range_m: camera-to-seabed range when known (enables attenuation-based correction).
        footprint_area_m2: seabed area in view (urchin density); metres_per_pixel: sizes
        urchins. Raises ImageFormatError for arrays that are not images.
        """
        bgr = to_bgr8(image)
        height, width = bgr.shape[:2]
        quality = assess_quality(bgr)
        class_map, corrected = self.classify(bgr, range_m)
        urchins: list[Urchin] = []
        if self.detect_urchins_enabled:
            if self.model_knows_urchins:
                # permissive candidates (faint urchins at 3 m, on dark weed), confirmed by the
                # classifier's urchin cells: dark sand ripples and rock cracks drop out
                urchins = confirm_by_class(
                    detect_urchins(bgr, metres_per_pixel, min_contrast=CONFIRMED_MIN_CONTRAST,
                                   outlier_std=CONFIRMED_OUTLIER_STD),
                    class_map == SeabedClass.URCHIN, width, height)
            else:
                urchins = detect_urchins(bgr, metres_per_pixel)
            paint_urchins(class_map, urchins, width, height)
        counts = cover_counts(class_map)
        cover, seabed = cover_fractions(counts)
        density = float('nan')
        area = footprint_area_m2
        if area is not None and math.isfinite(area) and area > 0:
            # density over the seabed part of the view
            seabed_area = area * (1.0 - cover[SeabedClass.WATER] - cover[SeabedClass.UNKNOWN])
            density = len(urchins) / seabed_area if seabed_area > 0 else float('nan')
        s, c, b = (float(seabed[SeabedClass.SEAWEED]), float(seabed[SeabedClass.CORALLINE]),
                   float(seabed[SeabedClass.BARE]))
        has_seabed = counts[list((2, 3, 4, 5, 6))].sum() > 0
        idx = isoyake_index(s, c, b, density) if has_seabed else float('nan')
        cclass = cover_class(min(1.0, max(0.0, s))) if has_seabed else ''
        return FrameResult(width, height, class_map, counts, cover, seabed, urchins, density,
                           idx, cclass, quality, corrected)


def paint_urchins(class_map: np.ndarray, urchins, width: int, height: int) -> None:
    """Mark urchin ellipses as CLASS_URCHIN in a class map of any resolution (in place)."""
    gh, gw = class_map.shape
    sx, sy = gw / width, gh / height
    for u in urchins:
        cx, cy = u.centre
        axes = (max(0, int(round(u.w * sx / 2))), max(0, int(round(u.h * sy / 2))))
        cv2.ellipse(class_map, (int(cx * sx), int(cy * sy)), axes, 0, 0, 360,
                    int(SeabedClass.URCHIN), -1)


def overlay_image(bgr: np.ndarray, result: FrameResult, alpha: float = 0.45) -> np.ndarray:
    """The frame with class colours blended in, urchin boxes and a one-line summary."""
    bgr = to_bgr8(bgr)
    lut = np.zeros((256, 1, 3), np.uint8)
    for cid, col in CLASS_COLORS_BGR.items():
        lut[cid, 0] = col
    colours = cv2.LUT(cv2.cvtColor(result.full_mask(), cv2.COLOR_GRAY2BGR), lut)
    out = cv2.addWeighted(bgr, 1.0 - alpha, colours, alpha, 0.0)
    for u in result.urchins:
        cv2.rectangle(out, (int(u.x), int(u.y)), (int(u.x + u.w), int(u.y + u.h)), (0, 0, 255), 2)
    sw = result.seabed_cover[SeabedClass.SEAWEED] * 100
    idx = result.isoyake_index
    text = (f'seaweed {sw:.0f}%  isoyake {idx:.2f}  urchins {len(result.urchins)}'
            if not math.isnan(idx) else 'no seabed in view')
    if not result.quality.usable:
        text += f'  [{result.quality.reason}]'
    cv2.putText(out, text, (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 2, cv2.LINE_AA)
    return out


def iter_image_files(path) -> list[Path]:
    """Files under a folder (recursive, sorted) or the file itself; non-images included so the
    batch can report them."""
    path = Path(path)
    if path.is_dir():
        return sorted(p for p in path.rglob('*') if p.is_file() and not p.name.startswith('.'))
    return [path]


def is_image_name(path) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


__all__ = ['SeabedAnalyzer', 'FrameResult', 'ImageReadError', 'read_image', 'overlay_image',
           'iter_image_files', 'is_image_name', 'CLASS_NAMES']
