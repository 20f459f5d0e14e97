"""Energy, capacity factor, availability and capture width from power readings (pure).

Integration is a zero-order hold: a reading (t_i, P_i) holds until the next one at t_{i+1},
which is what a poller sees (the value read stays the value known). It is therefore exact
for piecewise-constant power sampled at (or after) each change. An interval longer than
`max_gap_s` is a data gap: no energy is booked for it and it counts as time the plant was not
known to be generating (so energy is a lower bound and gaps are visible, never invented).

Time is kept in seconds since the Unix epoch (UTC). Days are local days in Japan
(Asia/Tokyo, UTC+9, no DST); one-minute bins (aligned to the minute, hence to JST midnight)
carry energy, time with data and time available, and are what the monitor persists.

- capacity factor = energy in the window / (rated power × window length)
- availability = time the plant was able to generate (data present, breaker closed, no
  generator fault) / window length
The window is the last 24 h, or the time since the first reading if shorter.
- capture-width ratio = P / (J · w): electrical power over the wave power arriving across the
  device width w (J in kW per metre of crest).
"""
from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

JST = ZoneInfo('Asia/Tokyo')
_JST_OFFSET_S = 9 * 3600   # Japan has no daylight saving time


class EnergyError(ValueError):
    """A power reading cannot be booked (time going backwards, non-finite value)."""


def jst_date(t_s: float) -> date:
    """The local (JST) calendar date of a Unix time."""
    return datetime.fromtimestamp(t_s, tz=UTC).astimezone(JST).date()


def jst_midnight_s(d: date) -> float:
    """Unix time of 00:00 JST on date d."""
    return datetime(d.year, d.month, d.day, tzinfo=JST).timestamp()


def capture_width_ratio(power_kw: float, flux_kw_per_m: float, width_m: float) -> float:
    """P / (J · w); NaN when the wave power is unknown or zero."""
    if width_m <= 0 or not math.isfinite(width_m):
        raise ValueError(f'device width must be a positive number of metres, got {width_m!r}')
    if not (math.isfinite(flux_kw_per_m) and flux_kw_per_m > 0 and math.isfinite(power_kw)):
        return float('nan')
    return power_kw / (flux_kw_per_m * width_m)


@dataclass
class MinuteBin:
    """One closed (or open) bin of the ledger; persisted as a line of the history."""
    start_s: float          # Unix time of the bin start (UTC seconds)
    energy_kwh: float = 0.0
    known_s: float = 0.0    # seconds covered by readings
    available_s: float = 0.0  # seconds the plant was able to generate

    @property
    def mean_power_kw(self) -> float:
        return self.energy_kwh * 3600.0 / self.known_s if self.known_s > 0 else float('nan')


