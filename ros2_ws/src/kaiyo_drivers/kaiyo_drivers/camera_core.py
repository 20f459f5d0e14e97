"""Camera capture with reconnect, and calibration files (pure: OpenCV + YAML, no rclpy).

Calibration: the ROS camera_calibration YAML (as written by `cameracalibrator`), kept in
`hardware/` next to the vehicle file:

    image_width: 640
    image_height: 480
    camera_name: hover_auv_down
    camera_matrix: {rows: 3, cols: 3, data: [fx, 0, cx, 0, fy, cy, 0, 0, 1]}
    distortion_model: plumb_bob
    distortion_coefficients: {rows: 1, cols: 5, data: [k1, k2, p1, p2, k3]}
    rectification_matrix: {rows: 3, cols: 3, data: [1, 0, 0, 0, 1, 0, 0, 0, 1]}
    projection_matrix: {rows: 3, cols: 4, data: [fx, 0, cx, 0, 0, fy, cy, 0, 0, 0, 1, 0]}

An underwater camera behind a flat port must be calibrated *in water*: refraction at the
port raises the focal length by about the refractive index of sea water (~1.34) and adds
strong radial distortion, so an in-air calibration is wrong at sea.

`CaptureWorker` owns a cv2.VideoCapture (device index, RTSP/GStreamer URL or a file) in a
thread, keeps only the newest frame (a slow consumer must not see old frames), re-opens
the source with exponential backoff when it stops delivering (cable, network, end of file),
and stamps each frame with the monotonic time it was read.
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import yaml

from kaiyo_drivers.link import Backoff


class CalibrationError(ValueError):
    """A calibration file is missing a field or has the wrong shape; says which."""


@dataclass(frozen=True)
class CameraCalibration:
    width: int
    height: int
    name: str
    k: tuple[float, ...]            # 9
    distortion_model: str
    d: tuple[float, ...]
    r: tuple[float, ...]            # 9
    p: tuple[float, ...]            # 12


def _matrix(doc, key, rows, cols, where, optional=False):
    m = doc.get(key)
    if m is None and optional:
        return None
    if not isinstance(m, dict) or 'data' not in m:
        raise CalibrationError(f'{where}: "{key}" must be a mapping with rows, cols, data')
    data = m['data']
    if not isinstance(data, list) or not all(
            isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
            for x in data):
        raise CalibrationError(f'{where}: "{key}.data" must be a list of finite numbers')
    if rows is not None and (m.get('rows') != rows or m.get('cols') != cols
                             or len(data) != rows * cols):
        raise CalibrationError(f'{where}: "{key}" must be {rows}x{cols} '
                               f'(got rows={m.get("rows")}, cols={m.get("cols")}, '
                               f'{len(data)} values)')
    return tuple(float(x) for x in data)


def parse_calibration(doc, where: str = '<yaml>') -> CameraCalibration:
    if not isinstance(doc, dict):
        raise CalibrationError(f'{where}: top level must be a mapping')
    for key in ('image_width', 'image_height'):
        v = doc.get(key)
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
            raise CalibrationError(f'{where}: "{key}" must be a positive integer, got {v!r}')
    k = _matrix(doc, 'camera_matrix', 3, 3, where)
    if k[0] <= 0 or k[4] <= 0:
        raise CalibrationError(f'{where}: camera_matrix focal lengths must be > 0')
    model = doc.get('distortion_model', 'plumb_bob')
    if model not in ('plumb_bob', 'rational_polynomial', 'equidistant'):
        raise CalibrationError(f'{where}: distortion_model {model!r} unknown')
    d = _matrix(doc, 'distortion_coefficients', None, None, where)
    need = {'plumb_bob': 5, 'rational_polynomial': 8, 'equidistant': 4}[model]
    if len(d) != need:
        raise CalibrationError(f'{where}: {model} needs {need} distortion coefficients, '
                               f'got {len(d)}')
    r = _matrix(doc, 'rectification_matrix', 3, 3, where, optional=True) or \
        (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)
    p = _matrix(doc, 'projection_matrix', 3, 4, where, optional=True) or \
        (k[0], k[1], k[2], 0.0, k[3], k[4], k[5], 0.0, 0.0, 0.0, 1.0, 0.0)
    return CameraCalibration(doc['image_width'], doc['image_height'],
                             str(doc.get('camera_name', 'camera')), k, model, d, r, p)


def load_calibration(path) -> CameraCalibration:
    p = Path(path)
    try:
        doc = yaml.safe_load(p.read_text(encoding='utf-8'))
    except OSError as err:
        raise CalibrationError(f'{p}: cannot read calibration: {err.strerror or err}') from err
    except yaml.YAMLError as err:
        raise CalibrationError(f'{p}: not valid YAML: {err}') from err
    return parse_calibration(doc, str(p))


def parse_source(source: str):
    """'0' -> device index 0; anything else (path, rtsp://, GStreamer pipeline) as is."""
    return int(source) if source.isdigit() else source


class CaptureWorker:
    """Newest-frame capture thread with reconnect; see the module docstring."""

    def __init__(self, source: str, backoff: Backoff | None = None, fps_limit: float = 0.0,
                 open_fn=cv2.VideoCapture):
        self.source = source
        self.backoff = backoff or Backoff(0.2, 5.0)
        self.min_period = 1.0 / fps_limit if fps_limit > 0 else 0.0
        self.open_fn = open_fn
        self._lock = threading.Lock()
        self._frame = None
        self._seq = 0
        self.frames = 0
        self.opens = 0
        self.failures = 0
        self.connected = False
        self.last_error = ''
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name='camera', daemon=True)

    def start(self) -> CaptureWorker:
        self._thread.start()
        return self

    def latest(self):
        """(seq, monotonic stamp, BGR image) of the newest frame, or None."""
        with self._lock:
            return self._frame

    def _run(self) -> None:
        while not self._stop.is_set():
            cap = self.open_fn(parse_source(self.source))
            if not cap.isOpened():
                cap.release()
                self.connected = False
                self.failures += 1
                self.last_error = f'cannot open {self.source}'
                self._stop.wait(self.backoff.next_delay())
                continue
            self.opens += 1
            self.connected = True
            self.backoff.reset()
            next_t = time.monotonic()
            while not self._stop.is_set():
                ok, img = cap.read()
                if not ok or img is None:
                    self.last_error = f'{self.source} stopped delivering frames'
                    break
                now = time.monotonic()
                with self._lock:
                    self._seq += 1
                    self._frame = (self._seq, now, img)
                self.frames += 1
                if self.min_period:
                    next_t = max(next_t + self.min_period, now)
                    self._stop.wait(max(0.0, next_t - time.monotonic()))
            cap.release()
            self.connected = False
            self._stop.wait(self.backoff.next_delay())

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(3.0)
