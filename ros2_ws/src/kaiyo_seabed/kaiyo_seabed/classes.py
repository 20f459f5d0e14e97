"""Seabed classes, cover fractions, the isoyake index and the 7-level seaweed cover class (pure).

Class ids are the pixel values of class masks and the indices of
`SeabedObservation.cover` (kaiyo_interfaces):

    0 unknown, 1 water, 2 seaweed, 3 coralline, 4 bare, 5 urchin, 6 other

Isoyake index (0 = healthy seaweed bed .. 1 = complete barren)
---------------------------------------------------------------
Isoyake (磯焼け) is the loss of seaweed beds on rocky reef to grazing, leaving rock crusted
by coralline algae. On the seabed part of an image (not water, not unknown) let s, c, b be
the seaweed, coralline and bare cover and d the urchin density (1/m^2):

    barren share   B = (c + b) / (s + c + b)            (share of substrate not vegetated)
    grazing term   G = d / (d + D_HALF)                  (0 no urchins .. -> 1 many)
    index          I = B + (1 - B) * W_URCHIN * G

So a closed bed without urchins scores 0, a bed with no seaweed scores 1 whatever the
urchins, and urchins raise the index of a still-vegetated bed by up to W_URCHIN (0.5): a
dense urchin front in a kelp bed is the start of a barren. D_HALF = 2 urchins/m^2 is the
density at which the grazing term is one half; reported thresholds for barren formation by
Strongylocentrotus / Heliocidaris / Diadema lie around a few per m^2 (site-dependent). When
the density is unknown (frame not georeferenced) G = 0. Urchin pixels themselves count as
neither seaweed nor barren. Sand flats are naturally bare: the index is meaningful on
rocky reef, which is where the cooperative surveys.

Cover class: the 7 levels "0", "<5", "5-25", "25-50", "50-75", "75-100", "100" (percent of
seabed covered by seaweed). "0" and "100" are exact (no seaweed pixel / only seaweed);
interval levels include their lower bound: 5 % is "5-25", 25 % is "25-50".
"""
from __future__ import annotations

import math
from enum import IntEnum

import numpy as np


class SeabedClass(IntEnum):
    UNKNOWN = 0
    WATER = 1
    SEAWEED = 2
    CORALLINE = 3
    BARE = 4
    URCHIN = 5
    OTHER = 6


CLASS_COUNT = 7
#: id -> name, as in the issue and results.json "classes".
CLASS_NAMES = {0: 'unknown', 1: 'water', 2: 'seaweed', 3: 'coralline', 4: 'bare',
               5: 'urchin', 6: 'other'}
CLASS_IDS = {name: cid for cid, name in CLASS_NAMES.items()}
#: Keys of results.json "cover" (fractions of all pixels) and "seabed_cover" (of seabed pixels).
COVER_KEYS = ('water', 'seaweed', 'coralline', 'bare', 'urchin', 'other')
SEABED_KEYS = ('seaweed', 'coralline', 'bare', 'urchin', 'other')
#: Classes that are seabed (everything but unknown and water).
SEABED_CLASSES = (2, 3, 4, 5, 6)
#: BGR display colours for overlays and mask previews.
CLASS_COLORS_BGR = {0: (0, 0, 0), 1: (160, 90, 20), 2: (40, 170, 40), 3: (170, 120, 230),
                    4: (150, 190, 210), 5: (30, 30, 200), 6: (0, 200, 220)}

COVER_CLASSES = ('0', '<5', '5-25', '25-50', '50-75', '75-100', '100')

#: Urchin density at which the grazing term is one half, 1/m^2.
D_HALF_PER_M2 = 2.0
#: Largest share of the non-barren part that urchins alone can add to the index.
W_URCHIN = 0.5


class CoverError(ValueError):
    """A cover fraction or mask is malformed (wrong shape, negative, not finite)."""


def class_name(class_id: int) -> str:
    try:
        return CLASS_NAMES[int(class_id)]
    except KeyError:
        raise CoverError(f'class id {class_id!r} is not one of 0..{CLASS_COUNT - 1}') from None


def cover_counts(mask: np.ndarray) -> np.ndarray:
    """Pixel count per class id (length CLASS_COUNT) of a single-channel class mask."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise CoverError(f'class mask must be 2-D, got shape {mask.shape}')
    if mask.size and int(mask.max()) >= CLASS_COUNT:
        raise CoverError(f'class mask holds id {int(mask.max())}; ids are 0..{CLASS_COUNT - 1}')
    return np.bincount(mask.ravel().astype(np.intp), minlength=CLASS_COUNT)[:CLASS_COUNT]


def cover_fractions(counts) -> tuple[np.ndarray, np.ndarray]:
    """(cover, seabed_cover) arrays of length CLASS_COUNT from pixel counts.

    cover: fraction of all pixels per id (sums to 1). seabed_cover: fraction of seabed pixels
    (ids 2..6) per id, zero for unknown and water; all zero when no seabed is in view.
    """
    counts = np.asarray(counts, dtype=float)
    if counts.shape != (CLASS_COUNT,) or np.any(counts < 0) or not np.all(np.isfinite(counts)):
        raise CoverError(f'counts must be {CLASS_COUNT} non-negative numbers, got {counts!r}')
    total = counts.sum()
    cover = counts / total if total > 0 else np.zeros(CLASS_COUNT)
    seabed = np.zeros(CLASS_COUNT)
    n_seabed = counts[list(SEABED_CLASSES)].sum()
    if n_seabed > 0:
        seabed[list(SEABED_CLASSES)] = counts[list(SEABED_CLASSES)] / n_seabed
    return cover, seabed


def cover_dict(fractions, keys=COVER_KEYS) -> dict:
    """{name: fraction} for the given class names from an array indexed by class id."""
    return {k: float(fractions[CLASS_IDS[k]]) for k in keys}


def isoyake_index(seaweed: float, coralline: float, bare: float,
                  urchin_density_per_m2: float = float('nan')) -> float:
    """The isoyake index (see module doc) from seabed cover fractions and urchin density.

    Returns NaN when there is no seaweed/coralline/bare substrate at all (nothing to judge).
    """
    for name, v in (('seaweed', seaweed), ('coralline', coralline), ('bare', bare)):
        if not (math.isfinite(v) and 0.0 <= v <= 1.0 + 1e-9):
            raise CoverError(f'{name} cover {v!r} must be a fraction in [0, 1]')
    substrate = seaweed + coralline + bare
    if substrate <= 0.0:
        return float('nan')
    barren = (coralline + bare) / substrate
    d = urchin_density_per_m2
    if d is None or not math.isfinite(d):
        grazing = 0.0
    elif d < 0:
        raise CoverError(f'urchin density {d!r} per m^2 must be >= 0')
    else:
        grazing = d / (d + D_HALF_PER_M2)
    return float(min(1.0, barren + (1.0 - barren) * W_URCHIN * grazing))


def cover_class(seaweed_fraction: float) -> str:
    """The 7-level seaweed cover class of a seaweed fraction of the seabed (0..1)."""
    f = seaweed_fraction
    if not (math.isfinite(f) and -1e-9 <= f <= 1.0 + 1e-9):
        raise CoverError(f'seaweed fraction {f!r} must be in [0, 1]')
    if f <= 0.0:
        return '0'
    if f >= 1.0:
        return '100'
    for upper, name in ((0.05, '<5'), (0.25, '5-25'), (0.50, '25-50'), (0.75, '50-75')):
        if f < upper:
            return name
    return '75-100'
