"""Survey inputs for reports (pure): `kaiyo seabed analyze` results.json or a survey MCAP.

Both become a `Survey`: a list of `Frame` (one analysed camera frame each: cover fractions,
urchins, isoyake index, cover class, quality, and where known time, vehicle, pose and seabed
footprint in the `map` frame), the site datum and notes. A malformed input raises
`ReportError` naming the file and the entry; a frame the analyser could not read is kept as
a rejected frame with its reason, so nothing is silently dropped.

Camera pixels are not loaded here; `Frame.image_ref` says where they are (`load_images`),
so only the few gallery frames are ever decoded. From a recording, the analyser's own
`/<vehicle>/seabed/overlay` image (class colours and urchin boxes already drawn) is
preferred over the raw `/<vehicle>/camera/image_raw` frame with the same stamp.
"""
from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from kaiyo_common.geodesy import TOWER, Datum, GeodesyError, datum_from_spec
from kaiyo_report.bag import BagError, BagReadReport, header_stamp_ns, iter_bag
from kaiyo_seabed.classes import CLASS_IDS, COVER_CLASSES, COVER_KEYS, SEABED_KEYS


class ReportError(ValueError):
    """An input or option of `kaiyo report` is unusable (names the file and the problem)."""


@dataclass
class Frame:
    image: str                                 # file path, or 'topic@stamp' for MCAP frames
    usable: bool = True
    reason: str = ''                           # why not usable / unreadable
    unreadable: bool = False                   # the analyser could not read the image at all
    stamp: datetime | None = None              # image time, UTC
    vehicle: str = ''
    width: int = 0
    height: int = 0
    cover: dict = field(default_factory=dict)          # fractions of all pixels
    seabed_cover: dict = field(default_factory=dict)   # fractions of seabed pixels
    urchins: list = field(default_factory=list)        # [(x, y, w, h, score)] px
    isoyake_index: float = math.nan
    cover_class: str = ''
    x: float = math.nan                        # vehicle position in map (ENU), m
    y: float = math.nan
    altitude_m: float = math.nan
    footprint: list | None = None              # [(x, y)] m in map
    footprint_area_m2: float = math.nan
    urchin_density_per_m2: float = math.nan
    image_ref: tuple | None = None             # ('file', path) | ('bag', path, stamp_ns)
    mask_path: str | None = None
    overlay_drawn: bool = False                # pixels already carry classes and boxes


@dataclass
class Survey:
    sources: list[str]
    frames: list[Frame]
    datum: Datum = TOWER
    cell_size_m: float | None = None           # from a recorded SurveyMap, m
    notes: list[str] = field(default_factory=list)


def _num(value, where: str, lo: float = -math.inf, hi: float = math.inf) -> float:
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ReportError(f'{where}: {value!r} is not a number')
    v = float(value)
    if math.isfinite(v) and not lo <= v <= hi:
        raise ReportError(f'{where}: {v} is outside [{lo}, {hi}]')
    return v


def _fractions(d, keys, where: str) -> dict:
    if not isinstance(d, dict):
        raise ReportError(f'{where}: must be an object with {", ".join(keys)}')
    return {k: _num(d.get(k, 0.0), f'{where}.{k}', -1e-6, 1.0 + 1e-6) for k in keys}


def _stamp(text, where: str) -> datetime | None:
    if text in (None, ''):
        return None
    try:
        t = datetime.fromisoformat(str(text).replace('Z', '+00:00'))
    except ValueError:
        raise ReportError(f'{where}: {text!r} is not an ISO-8601 time') from None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def footprint_area(poly) -> float:
    p = np.asarray(poly, dtype=float)
    x, y = p[:, 0], p[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2.0)


