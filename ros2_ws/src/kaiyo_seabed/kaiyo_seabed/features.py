"""Frame quality, water colour correction and per-pixel features (pure: numpy + OpenCV).

Colour correction
-----------------
Water absorbs red first, then green (blue-green casts that deepen with range), and
suspended particles add a veiling haze. The frame is corrected in two steps:

1. per-channel gains that bring the image's robust channel means to a common grey
   (gray-world; gains limited to GAIN_MAX so a scene that is truly green, such as a
   closed seaweed bed, is not bleached), or, when the camera's range to the seabed is known,
   gains from Beer-Lambert attenuation over the two-way path, exp(2 * beta_c * range)
   (`attenuation_gains`, coefficients for coastal water, 1/m), normalised to green;
2. CLAHE on the Lab lightness to restore local contrast lost to haze.

Features
--------
The classifier sees, per pixel of a reduced working image: corrected Lab colour smoothed at
three scales (3, 9, 31 px), saturation and hue (as saturation-weighted cos/sin), chroma, the
raw (uncorrected) a/b chroma, colour relative to the frame mean and lightness relative to the
neighbourhood (context), lightness deviation at three scales, gradient and Laplacian energy,
local spread of a/b (colour texture), structure-tensor coherence at two scales (oriented
blades and fronds vs isotropic crust) and the row position. Per-frame constants (e.g. the
correction gains) are deliberately not features: with few training images they let the
forest recognise an image instead of its pixels (cross-validation confirmed the loss).
Everything is computed with box filters, so the cost is proportional to pixels and
independent of window size.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

#: Largest per-channel gray-world gain (a stronger cast is left partly uncorrected).
GAIN_MAX = 3.0
#: Diffuse attenuation coefficients of coastal water (Jerlov type 1-3 range), 1/m, for B, G, R.
BETA_COASTAL_BGR = (0.12, 0.08, 0.45)
#: Quality thresholds (documented in README): Laplacian variance at 320 px width, grey level.
MIN_SHARPNESS = 20.0
DARK_LEVEL = 20
SATURATED_LEVEL = 250
MAX_DARK_FRACTION = 0.7
MAX_SATURATED_FRACTION = 0.3
MIN_BRIGHTNESS = 25.0

FEATURE_NAMES = (
    'L3', 'a3', 'b3', 'L9', 'a9', 'b9', 'sat', 'hue_cos', 'hue_sin', 'raw_a', 'raw_b',
    'dL', 'da', 'db', 'Ldev5', 'Ldev13', 'grad', 'lap',
    'L31', 'a31', 'b31', 'Ldev31', 'grad31', 'row',
    'Lloc', 'a_dev9', 'b_dev9', 'coh7', 'coh21', 'chroma')
N_FEATURES = len(FEATURE_NAMES)


class ImageFormatError(ValueError):
    """An image array has a shape or dtype the pipeline cannot use."""


@dataclass
class Quality:
    usable: bool
    reason: str
    sharpness: float            # variance of the Laplacian at 320 px width, grey-level^2
    brightness: float           # mean grey level, 0..255
    dark_fraction: float        # fraction below DARK_LEVEL
    saturated_fraction: float   # fraction at or above SATURATED_LEVEL

    def as_dict(self) -> dict:
        return {'usable': self.usable, 'reason': self.reason,
                'sharpness': round(self.sharpness, 2), 'brightness': round(self.brightness, 2),
                'dark_fraction': round(self.dark_fraction, 4),
                'saturated_fraction': round(self.saturated_fraction, 4)}


def to_bgr8(img: np.ndarray) -> np.ndarray:
    """Any supported image array -> 3-channel uint8 BGR.

    Accepts grey (H, W) or (H, W, 1), BGR (H, W, 3), BGRA (H, W, 4), uint8 or uint16. 16-bit
    data is scaled by its bit depth, taken as the smallest of 10, 12, 14 or 16 bits that holds
    the largest value (so a 12-bit sensor in a 16-bit container is not crushed to black, and
    the exposure is kept: no per-frame stretch).
    """
    if not isinstance(img, np.ndarray):
        raise ImageFormatError(f'image must be a numpy array, got {type(img).__name__}')
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] not in (3, 4)):
        raise ImageFormatError(f'image shape {img.shape} is not grey, BGR or BGRA')
    if img.shape[0] < 8 or img.shape[1] < 8:
        raise ImageFormatError(f'image {img.shape[1]}x{img.shape[0]} px is smaller than 8x8')
    if img.dtype == np.uint16:
        peak = int(img.max())
        bits = next(b for b in (10, 12, 14, 16) if peak < (1 << b))
        img = (img.astype(np.float32) * (255.0 / ((1 << bits) - 1)) + 0.5).astype(np.uint8)
    elif img.dtype in (np.float32, np.float64):
        img = np.clip(np.nan_to_num(img) * 255.0, 0, 255).astype(np.uint8)
    elif img.dtype != np.uint8:
        raise ImageFormatError(f'image dtype {img.dtype} is not uint8, uint16 or float')
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    if img.shape[2] == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
    return img


def resize_to_width(img: np.ndarray, width: int) -> np.ndarray:
    h, w = img.shape[:2]
    if w == width:
        return img
    height = max(1, int(round(h * width / w)))
    return cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA)


def assess_quality(bgr: np.ndarray) -> Quality:
    """Blur and exposure check on a BGR uint8 frame (any size; measured at 320 px width)."""
    grey = cv2.cvtColor(resize_to_width(bgr, 320), cv2.COLOR_BGR2GRAY)
    sharp = float(cv2.Laplacian(grey, cv2.CV_32F).var())
    bright = float(grey.mean())
    dark = float(np.count_nonzero(grey < DARK_LEVEL)) / grey.size
    sat = float(np.count_nonzero(grey >= SATURATED_LEVEL)) / grey.size
    reasons = []
    if bright < MIN_BRIGHTNESS or dark > MAX_DARK_FRACTION:
        reasons.append('dark')
    if sat > MAX_SATURATED_FRACTION:
        reasons.append('overexposed')
    if sharp < MIN_SHARPNESS:
        reasons.append('blur')
    return Quality(not reasons, ','.join(reasons), sharp, bright, dark, sat)


def attenuation_gains(range_m: float, beta_bgr=BETA_COASTAL_BGR) -> np.ndarray:
    """Per-channel gains (B, G, R) undoing two-way Beer-Lambert attenuation over range_m,
    normalised so green is 1."""
    if not (math.isfinite(range_m) and range_m >= 0):
        raise ValueError(f'range {range_m!r} m must be a non-negative number')
    g = np.exp(2.0 * np.asarray(beta_bgr, float) * range_m)
    return np.clip(g / g[1], 1.0 / GAIN_MAX, GAIN_MAX * 2)


def grayworld_gains(bgr: np.ndarray) -> np.ndarray:
    """Gray-world gains (B, G, R) from robust channel means (5..95th percentile band)."""
    small = bgr[::4, ::4].reshape(-1, 3).astype(np.float32)
    lo, hi = np.percentile(small, [5, 95], axis=0)
    means = np.array([small[(small[:, c] >= lo[c]) & (small[:, c] <= hi[c]), c].mean()
                      if np.any((small[:, c] >= lo[c]) & (small[:, c] <= hi[c])) else 1.0
                      for c in range(3)])
    means = np.maximum(means, 1.0)
    return np.clip(means.mean() / means, 1.0 / GAIN_MAX, GAIN_MAX)


_CLAHE = None


def colour_correct(bgr: np.ndarray, range_m: float | None = None,
                   gains: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Corrected BGR uint8 frame and the gains used (module doc)."""
    global _CLAHE
    if gains is None:
        if range_m is not None and math.isfinite(range_m) and range_m > 0:
            gains = attenuation_gains(range_m)
        else:
            gains = grayworld_gains(bgr)
    # one 3-channel lookup table applies the gains (cheaper than float arithmetic per pixel)
    lut = np.clip(np.arange(256, dtype=np.float32)[:, None] * np.asarray(gains, np.float32),
                  0, 255).astype(np.uint8).reshape(256, 1, 3)
    out = cv2.LUT(bgr, lut)
    lab = cv2.cvtColor(out, cv2.COLOR_BGR2LAB)
    if _CLAHE is None:
        _CLAHE = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(4, 4))
    lab[:, :, 0] = _CLAHE.apply(np.ascontiguousarray(lab[:, :, 0]))
    return cv2.cvtColor(lab, cv2.COLOR_LAB2BGR), np.asarray(gains, np.float32)


