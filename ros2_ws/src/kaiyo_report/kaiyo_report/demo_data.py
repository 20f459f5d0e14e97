"""Synthetic survey data in the `kaiyo seabed analyze` results.json format (pure).

Used by the report tests and `make bench` (and handy to try `kaiyo report` without a
survey). A lawn-mower track south-east of the tower: seaweed rich in the west, a barren
with urchins in the east, so maps and trends have something to show. Each frame gets a
small image and a class mask (PNG, pixel = class id) painted to match its cover fractions,
a footprint (m, map ENU), a stamp and a pose. Clearly synthetic: never mistake it for data.
"""
from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

COLOURS_BGR = {2: (40, 120, 40), 3: (170, 140, 225), 4: (120, 150, 170), 5: (30, 20, 60)}


def _cover_at(x: float, shift: float) -> tuple[float, float, float]:
    """Seaweed, coralline, bare fractions along x (m): a bed fading into a barren eastward."""
    s = 1.0 / (1.0 + math.exp((x - 40.0 - shift) / 6.0))
    c = (1.0 - s) * 0.7
    return s, c, 1.0 - s - c


def make_results(out_dir, n_frames: int = 60, seed: int = 0, barren_shift_m: float = 0.0,
                 start: datetime | None = None, image_px: tuple[int, int] = (160, 120),
                 rejected_every: int = 17) -> Path:
    """Write images, masks and results.json into out_dir; returns the results.json path.

    barren_shift_m: move the bed/barren edge east (+) or west (-), m (for trend tests).
    rejected_every: every k-th frame is marked blurred (0: none); frame 5 is unreadable.
    """
    import cv2
    rng = np.random.default_rng(seed)
    out = Path(out_dir)
    (out / 'images').mkdir(parents=True, exist_ok=True)
    (out / 'masks').mkdir(parents=True, exist_ok=True)
    start = start or datetime(2026, 6, 1, 1, 0, tzinfo=UTC)
    w, h = image_px
    lanes = max(1, int(math.sqrt(n_frames / 4)))
    per_lane = math.ceil(n_frames / lanes)
    images = []
    for i in range(n_frames):
        lane, k = divmod(i, per_lane)
        x = 20.0 + 50.0 * (k / max(per_lane - 1, 1))
        if lane % 2:
            x = 70.0 - (x - 20.0)
        y = -60.0 + 1.5 * lane
        name = f'frame_{i:05d}.jpg'
        if i == 5:
            images.append({'image': f'images/{name}', 'error': 'truncated JPEG file'})
            continue
        s, c, b = _cover_at(x, barren_shift_m)
        jitter = rng.normal(0, 0.03, 3)
        s, c, b = (max(v, 0.0) for v in (s + jitter[0], c + jitter[1], b + jitter[2]))
        tot = s + c + b
        s, c, b = s / tot * 0.97, c / tot * 0.97, b / tot * 0.97
        urchins_n = int(rng.poisson(3.0 * (1.0 - s)))
        # paint a mask whose columns follow the fractions, then an image from it
        mask = np.full((h, w), 4, np.uint8)
        cols = np.cumsum([s, c]) * w
        mask[:, :int(cols[0])] = 2
        mask[:, int(cols[0]):int(cols[1])] = 3
        mask[:h // 10, :] = 1   # a strip of open water at the top
        urchins = []
        for _ in range(urchins_n):
            ux, uy = int(rng.integers(0, w - 12)), int(rng.integers(h // 10, h - 12))
            mask[uy:uy + 10, ux:ux + 10] = 5
            urchins.append({'x': ux, 'y': uy, 'w': 10, 'h': 10, 'score': 0.8})
        img = np.zeros((h, w, 3), np.uint8)
        img[:] = (110, 80, 20)
        for cid, bgr in COLOURS_BGR.items():
            img[mask == cid] = bgr
        noise = rng.integers(-15, 15, img.shape)
        img = np.clip(img.astype(np.int16) + noise, 0, 255).astype(np.uint8)
        cv2.imwrite(str(out / 'images' / name), img)
        cv2.imwrite(str(out / 'masks' / (Path(name).stem + '.png')), mask)
        water = float((mask == 1).mean())
        seabed = 1.0 - water
        ur = float((mask == 5).mean()) / seabed
        fp = [[x - 1.0, y - 0.75], [x + 1.0, y - 0.75], [x + 1.0, y + 0.75], [x - 1.0, y + 0.75]]
        density = urchins_n / 3.0
        barren = (c + b) / max(s + c + b, 1e-9)
        iso = barren + (1 - barren) * 0.5 * density / (density + 2.0)
        usable = not (rejected_every and i % rejected_every == rejected_every - 1)
        sw_pct = s * 100
        cls = ('0' if sw_pct == 0 else '<5' if sw_pct < 5 else '5-25' if sw_pct < 25 else
               '25-50' if sw_pct < 50 else '50-75' if sw_pct < 75 else '75-100')
        images.append({
            'image': f'images/{name}', 'width': w, 'height': h,
            'cover': {'water': water, 'seaweed': s * seabed, 'coralline': c * seabed,
                      'bare': b * seabed, 'urchin': ur * seabed, 'other': 0.0},
            'seabed_cover': {'seaweed': s, 'coralline': c, 'bare': b, 'urchin': ur,
                             'other': max(0.0, 1.0 - s - c - b - ur)},
            'urchins': urchins, 'isoyake_index': round(iso, 4), 'cover_class': cls,
            'quality': {'usable': usable, 'reason': '' if usable else 'blur',
                        'sharpness': 120.0 if usable else 8.0, 'brightness': 90.0},
            'stamp': (start + timedelta(seconds=2 * i)).isoformat().replace('+00:00', 'Z'),
            'vehicle': 'hover_auv',
            'pose': {'x': x, 'y': y, 'z': -18.0, 'yaw': 0.0, 'altitude': 2.0},
            'footprint': fp,
        })
    path = out / 'results.json'
    path.write_text(json.dumps({'classes': {'0': 'unknown', '1': 'water', '2': 'seaweed',
                                            '3': 'coralline', '4': 'bare', '5': 'urchin',
                                            '6': 'other'},
                                'datum': {'lat': 35.3050, 'lon': 139.3450},
                                'synthetic': 'kaiyo_report.demo_data (not real data)',
                                'images': images}, indent=1))
    return path