def load_results(path: str | os.PathLike, masks_dir: str | None = None,
                 progress: Callable[[], None] | None = None) -> Survey:
    """A results.json from `kaiyo seabed analyze` (format in kaiyo_seabed/README.md)."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding='utf-8'))
    except OSError as err:
        raise ReportError(f'{path}: cannot read ({err.strerror})') from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ReportError(f'{path}: not valid JSON ({err})') from None
    if not isinstance(doc, dict) or not isinstance(doc.get('images'), list):
        raise ReportError(f'{path}: no "images" list; is this a `kaiyo seabed analyze` result?')
    datum = TOWER
    if doc.get('datum') is not None:
        try:
            datum = datum_from_spec(doc['datum'])
        except GeodesyError as err:
            raise ReportError(f'{path}: datum: {err}') from None
    base = path.parent
    frames = []
    for i, entry in enumerate(doc['images']):
        where = f'{path.name}: images[{i}]'
        if not isinstance(entry, dict) or not isinstance(entry.get('image'), str):
            raise ReportError(f'{where}: must be an object with an "image" path')
        img = entry['image']
        img_path = Path(img) if Path(img).is_absolute() else base / img
        f = Frame(image=img, image_ref=('file', str(img_path)))
        if masks_dir:
            mask = Path(masks_dir) / (Path(img).stem + '.png')
            f.mask_path = str(mask) if mask.is_file() else None
        if 'error' in entry:
            f.usable, f.unreadable, f.reason = False, True, str(entry['error'])
            frames.append(f)
            if progress:
                progress()
            continue
        for key in ('cover', 'seabed_cover'):
            if key not in entry:
                raise ReportError(f'{where}: "{key}" missing (and no "error" given)')
        f.cover = _fractions(entry['cover'], COVER_KEYS, f'{where}.cover')
        f.seabed_cover = _fractions(entry['seabed_cover'], SEABED_KEYS, f'{where}.seabed_cover')
        f.width = int(entry.get('width') or 0)
        f.height = int(entry.get('height') or 0)
        quality = entry.get('quality') or {}
        if not isinstance(quality, dict):
            raise ReportError(f'{where}.quality: must be an object')
        f.usable = bool(quality.get('usable', True))
        f.reason = str(quality.get('reason') or '')
        for j, u in enumerate(entry.get('urchins') or []):
            try:
                f.urchins.append(tuple(float(u[k]) for k in ('x', 'y', 'w', 'h')) +
                                 (float(u.get('score', 1.0)),))
            except (KeyError, TypeError, ValueError):
                raise ReportError(f'{where}.urchins[{j}]: needs numbers x, y, w, h') from None
        f.isoyake_index = _num(entry.get('isoyake_index'), f'{where}.isoyake_index',
                               -1e-6, 1 + 1e-6)
        f.cover_class = str(entry.get('cover_class') or '')
        if f.cover_class and f.cover_class not in COVER_CLASSES:
            raise ReportError(f'{where}.cover_class: {f.cover_class!r} is not one of '
                              f'{", ".join(COVER_CLASSES)}')
        f.stamp = _stamp(entry.get('stamp'), f'{where}.stamp')
        f.vehicle = str(entry.get('vehicle') or '')
        pose = entry.get('pose') or {}
        if not isinstance(pose, dict):
            raise ReportError(f'{where}.pose: must be an object')
        f.x = _num(pose.get('x'), f'{where}.pose.x')
        f.y = _num(pose.get('y'), f'{where}.pose.y')
        f.altitude_m = _num(pose.get('altitude'), f'{where}.pose.altitude')
        if entry.get('footprint') is not None:
            try:
                poly = [(float(p[0]), float(p[1])) for p in entry['footprint']]
            except (TypeError, ValueError, IndexError):
                raise ReportError(f'{where}.footprint: must be [[x, y], ...] in metres') from None
            if len(poly) < 3 or not all(math.isfinite(c) for p in poly for c in p):
                raise ReportError(f'{where}.footprint: needs >= 3 finite points')
            f.footprint = poly
            f.footprint_area_m2 = footprint_area(poly)
            if f.footprint_area_m2 > 0:
                f.urchin_density_per_m2 = len(f.urchins) / f.footprint_area_m2
        if 'urchin_density_per_m2' in entry:
            f.urchin_density_per_m2 = _num(entry['urchin_density_per_m2'],
                                           f'{where}.urchin_density_per_m2', 0.0)
        frames.append(f)
        if progress:
            progress()
    return Survey([str(path)], frames, datum)


# -- MCAP --------------------------------------------------------------------------------
def _decoder(cache: dict, schema):
    from mcap_ros2.decoder import DecoderFactory
    key = (schema.id, schema.name, schema.data)
    if key not in cache:
        cache[key] = DecoderFactory().decoder_for('cdr', schema)
        if cache[key] is None:
            raise ReportError(f'no CDR decoder for schema {schema.name}')
    return cache[key]


def _time_ns(t) -> int:
    return int(t.sec) * 1_000_000_000 + int(t.nanosec)


def load_bag(path: str | os.PathLike, progress: Callable[[], None] | None = None) -> Survey:
    """A survey recording: /<vehicle>/seabed/observations (+ seabed/map, camera/image_raw)."""
    report = BagReadReport()
    decoders: dict = {}
    frames: list[Frame] = []
    cell_size = None
    image_topics: set[str] = set()
    try:
        for m in iter_bag(path, report=report):
            if m.topic.endswith('/seabed/observations') and \
                    m.type == 'kaiyo_interfaces/msg/SeabedObservation':
                obs = _decoder(decoders, m.schema)(m.data)
                frames.append(_frame_from_obs(obs, m.topic, str(path)))
                if progress:
                    progress()
            elif m.topic.endswith('/seabed/map') and m.type == 'kaiyo_interfaces/msg/SurveyMap':
                cell_size = float(_decoder(decoders, m.schema)(m.data).cell_size_m) or cell_size
            elif m.type == 'sensor_msgs/msg/Image':
                image_topics.add(m.topic)
    except BagError as err:
        raise ReportError(str(err)) from None
    notes = [f'recording ends early (interrupted?): {t}' for t in report.truncated]
    if not frames:
        raise ReportError(f'{path}: no kaiyo_interfaces/msg/SeabedObservation messages on '
                          '/<vehicle>/seabed/observations; record that topic during the survey')
    for f in frames:
        if {f'/{f.vehicle}/camera/image_raw', f'/{f.vehicle}/seabed/overlay'} & image_topics:
            f.image_ref = ('bag', str(path), int(f.image.rsplit('@', 1)[1]))
    return Survey([str(path)], frames, TOWER, cell_size, notes)


def _frame_from_obs(obs, topic: str, path: str) -> Frame:
    vehicle = obs.vehicle or topic.strip('/').split('/')[0]
    stamp_ns = _time_ns(obs.image_stamp)
    seabed = {k: float(obs.seabed_cover[CLASS_IDS[k]]) for k in SEABED_KEYS}
    cover = {k: float(obs.cover[CLASS_IDS[k]]) for k in COVER_KEYS}
    poly = [(float(p.x), float(p.y)) for p in obs.footprint]
    f = Frame(
        image=f'{topic}@{stamp_ns}', usable=bool(obs.quality.usable),
        reason=str(obs.quality.reason),
        stamp=datetime.fromtimestamp(stamp_ns / 1e9, UTC) if stamp_ns else None,
        vehicle=vehicle, cover=cover, seabed_cover=seabed,
        urchins=[(b.x, b.y, b.width, b.height, b.score) for b in obs.urchins],
        isoyake_index=float(obs.isoyake_index), cover_class=str(obs.cover_class),
        x=float(obs.vehicle_pose.position.x), y=float(obs.vehicle_pose.position.y),
        altitude_m=float(obs.altitude_m),
        footprint=poly if len(poly) >= 3 else None,
        footprint_area_m2=float(obs.footprint_area_m2),
        urchin_density_per_m2=float(obs.urchin_density_per_m2))
    return f


def load_inputs(paths, masks_dir: str | None = None,
                progress: Callable[[], None] | None = None) -> Survey:
    """One Survey from several inputs (results.json files and/or bags), frames in time order."""
    if not paths:
        raise ReportError('no input given')
    merged: Survey | None = None
    for p in paths:
        p = Path(p)
        if not p.exists():
            raise ReportError(f'{p}: no such file or folder')
        if p.suffix == '.json':
            s = load_results(p, masks_dir, progress)
        elif p.is_dir() or p.suffix == '.mcap':
            s = load_bag(p, progress)
        else:
            raise ReportError(f'{p}: not a results.json, .mcap file or bag folder')
        if merged is None:
            merged = s
        else:
            if (s.datum.lat_deg, s.datum.lon_deg) != (merged.datum.lat_deg, merged.datum.lon_deg):
                raise ReportError(f'{p}: its datum differs from {merged.sources[0]}; '
                                  'report one site at a time')
            merged.sources += s.sources
            merged.frames += s.frames
            merged.notes += s.notes
            merged.cell_size_m = merged.cell_size_m or s.cell_size_m
    far = datetime.max.replace(tzinfo=UTC)
    merged.frames.sort(key=lambda f: f.stamp or far)
    return merged


# -- pixels for the gallery ----------------------------------------------------------------
def image_msg_to_bgr(msg) -> np.ndarray:
    """A decoded sensor_msgs/Image (any object with its fields) -> BGR uint8 array."""
    enc = str(msg.encoding).lower()
    h, w, step = int(msg.height), int(msg.width), int(msg.step)
    buf = np.frombuffer(bytes(msg.data), dtype=np.uint8)
    channels = {'rgb8': 3, 'bgr8': 3, 'rgba8': 4, 'bgra8': 4, 'mono8': 1, '8uc1': 1,
                '8uc3': 3}.get(enc)
    if channels is None:
        raise ReportError(f'image encoding {msg.encoding!r} not supported for the gallery')
    if buf.size < h * step:
        raise ReportError(f'image data {buf.size} bytes < height {h} x step {step}')
    img = buf[:h * step].reshape(h, step)[:, :w * channels].reshape(h, w, channels)
    if channels == 1:
        return np.repeat(img, 3, axis=2)
    if enc in ('rgb8', 'rgba8'):
        img = img[:, :, [2, 1, 0]]
    return np.ascontiguousarray(img[:, :, :3])


def load_images(frames: list[Frame]) -> dict[int, np.ndarray]:
    """BGR pixels of the given frames (index in `frames` -> image); missing ones are absent.

    For recorded frames the analyser overlay wins over the raw camera image (and the frame
    is marked `overlay_drawn`); both are matched by header stamp = the frame's image stamp.
    """
    import cv2
    out: dict[int, np.ndarray] = {}
    by_bag: dict[str, dict[tuple[str, int], int]] = {}
    for i, f in enumerate(frames):
        if f.image_ref is None:
            continue
        if f.image_ref[0] == 'file':
            img = cv2.imread(f.image_ref[1], cv2.IMREAD_COLOR)
            if img is not None:
                out[i] = img
        else:
            by_bag.setdefault(f.image_ref[1], {})[(f.vehicle, f.image_ref[2])] = i
    decoders: dict = {}
    for bag, wanted in by_bag.items():
        vehicles = {v for v, _ in wanted}
        topics = {f'/{v}/{t}' for v in vehicles for t in ('camera/image_raw', 'seabed/overlay')}
        for m in iter_bag(bag, topics):
            i = wanted.get((m.topic.split('/')[1], header_stamp_ns(m.data)))
            if i is None:
                continue
            is_overlay = m.topic.endswith('/seabed/overlay')
            if i in out and (frames[i].overlay_drawn or not is_overlay):
                continue
            out[i] = image_msg_to_bgr(_decoder(decoders, m.schema)(m.data))
            frames[i].overlay_drawn = is_overlay
    return out