def pixel_features(work_bgr: np.ndarray,
                   range_m: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel features (H*W, N_FEATURES) float32 of a working-size BGR frame, and the
    corrected frame. Scales (3, 9, 5, 13 px) are in working-image pixels."""
    corrected, gains = colour_correct(work_bgr, range_m)
    h, w = work_bgr.shape[:2]
    lab = cv2.cvtColor(corrected, cv2.COLOR_BGR2LAB).astype(np.float32)
    raw_lab = cv2.cvtColor(work_bgr, cv2.COLOR_BGR2LAB).astype(np.float32)
    hsv = cv2.cvtColor(corrected, cv2.COLOR_BGR2HSV_FULL).astype(np.float32)
    lab3 = cv2.blur(lab, (3, 3))
    lab9 = cv2.blur(lab, (9, 9))
    sat = cv2.blur(hsv[:, :, 1], (3, 3)) / 255.0
    ang = hsv[:, :, 0] * (2.0 * np.pi / 256.0)
    wsat = hsv[:, :, 1] / 255.0
    hue_c = cv2.blur(np.cos(ang) * wsat, (5, 5))
    hue_s = cv2.blur(np.sin(ang) * wsat, (5, 5))
    raw_ab = cv2.blur(raw_lab[:, :, 1:], (5, 5))
    mean_lab = lab.reshape(-1, 3).mean(axis=0)
    light = lab[:, :, 0]
    light2 = light * light
    dev = []
    for k in (5, 13, 31):
        m = cv2.blur(light, (k, k))
        v = cv2.blur(light2, (k, k)) - m * m
        dev.append(np.sqrt(np.maximum(v, 0.0)))
    gx = cv2.Sobel(light, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(light, cv2.CV_32F, 0, 1, ksize=3)
    grad = cv2.blur(np.sqrt(gx * gx + gy * gy), (7, 7))
    lap = cv2.blur(np.abs(cv2.Laplacian(light, cv2.CV_32F)), (7, 7))
    big = (31, 31)
    lab31 = cv2.blur(lab, big)
    grad31 = cv2.blur(grad, big)
    # colour texture: local spread of a and b
    ab = lab[:, :, 1:]
    m_ab = cv2.blur(ab, (9, 9))
    v_ab = cv2.blur(ab * ab, (9, 9)) - m_ab * m_ab
    ab_dev = [np.sqrt(np.maximum(v_ab[:, :, 0], 0.0)), np.sqrt(np.maximum(v_ab[:, :, 1], 0.0))]
    # structure-tensor coherence: 1 for one dominant orientation (blades, fronds), 0 isotropic
    coh = []
    for k in (7, 21):
        jxx = cv2.blur(gx * gx, (k, k))
        jyy = cv2.blur(gy * gy, (k, k))
        jxy = cv2.blur(gx * gy, (k, k))
        coh.append(np.sqrt((jxx - jyy) ** 2 + 4.0 * jxy * jxy) / (jxx + jyy + 1e-3))
    row = np.repeat(np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None], w, axis=1)
    chans = [lab3[:, :, 0], lab3[:, :, 1], lab3[:, :, 2], lab9[:, :, 0], lab9[:, :, 1],
             lab9[:, :, 2], sat, hue_c, hue_s, raw_ab[:, :, 0], raw_ab[:, :, 1],
             lab9[:, :, 0] - mean_lab[0], lab9[:, :, 1] - mean_lab[1], lab9[:, :, 2] - mean_lab[2],
             dev[0], dev[1], grad, lap,
             lab31[:, :, 0], lab31[:, :, 1], lab31[:, :, 2], dev[2], grad31, row,
             lab3[:, :, 0] - lab31[:, :, 0], ab_dev[0], ab_dev[1], coh[0], coh[1],
             np.sqrt((lab3[:, :, 1] - 128.0) ** 2 + (lab3[:, :, 2] - 128.0) ** 2)]
    feats = np.stack(chans, axis=-1).reshape(-1, N_FEATURES)
    return np.ascontiguousarray(feats, dtype=np.float32), corrected
