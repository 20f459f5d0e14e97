"""Sea-urchin detection: dark, compact, spiny blobs against the seabed (pure: numpy + OpenCV).

The urchins that keep Sagami Bay's barrens grazed (Heliocidaris, Anthocidaris,
Diadema, Strongylocentrotus) are dark purple to black balls of spines, 3-12 cm across,
standing out darker than the coralline crust or rock around them. The detector works on the
grey level at `DETECT_WIDTH` px width:

1. dark contrast = local background (box mean over ~4 urchin diameters) - grey;
2. threshold at max(MIN_CONTRAST, mean + 2.5 std of the contrast) so a uniformly dark frame
   does not light up, then close the gaps between spines and open away speckle;
3. keep connected blobs whose size fits an urchin (from metres per pixel when the frame is
   georeferenced, else 3..60 px diameter at DETECT_WIDTH), that are compact
   (fill of the bounding box >= 0.35, aspect <= 2.2) and score by contrast and roundness.

No labelled urchin images were available to train or measure it (the shared sets have
none); it is a transparent, tunable baseline. Crevices and shadows can be dark blobs too:
treat counts as indicative and check the overlay.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

DETECT_WIDTH = 320
MIN_CONTRAST = 28.0          # grey levels darker than the surroundings
URCHIN_DIAMETER_M = (0.03, 0.12)


@dataclass
class Urchin:
    x: float        # box left, px (full image)
    y: float        # box top, px
    w: float        # box width, px
    h: float        # box height, px
    score: float    # 0..1

    def as_dict(self) -> dict:
        return {'x': round(self.x, 1), 'y': round(self.y, 1), 'w': round(self.w, 1),
                'h': round(self.h, 1), 'score': round(self.score, 3)}

    @property
    def centre(self) -> tuple[float, float]:
        return self.x + self.w / 2.0, self.y + self.h / 2.0


def detect_urchins(bgr: np.ndarray, metres_per_pixel: float | None = None,
                   max_count: int = 200) -> list[Urchin]:
    """Urchin boxes in full-image pixel coordinates, best score first."""
    h0, w0 = bgr.shape[:2]
    scale = DETECT_WIDTH / w0 if w0 > DETECT_WIDTH else 1.0
    small = cv2.resize(bgr, (max(1, int(round(w0 * scale))), max(1, int(round(h0 * scale)))),
                       interpolation=cv2.INTER_AREA) if scale != 1.0 else bgr
    grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY).astype(np.float32)
    if metres_per_pixel is not None and math.isfinite(metres_per_pixel) and metres_per_pixel > 0:
        mpp = metres_per_pixel / scale
        dmin = max(2.0, URCHIN_DIAMETER_M[0] / mpp)
        dmax = max(dmin + 1.0, URCHIN_DIAMETER_M[1] / mpp)
    else:
        dmin, dmax = 3.0, 60.0 * grey.shape[1] / DETECT_WIDTH
    win = int(min(max(9, 4 * dmax) // 2 * 2 + 1, (min(grey.shape) // 2) * 2 - 1))
    if win < 3:
        return []
    background = cv2.blur(grey, (win, win))
    contrast = background - grey
    thr = max(MIN_CONTRAST, float(contrast.mean() + 2.5 * contrast.std()))
    binary = (contrast > thr).astype(np.uint8)
    k = max(1, int(round(dmin / 3)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1))
    binary = cv2.morphologyEx(binary, cv2.MORPH_CLOSE, kernel)
    binary = cv2.morphologyEx(binary, cv2.MORPH_OPEN,
                              cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    found = []
    for i in range(1, n):
        x, y, w, h, area = (int(v) for v in stats[i])
        d = math.sqrt(4.0 * area / math.pi)
        if not dmin <= d <= dmax:
            continue
        aspect = max(w, h) / max(1, min(w, h))
        fill = area / float(w * h)
        if aspect > 2.2 or fill < 0.35:
            continue
        c = float(contrast[y:y + h, x:x + w][labels[y:y + h, x:x + w] == i].mean())
        roundness = min(1.0, fill / (math.pi / 4.0)) / aspect
        score = float(np.clip(c / 80.0, 0.0, 1.0) * 0.6 + 0.4 * roundness)
        found.append(Urchin(x / scale, y / scale, w / scale, h / scale, min(1.0, score)))
    found.sort(key=lambda u: -u.score)
    return found[:max_count]