class EnergyLedger:
    """Books power readings into energy: total, per JST day, and a rolling 24-h window."""

    def __init__(self, rated_power_kw: float, max_gap_s: float = 10.0, bin_s: float = 60.0,
                 window_s: float = 86400.0):
        for name, v in (('rated_power_kw', rated_power_kw), ('max_gap_s', max_gap_s),
                        ('bin_s', bin_s), ('window_s', window_s)):
            if not (math.isfinite(v) and v > 0):
                raise ValueError(f'{name} must be a positive number, got {v!r}')
        if 86400.0 % bin_s or _JST_OFFSET_S % bin_s:
            raise ValueError(f'bin_s={bin_s} must divide a day and the JST offset (9 h)')
        self.rated_power_kw = rated_power_kw
        self.max_gap_s = max_gap_s
        self.bin_s = bin_s
        self.window_s = window_s
        self.energy_total_kwh = 0.0
        self.daily_kwh: dict[date, float] = {}
        self.gap_s = 0.0
        self._bins: OrderedDict[int, MinuteBin] = OrderedDict()
        self._last: tuple[float, float, bool] | None = None
        self._first_t: float | None = None
        self._closed_upto = -math.inf  # bins starting before this were handed out

    # ------------------------------------------------------------------ input
    def add(self, t_s: float, power_kw: float, available: bool) -> list[MinuteBin]:
        """Book the interval since the previous reading; return bins that closed.

        Raises EnergyError (and books nothing) for a reading older than the last one or a
        non-finite value."""
        if not (math.isfinite(t_s) and math.isfinite(power_kw)):
            raise EnergyError(f'reading at t={t_s!r} has non-finite power {power_kw!r} kW')
        if self._last is not None and t_s <= self._last[0]:
            raise EnergyError(f'reading at t={t_s:.3f} s is not after the previous one '
                              f'({self._last[0]:.3f} s)')
        if self._first_t is None:
            self._first_t = t_s
        if self._last is not None:
            t0, p0, a0 = self._last
            if t_s - t0 <= self.max_gap_s:
                self._book(t0, t_s, p0, a0)
            else:
                self.gap_s += t_s - t0
        self._last = (t_s, power_kw, bool(available))
        self._prune(t_s)
        return self._close(t_s)

    def mark_gap(self, t_s: float) -> None:
        """Forget the held reading (the device went stale): nothing is booked past it."""
        if self._last is not None and t_s > self._last[0]:
            self.gap_s += t_s - self._last[0]
        self._last = None

    def _book(self, a: float, b: float, p_kw: float, available: bool) -> None:
        t = a
        while t < b:
            k = int(math.floor(t / self.bin_s))
            end = min(b, (k + 1) * self.bin_s)
            dt = end - t
            e = p_kw * dt / 3600.0
            mb = self._bins.get(k)
            if mb is None:
                mb = self._bins[k] = MinuteBin(k * self.bin_s)
            mb.energy_kwh += e
            mb.known_s += dt
            if available:
                mb.available_s += dt
            self.energy_total_kwh += e
            d = jst_date(k * self.bin_s)   # a bin never straddles JST midnight
            self.daily_kwh[d] = self.daily_kwh.get(d, 0.0) + e
            t = end

    def _prune(self, now: float) -> None:
        oldest = int(math.floor((now - self.window_s) / self.bin_s))
        while self._bins and next(iter(self._bins)) < oldest:
            self._bins.popitem(last=False)

    def _close(self, now: float) -> list[MinuteBin]:
        done = []
        for k in reversed(self._bins):   # newest first; stop at what was handed out before
            if k * self.bin_s < self._closed_upto:
                break
            if (k + 1) * self.bin_s <= now:
                done.append(self._bins[k])
        done.reverse()
        if done:
            self._closed_upto = done[-1].start_s + self.bin_s
        return done

    def restore(self, total_kwh: float, daily_kwh: dict[date, float],
                bins: list[MinuteBin]) -> None:
        """Resume from persisted history (monitor restart): totals and recent bins."""
        self.energy_total_kwh = float(total_kwh)
        self.daily_kwh = dict(daily_kwh)
        for mb in sorted(bins, key=lambda b: b.start_s):
            k = int(round(mb.start_s / self.bin_s))
            self._bins[k] = MinuteBin(mb.start_s, mb.energy_kwh, mb.known_s, mb.available_s)
            self._closed_upto = max(self._closed_upto, mb.start_s + self.bin_s)
            if self._first_t is None or mb.start_s < self._first_t:
                self._first_t = mb.start_s

    # ------------------------------------------------------------------ output
    def energy_on(self, d: date) -> float:
        return self.daily_kwh.get(d, 0.0)

    def _window(self, now: float) -> tuple[float, float, float]:
        """(span_s, energy_kwh, available_s) over the window ending at now."""
        if self._first_t is None:
            return 0.0, 0.0, 0.0
        start = max(self._first_t, now - self.window_s)
        energy = avail = 0.0
        for mb in self._bins.values():
            if mb.start_s + self.bin_s <= start or mb.start_s >= now:
                continue
            # The bin straddling the window start counts in proportion (uniform within it);
            # the newest bin only holds energy up to the last reading anyway.
            frac = 1.0
            if mb.start_s < start:
                frac = (mb.start_s + self.bin_s - start) / self.bin_s
            energy += mb.energy_kwh * frac
            avail += mb.available_s * frac
        return max(0.0, now - start), energy, avail

    def capacity_factor(self, now: float) -> float:
        span, energy, _ = self._window(now)
        if span <= 0:
            return float('nan')
        return energy / (self.rated_power_kw * span / 3600.0)

    def availability(self, now: float) -> float:
        span, _, avail = self._window(now)
        if span <= 0:
            return float('nan')
        return min(1.0, avail / span)
