"""sensor_msgs/Image <-> numpy without cv_bridge (pure: works on the message's fields).

Supported encodings: rgb8, bgr8, mono8, mono16 (and rgba8/bgra8, which drop alpha). Rows
may be padded (`step` > width * bytes per pixel); 16-bit data honours `is_bigendian`.
Anything else raises ImageEncodingError naming the encoding and the supported ones.
"""
from __future__ import annotations

import numpy as np

SUPPORTED = ('rgb8', 'bgr8', 'mono8', 'mono16', 'rgba8', 'bgra8')
_LAYOUT = {'rgb8': (3, np.uint8), 'bgr8': (3, np.uint8), 'mono8': (1, np.uint8),
           'mono16': (1, np.uint16), 'rgba8': (4, np.uint8), 'bgra8': (4, np.uint8)}


class ImageEncodingError(ValueError):
    """An image message has an unsupported encoding or inconsistent size fields."""


def check_image_fields(encoding: str, height: int, width: int, step: int, size: int) -> str:
    """'' if the fields describe a usable image, else the reason (cheap: no data copied)."""
    enc = (encoding or '').lower()
    if enc not in _LAYOUT:
        return (f'image encoding {encoding!r} is not supported; use one of '
                f'{", ".join(SUPPORTED)}')
    channels, dtype = _LAYOUT[enc]
    row = width * channels * np.dtype(dtype).itemsize
    if height <= 0 or width <= 0:
        return f'image size {width}x{height} px is empty'
    if step < row:
        return f'image step {step} B is less than width*pixel size {row} B'
    if size < step * height:
        return (f'image data {size} B is shorter than step*height {step * height} B '
                f'({encoding} {width}x{height})')
    return ''


def image_to_array(encoding: str, height: int, width: int, step: int, data,
                   is_bigendian: bool = False) -> np.ndarray:
    """Image message fields -> array: BGR (H, W, 3) for colour, (H, W) for mono."""
    enc = (encoding or '').lower()
    if enc not in _LAYOUT:
        raise ImageEncodingError(f'image encoding {encoding!r} is not supported; use one of '
                                 f'{", ".join(SUPPORTED)}')
    channels, dtype = _LAYOUT[enc]
    itemsize = np.dtype(dtype).itemsize
    row = width * channels * itemsize
    if height <= 0 or width <= 0:
        raise ImageEncodingError(f'image size {width}x{height} px is empty')
    if step < row:
        raise ImageEncodingError(f'image step {step} B is less than width*pixel size {row} B')
    buf = np.frombuffer(bytes(data) if not isinstance(data, (bytes, bytearray, memoryview,
                                                             np.ndarray)) else data,
                        dtype=np.uint8)
    if buf.size < step * height:
        raise ImageEncodingError(f'image data {buf.size} B is shorter than step*height '
                                 f'{step * height} B ({encoding} {width}x{height})')
    rows = buf[:step * height].reshape(height, step)[:, :row]
    dt = np.dtype(dtype)
    if itemsize > 1:
        dt = dt.newbyteorder('>' if is_bigendian else '<')
    arr = np.ascontiguousarray(rows).view(dt).reshape(height, width, channels)
    if itemsize > 1:
        arr = arr.astype(dtype)          # native byte order
    if channels == 1:
        return arr[:, :, 0]
    if enc == 'rgb8':
        return arr[:, :, ::-1].copy()
    if enc == 'rgba8':
        return arr[:, :, 2::-1].copy()
    if enc == 'bgra8':
        return arr[:, :, :3].copy()
    return arr


def array_to_image_fields(arr: np.ndarray, encoding: str = 'bgr8') -> dict:
    """Array -> dict(encoding, height, width, step, data, is_bigendian) for sensor_msgs/Image.

    bgr8/rgb8 take (H, W, 3) uint8 in BGR order; mono8 (H, W) uint8; mono16 (H, W) uint16.
    """
    enc = encoding.lower()
    if enc not in ('bgr8', 'rgb8', 'mono8', 'mono16'):
        raise ImageEncodingError(f'cannot encode {encoding!r}; use bgr8, rgb8, mono8, mono16')
    arr = np.asarray(arr)
    if enc in ('bgr8', 'rgb8'):
        if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8:
            raise ImageEncodingError(f'{enc} needs (H, W, 3) uint8, got {arr.shape} {arr.dtype}')
        if enc == 'rgb8':
            arr = arr[:, :, ::-1]
    else:
        want = np.uint8 if enc == 'mono8' else np.uint16
        if arr.ndim != 2 or arr.dtype != want:
            raise ImageEncodingError(
                f'{enc} needs (H, W) {np.dtype(want)}, got {arr.shape} {arr.dtype}')
    arr = np.ascontiguousarray(arr)
    return {'encoding': enc, 'height': arr.shape[0], 'width': arr.shape[1],
            'step': arr.strides[0], 'data': arr.tobytes(), 'is_bigendian': False}
