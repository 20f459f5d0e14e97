"""Short time-stamped buffers of vehicle pose and altitude, read at a frame's stamp (pure).

Why. A camera frame is analysed some time after it was taken (the node's timer, a busy CPU),
and odometry keeps arriving meanwhile. Placing the frame with the *latest* pose shifts it by
speed x delay (0.7 m/s x 0.5 s = 35 cm on a 1 m map). The node therefore keeps the last few
seconds of odometry and altitude and reads them at the image's stamp: linear interpolation
of position and altitude, normalised linear interpolation of the attitude quaternion (the
samples are ~0.1 s apart, where nlerp and slerp agree to far below a pixel). A stamp outside
the buffer is answered by the nearest sample only when it is within `max_gap_s`, else None.
"""
from __future__ import annotations

import bisect
import math
from collections import deque


class PoseBufferError(ValueError):
    """Bad buffer configuration or sample."""


class TimedBuffer:
    """Samples (stamp s, tuple of floats) in stamp order; `at(t)` interpolates.

    `quat_slice` names the fields holding a (w, x, y, z) quaternion, which are interpolated
    on the shorter arc and renormalised."""

    def __init__(self, horizon_s: float = 5.0, max_samples: int = 500,
                 quat_slice: slice | None = None):
        if not (math.isfinite(horizon_s) and horizon_s > 0):
            raise PoseBufferError(f'horizon_s {horizon_s!r} must be a positive number of s')
        if max_samples < 2:
            raise PoseBufferError(f'max_samples {max_samples!r} must be >= 2')
        self.horizon_s = float(horizon_s)
        self.quat_slice = quat_slice
        self._t: deque = deque(maxlen=max_samples)
        self._v: deque = deque(maxlen=max_samples)

    def __len__(self) -> int:
        return len(self._t)

    def add(self, stamp_s: float, values) -> None:
        """Append a sample. An older stamp than the newest (clock reset, replayed bag) starts
        the buffer again rather than mixing two timelines."""
        values = tuple(float(v) for v in values)
        if not math.isfinite(stamp_s) or not all(math.isfinite(v) for v in values):
            raise PoseBufferError(f'sample at {stamp_s!r} s has non-finite values {values!r}')
        if self._t and stamp_s < self._t[-1]:
            self._t.clear()
            self._v.clear()
        self._t.append(float(stamp_s))
        self._v.append(values)
        while self._t and self._t[0] < stamp_s - self.horizon_s:
            self._t.popleft()
            self._v.popleft()

    def latest(self):
        """(stamp, values) of the newest sample, or None."""
        return (self._t[-1], self._v[-1]) if self._t else None

    def at(self, stamp_s: float, max_gap_s: float):
        """Values at stamp_s: interpolated between the samples around it when they are at most
        2 * max_gap_s apart, else the nearest sample if within max_gap_s; None otherwise."""
        if not self._t:
            return None
        times = self._t
        i = bisect.bisect_left(times, stamp_s)
        if i < len(times) and times[i] == stamp_s:
            return self._v[i]
        if 0 < i < len(times):
            t0, t1 = times[i - 1], times[i]
            if t1 - t0 <= 2.0 * max_gap_s:
                return self._lerp(self._v[i - 1], self._v[i], (stamp_s - t0) / (t1 - t0))
        j = min(range(max(0, i - 1), min(len(times), i + 1)),
                key=lambda k: abs(times[k] - stamp_s))
        return self._v[j] if abs(times[j] - stamp_s) <= max_gap_s else None

    def _lerp(self, a: tuple, b: tuple, f: float) -> tuple:
        out = [x + (y - x) * f for x, y in zip(a, b)]
        qs = self.quat_slice
        if qs is not None:
            qa, qb = a[qs], b[qs]
            sign = -1.0 if sum(x * y for x, y in zip(qa, qb)) < 0 else 1.0
            q = [x + (sign * y - x) * f for x, y in zip(qa, qb)]
            norm = math.sqrt(sum(x * x for x in q)) or 1.0
            out[qs] = [x / norm for x in q]
        return tuple(out)
