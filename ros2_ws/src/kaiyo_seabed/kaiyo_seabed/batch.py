"""Batch analysis of image files, folders and MCAP recordings -> results.json (+ class masks).

Each input is reported on its own: an unreadable, empty, truncated or unsupported file gets
an entry {"image": path, "error": reason} and the batch goes on. MCAP recordings are read
with the mcap ROS 2 decoder (no ROS installation needed): every sensor_msgs/Image and
CompressedImage topic is analysed; the vehicle is the topic's first namespace
(`/hover_auv/camera/image_raw` -> hover_auv); the latest nav_msgs/Odometry, altitude
(sensor_msgs/Range or kaiyo DvlVelocity) and CameraInfo of that vehicle at the image's stamp
georeference the frame (flat seabed,
`kaiyo_seabed.mapping`), adding "stamp", "vehicle", "pose" and "footprint" to its entry.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from kaiyo_seabed.classes import CLASS_NAMES
from kaiyo_seabed.features import ImageFormatError
from kaiyo_seabed.image_codec import ImageEncodingError, image_to_array
from kaiyo_seabed.mapping import (
    CameraIntrinsics,
    CameraMount,
    GeoreferenceError,
    VehiclePose,
    georeference_frame,
)
from kaiyo_seabed.pipeline import ImageReadError, SeabedAnalyzer, iter_image_files, read_image

#: Newest pose / altitude accepted for an image, s (older: frame not georeferenced).
MAX_POSE_AGE_S = 1.0


class Progress:
    """A one-line progress bar on stderr, drawn only when stderr is a terminal."""

    def __init__(self, stream=None, width: int = 30):
        self.stream = stream or sys.stderr
        self.enabled = hasattr(self.stream, 'isatty') and self.stream.isatty()
        self.width = width

    def __call__(self, done: int, total: int, label: str = '') -> None:
        if not self.enabled:
            return
        frac = done / total if total else 1.0
        bar = '#' * int(frac * self.width)
        self.stream.write(f'\r[{bar:<{self.width}}] {done}/{total} {label[-40:]:<40}')
        if done >= total:
            self.stream.write('\n')
        self.stream.flush()


@dataclass
class Frame:
    """One image to analyse, with optional georeferencing context."""

    name: str
    load: Callable[[], np.ndarray]
    extra: dict | None = None            # stamp/vehicle/pose/footprint for results.json
    georef: object | None = None         # FrameGeoref


def _vehicle_of(topic: str) -> str:
    parts = [p for p in topic.split('/') if p]
    return parts[0] if len(parts) > 1 else ''


def _stamp_ns(header) -> int:
    return int(header.stamp.sec) * 1_000_000_000 + int(header.stamp.nanosec)


def _iso(ns: int) -> str:
    t = dt.datetime.fromtimestamp(ns / 1e9, tz=dt.UTC)
    return t.isoformat(timespec='milliseconds').replace('+00:00', 'Z')


def _yaw_of(q) -> float:
    w, x, y, z = q
    return math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))


def mcap_frames(path: Path, datum, mount: CameraMount | None = None,
                every: int = 1, altitude_sensor_z_m: float = 0.0) -> Iterator[Frame]:
    """Frames of every Image topic in an MCAP file (module doc). `altitude_sensor_z_m`:
    height of the altimeter / DVL in base_link (m, z up; negative = below), whose readings
    are ranges from that mount. Raises ValueError for a file that is not a readable MCAP."""
    from mcap.exceptions import McapError
    from mcap.reader import make_reader
    from mcap_ros2.decoder import DecoderFactory
    pose: dict = {}       # vehicle -> (stamp_ns, VehiclePose)
    alt: dict = {}        # vehicle -> (stamp_ns, altitude m)
    info: dict = {}       # vehicle -> CameraInfo-like (k, width, height)
    counts: dict = {}
    try:
        with open(path, 'rb') as f:
            reader = make_reader(f, decoder_factories=[DecoderFactory()])
            for schema, channel, _message, msg in reader.iter_decoded_messages(log_time_order=True):
                kind = schema.name if schema else ''
                veh = _vehicle_of(channel.topic)
                if kind == 'nav_msgs/msg/Odometry':
                    p, q = msg.pose.pose.position, msg.pose.pose.orientation
                    pose[veh] = (_stamp_ns(msg.header),
                                 VehiclePose(p.x, p.y, p.z, (q.w, q.x, q.y, q.z)))
                elif kind == 'sensor_msgs/msg/Range':
                    if math.isfinite(msg.range) and msg.min_range <= msg.range <= msg.max_range:
                        alt[veh] = (_stamp_ns(msg.header), float(msg.range))
                elif kind == 'kaiyo_interfaces/msg/DvlVelocity':
                    if math.isfinite(msg.altitude_m) and msg.altitude_m > 0:
                        alt[veh] = (_stamp_ns(msg.header), float(msg.altitude_m))
                elif kind == 'sensor_msgs/msg/CameraInfo':
                    info[veh] = (list(msg.k), int(msg.width), int(msg.height))
                elif kind in ('sensor_msgs/msg/Image', 'sensor_msgs/msg/CompressedImage'):
                    n = counts.get(channel.topic, 0)
                    counts[channel.topic] = n + 1
                    if n % every:
                        continue
                    stamp = _stamp_ns(msg.header)
                    name = f'{path}#{channel.topic}@{stamp}'
                    if kind.endswith('CompressedImage'):
                        fields = ('compressed', 0, 0, 0, bytes(msg.data), False)
                    else:
                        fields = (msg.encoding, msg.height, msg.width, msg.step,
                                  bytes(msg.data), bool(msg.is_bigendian))
                    a = alt.get(veh)
                    if a is not None:     # the sensor's range -> base_link's altitude
                        a = (a[0], a[1] - altitude_sensor_z_m)
                    yield _georeferenced_frame(name, fields, stamp, veh, pose.get(veh), a,
                                               info.get(veh), datum, mount)
    except (McapError, OSError, EOFError) as err:
        raise ValueError(f'not a readable MCAP recording: {err}') from None


def _decode_compressed(data: bytes) -> np.ndarray:
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise ImageReadError('CompressedImage data is not a readable JPEG/PNG')
    return img


def _georeferenced_frame(name, fields, stamp, veh, pose_s, alt_s, info, datum, mount) -> Frame:
    def load(fields=fields):
        if fields[0] == 'compressed':
            return _decode_compressed(fields[4])
        return image_to_array(fields[0], fields[1], fields[2], fields[3], fields[4], fields[5])
    extra = {'stamp': _iso(stamp), 'vehicle': veh}
    georef = None
    if pose_s and abs(pose_s[0] - stamp) <= MAX_POSE_AGE_S * 1e9:
        vp = pose_s[1]
        lat, lon, _ = datum.to_geodetic(vp.x, vp.y, 0.0)
        extra['pose'] = {'x': vp.x, 'y': vp.y, 'z': vp.z, 'yaw': _yaw_of(vp.q_wxyz),
                         'lat': lat, 'lon': lon, 'altitude': None}
        if alt_s and abs(alt_s[0] - stamp) <= MAX_POSE_AGE_S * 1e9 and info:
            extra['pose']['altitude'] = alt_s[1]
            try:
                w, h = fields[2] or info[1], fields[1] or info[2]   # compressed: info size
                k = CameraIntrinsics.from_k(info[0], info[1] or w, info[2] or h).scaled(w, h)
                georef = georeference_frame(vp, alt_s[1], k, mount)
                extra['footprint'] = [[round(float(x), 3), round(float(y), 3)]
                                      for x, y in georef.footprint]
            except GeoreferenceError as err:
                extra['georeference_error'] = str(err)
    return Frame(name, load, extra, georef)


def file_frames(paths, datum, mount=None, every: int = 1,
                altitude_sensor_z_m: float = 0.0) -> Iterator[Frame]:
    for p in paths:
        p = Path(p)
        if not p.exists():
            yield Frame(str(p), _raiser(ImageReadError('no such file or folder')))
            continue
        for f in iter_image_files(p):
            if f.name == 'metadata.yaml' and any(f.parent.glob('*.mcap')):
                continue        # rosbag2 folder index, not an image
            if f.suffix.lower() == '.mcap':
                try:
                    yield from mcap_frames(f, datum, mount, every, altitude_sensor_z_m)
                except ValueError as err:
                    yield Frame(str(f), _raiser(ImageReadError(str(err))))
            else:
                yield Frame(str(f), lambda f=f: read_image(f))


def count_frames(paths, every: int = 1) -> int:
    """How many frames `file_frames` will yield (for the progress bar), without decoding:
    files are counted, MCAPs by their summary's per-channel message counts (a file without a
    summary counts as one)."""
    from mcap.exceptions import McapError
    from mcap.reader import make_reader
    total = 0
    for p in paths:
        p = Path(p)
        files = iter_image_files(p) if p.exists() else [p]
        for f in files:
            if f.name == 'metadata.yaml' and any(f.parent.glob('*.mcap')):
                continue
            if f.suffix.lower() != '.mcap':
                total += 1
                continue
            try:
                with open(f, 'rb') as fh:
                    summary = make_reader(fh).get_summary()
                stats = summary.statistics if summary else None
                images = [cid for cid, ch in (summary.channels.items() if summary else ())
                          if summary.schemas.get(ch.schema_id) is not None
                          and summary.schemas[ch.schema_id].name in
                          ('sensor_msgs/msg/Image', 'sensor_msgs/msg/CompressedImage')]
                n = sum(-(-stats.channel_message_counts.get(c, 0) // every) for c in images) \
                    if stats else 1
                total += max(1, n)
            except (McapError, OSError, EOFError, ValueError):
                total += 1
    return total


def _raiser(err):
    def load():
        raise err
    return load


def _mask_name(name: str, used: set) -> str:
    if '#' in name:       # MCAP frame: <file>#<topic>@<stamp>
        file, rest = name.split('#', 1)
        topic, stamp = rest.rsplit('@', 1)
        base = f"{Path(file).stem}_{topic.strip('/').replace('/', '_')}_{stamp}"
    else:
        base = Path(name).stem
    cand, n = base, 1
    while cand in used:
        n += 1
        cand = f'{base}_{n}'
    used.add(cand)
    return cand + '.png'


def analyze_frames(frames, analyzer: SeabedAnalyzer, masks_dir: Path | None = None,
                   progress: Callable | None = None, total: int | None = None,
                   datum=None) -> dict:
    """Analyse frames into the results.json document (module doc)."""
    out = {'classes': {str(k): v for k, v in CLASS_NAMES.items()},
           'model': {k: analyzer.model.meta.get(k) for k in ('source', 'trained', 'cv')
                     if k in analyzer.model.meta},
           'images': []}
    if masks_dir is not None:
        masks_dir.mkdir(parents=True, exist_ok=True)
    used: set = set()
    georeferenced = False
    for n, frame in enumerate(frames):
        try:
            img = frame.load()
            geo = frame.georef
            res = analyzer.analyze(
                img, range_m=None,
                footprint_area_m2=geo.area_m2 if geo is not None else None,
                metres_per_pixel=geo.metres_per_pixel() if geo is not None else None)
            entry = res.to_dict(frame.name)
            if frame.extra:
                entry.update(frame.extra)
                georeferenced = georeferenced or 'footprint' in frame.extra
                entry['urchin_density_per_m2'] = (None if math.isnan(res.urchin_density_per_m2)
                                                  else round(res.urchin_density_per_m2, 4))
            if masks_dir is not None:
                mpath = masks_dir / _mask_name(frame.name, used)
                if not cv2.imwrite(str(mpath), res.full_mask()):
                    raise ImageReadError(f'cannot write mask {mpath}')
                entry['mask'] = str(mpath)
        except (ImageReadError, ImageFormatError, ImageEncodingError) as err:
            entry = {'image': frame.name, 'error': str(err)}
        except MemoryError:
            entry = {'image': frame.name, 'error': 'out of memory decoding/analysing the image'}
        out['images'].append(entry)
        if progress:
            progress(n + 1, max(total or 0, n + 1), Path(frame.name.split('#')[0]).name)
    if georeferenced and datum is not None:
        out['datum'] = {'lat': datum.lat_deg, 'lon': datum.lon_deg}
    return out


def write_results(doc: dict, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + '.tmp')
    tmp.write_text(json.dumps(doc, indent=1))
    tmp.replace(path)
    return path
