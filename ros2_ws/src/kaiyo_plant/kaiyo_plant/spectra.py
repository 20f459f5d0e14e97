"""Sea state from a wave record: Welch spectrum -> moments -> Hs, Tp, Te, Tz, flux (pure).

Method (IAHR/PIANC parameter list; Tucker & Pitt, "Waves in Ocean Engineering", ch. 5):
- Welch PSD: Hann window, segments of `segment_s` (256 s by default, Δf = 1/256 Hz), 50 %
  overlap, linear detrend (removes tide and sensor drift), rescaled to the record's variance
  (see `welch_spectrum`). A 30-min record gives 13 segments, ~26 degrees of freedom.
- Spectral moments m_n = Σ f^n S(f) Δf over [f_min, f_max] (f_min = 0.04 Hz, 25 s, keeps
  tide/seiche/drift out; f_max defaults to Nyquist).
- Hs = 4 √m0; Te = m-1/m0; Tz = √(m0/m2); Tp = 1/fp with fp the S⁴-weighted centroid of
  the peak lobe (Young 1995), steadier than the raw arg-max bin.
- Energy flux per metre of crest J = ρ g Σ S(f) c_g(f, h) Δf, which for deep water is
  exactly ρ g² Hs² Te / (64 π); the finite-depth group velocity is the depth correction
  (group velocity peaks near kh ≈ 1.2: at 20 m, Te = 7 s the flux is ~15 % above the
  deep-water formula; in shallower water or longer swell it falls below it).
- Pressure records (bottom or tower-mounted gauges): the sensor depth d is the mean gauge
  pressure / ρg; the dynamic part is converted with S_η = S_p / (ρ g K_p)², with
  K_p = cosh(k(h-d))/cosh(kh). K_p -> 0 at high frequency, so 1/K_p² amplifies noise without
  bound: the correction stops at the cut-off frequency f_c where K_p falls to `kp_min`
  (0.1 by default, an energy gain of at most 100), and above f_c the spectrum is continued
  with the f^-5 tail S(f_c) (f_c/f)^5 (the JONSWAP/PM high-frequency form), documented in
  the result as `cutoff_hz`. A record whose tail would carry more than half of m0 (sensor too
  deep for the waves present) is refused rather than reported.
- Mean direction from co-located horizontal velocities (east, north), e.g. a current meter
  at the tower: for a linear wave the horizontal velocity is in phase with η, so the
  energy-weighted direction of propagation is atan2(Σ Co(η,v), Σ Co(η,u)); SeaState reports
  where waves come FROM, clockwise from north.
"""
from __future__ import annotations

import csv
import math
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
from scipy import signal

from kaiyo_plant.waves import RHO_SEAWATER, G, group_velocity, pressure_transfer

MAX_TAIL_SHARE = 0.5   # refuse a pressure estimate that is mostly extrapolated tail


class RecordError(ValueError):
    """A wave record cannot be analysed (too short, gaps, NaN, bad CSV); says where."""


@dataclass(frozen=True)
class Spectrum:
    freqs_hz: np.ndarray      # bin centres, Hz
    density_m2_per_hz: np.ndarray  # elevation variance density, m²/Hz
    df_hz: float              # bin width, Hz
    n_segments: int           # Welch segments averaged


@dataclass(frozen=True)
class SeaStateEstimate:
    hs_m: float
    tp_s: float
    te_s: float
    tz_s: float
    mean_direction_deg: float       # FROM, clockwise from north; NaN without directional data
    energy_flux_kw_per_m: float     # with finite-depth group velocity (deep water if depth inf)
    energy_flux_deep_kw_per_m: float  # ρ g² Hs² Te / (64 π), for reference
    water_depth_m: float            # inf: deep water assumed
    record_duration_s: float
    sample_rate_hz: float
    df_hz: float
    n_segments: int
    cutoff_hz: float = float('nan')   # pressure records: upper limit of the K_p correction
    sensor_depth_m: float = float('nan')  # pressure records: mean sensor depth, m
    spectrum: Spectrum | None = field(default=None, repr=False, compare=False)

    def as_dict(self) -> dict:
        d = asdict(self)
        d.pop('spectrum')
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in d.items()}


def _check_record(x, fs_hz: float, segment_s: float, name: str = 'record') -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if x.ndim != 1:
        raise RecordError(f'{name} must be a 1-D series, got shape {x.shape}')
    if not math.isfinite(fs_hz) or fs_hz <= 0:
        raise RecordError(f'sample rate must be a positive number of Hz, got {fs_hz!r}')
    bad = np.flatnonzero(~np.isfinite(x))
    if bad.size:
        raise RecordError(f'{name} has {bad.size} non-finite samples, first at index {bad[0]}')
    if x.size < 2 * segment_s * fs_hz:
        raise RecordError(f'{name} is {x.size / fs_hz:.0f} s long; need at least two Welch '
                          f'segments ({2 * segment_s:.0f} s)')
    return x


def welch_spectrum(x, fs_hz: float, segment_s: float = 256.0) -> Spectrum:
    """Welch PSD (Hann, 50 % overlap, linear detrend), one-sided, unit²/Hz, variance-true.

    The record is linearly detrended as a whole, then Welch-averaged. Hann segments at 50 %
    overlap weight the samples unevenly (Σw² swings between 0.5 and 1 along the record), which
    on a 30-min record scatters the spectrum's total by about ±3 % from the record's actual
    variance. The averaged spectrum is therefore rescaled so that Σ S Δf equals the variance
    of the detrended record (Parseval): Welch supplies the smoothed shape, every sample
    counts equally in the energy.
    """
    x = _check_record(x, fs_hz, segment_s)
    x = signal.detrend(x, type='linear')
    f, s, n_seg = _welch(x, fs_hz, int(round(segment_s * fs_hz)))
    df = float(f[1] - f[0])
    total = float(np.sum(s) * df)
    if total > 0:
        s = s * (float(np.var(x)) / total)
    return Spectrum(f, s, df, n_seg)


def _welch(x: np.ndarray, fs: float, nperseg: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Welch averaging in one batched FFT (same result as scipy.signal.welch with a Hann
    window, 50 % overlap and linear detrend per segment; ~5x faster on a 30-min record)."""
    step = nperseg - nperseg // 2
    segs = np.lib.stride_tricks.sliding_window_view(x, nperseg)[::step]
    # Linear detrend of every segment at once: remove the projection on {1, t}.
    q, _ = np.linalg.qr(np.vstack([np.ones(nperseg), np.arange(nperseg, dtype=float)]).T)
    segs = segs - (segs @ q) @ q.T
    win = signal.get_window('hann', nperseg)
    spec = np.abs(np.fft.rfft(segs * win, axis=1)) ** 2
    spec /= fs * np.sum(win ** 2)
    spec[:, 1:-1 if nperseg % 2 == 0 else None] *= 2.0   # one-sided: double all but DC/Nyquist
    return np.fft.rfftfreq(nperseg, 1.0 / fs), spec.mean(axis=0), segs.shape[0]


def _band(spec: Spectrum, f_min: float, f_max: float | None) -> np.ndarray:
    top = spec.freqs_hz[-1] if f_max is None else f_max
    return (spec.freqs_hz >= f_min) & (spec.freqs_hz <= top)


def peak_frequency(f: np.ndarray, s: np.ndarray) -> float:
    """Peak frequency, Hz: Young's (1995) S⁴-weighted centroid over the peak's own lobe.

    The raw arg-max bin of a 26-dof spectrum wanders by a bin or more on a narrow peak; the
    S⁴ centroid is far steadier. It is taken only over the contiguous bins around the
    arg-max where S > S_max/2, so a second (swell or wind-sea) peak never pulls it between
    the two.
    """
    i = int(np.argmax(s))
    half = s[i] / 2.0
    lo, hi = i, i
    while lo > 0 and s[lo - 1] > half:
        lo -= 1
    while hi < s.size - 1 and s[hi + 1] > half:
        hi += 1
    w = s[lo:hi + 1] ** 4
    return float(np.sum(f[lo:hi + 1] * w) / np.sum(w))


def sea_state_from_spectrum(spec: Spectrum, depth_m: float = math.inf, f_min_hz: float = 0.04,
                            f_max_hz: float | None = None, rho: float = RHO_SEAWATER,
                            record_duration_s: float = float('nan'),
                            sample_rate_hz: float = float('nan')) -> SeaStateEstimate:
    """Integral parameters from an elevation spectrum over [f_min, f_max]."""
    band = _band(spec, f_min_hz, f_max_hz)
    f, s, df = spec.freqs_hz[band], spec.density_m2_per_hz[band], spec.df_hz
    if f.size < 3:
        raise RecordError(f'fewer than 3 spectral bins between {f_min_hz} and {f_max_hz} Hz')
    m0 = float(np.sum(s) * df)
    if m0 <= 0:
        raise RecordError('record has no wave energy in the analysis band (flat signal?)')
    m_1 = float(np.sum(s / f) * df)
    m2 = float(np.sum(s * f ** 2) * df)
    fp = peak_frequency(f, s)
    cg = group_velocity(f, depth_m)
    flux = rho * G * float(np.sum(s * cg) * df) / 1000.0
    hs = 4.0 * math.sqrt(m0)
    te = m_1 / m0
    return SeaStateEstimate(
        hs_m=hs, tp_s=1.0 / fp, te_s=te, tz_s=math.sqrt(m0 / m2),
        mean_direction_deg=float('nan'), energy_flux_kw_per_m=flux,
        energy_flux_deep_kw_per_m=rho * G ** 2 * hs ** 2 * te / (64 * math.pi) / 1000.0,
        water_depth_m=float(depth_m), record_duration_s=record_duration_s,
        sample_rate_hz=sample_rate_hz, df_hz=df, n_segments=spec.n_segments, spectrum=spec)


def analyze_elevation(eta, fs_hz: float, depth_m: float = math.inf, segment_s: float = 256.0,
                      f_min_hz: float = 0.04, f_max_hz: float | None = None,
                      east=None, north=None) -> SeaStateEstimate:
    """Sea state of a surface-elevation record (m) sampled at fs (Hz).

    `east`, `north`: optional horizontal velocities (m/s) at the same times, for the mean
    direction."""
    eta = _check_record(eta, fs_hz, segment_s, 'elevation record')
    spec = welch_spectrum(eta, fs_hz, segment_s)
    est = sea_state_from_spectrum(spec, depth_m, f_min_hz, f_max_hz,
                                  record_duration_s=eta.size / fs_hz, sample_rate_hz=fs_hz)
    if east is not None or north is not None:
        if east is None or north is None:
            raise RecordError('mean direction needs both east and north velocities')
        d = mean_direction(eta, east, north, fs_hz, segment_s, f_min_hz, f_max_hz)
        est = _replace(est, mean_direction_deg=d)
    return est


def _replace(est: SeaStateEstimate, **kw) -> SeaStateEstimate:
    from dataclasses import replace
    return replace(est, **kw)


def mean_direction(eta, east, north, fs_hz: float, segment_s: float = 256.0,
                   f_min_hz: float = 0.04, f_max_hz: float | None = None) -> float:
    """Energy-weighted mean direction waves come FROM, degrees clockwise from north."""
    eta = _check_record(eta, fs_hz, segment_s, 'elevation record')
    u = _check_record(east, fs_hz, segment_s, 'east velocity')
    v = _check_record(north, fs_hz, segment_s, 'north velocity')
    if not (eta.size == u.size == v.size):
        raise RecordError(f'elevation ({eta.size}), east ({u.size}) and north ({v.size}) '
                          'records must have the same length')
    nperseg = int(round(segment_s * fs_hz))
    kw = dict(fs=fs_hz, window='hann', nperseg=nperseg, noverlap=nperseg // 2,
              detrend='linear')
    f, c_eu = signal.csd(eta, u, **kw)
    _, c_ev = signal.csd(eta, v, **kw)
    top = f[-1] if f_max_hz is None else f_max_hz
    band = (f >= f_min_hz) & (f <= top)
    a1, b1 = float(np.sum(c_eu.real[band])), float(np.sum(c_ev.real[band]))
    if a1 == 0.0 and b1 == 0.0:
        return float('nan')
    toward_math = math.degrees(math.atan2(b1, a1))     # CCW from east
    toward_compass = 90.0 - toward_math                 # CW from north
    return (toward_compass + 180.0) % 360.0


def analyze_pressure(p_pa, fs_hz: float, depth_m: float, atmospheric_pa: float | None = 101325.0,
                     rho: float = RHO_SEAWATER, kp_min: float = 0.1, segment_s: float = 256.0,
                     f_min_hz: float = 0.04, f_max_hz: float | None = None,
                     tail: bool = True) -> SeaStateEstimate:
    """Sea state from a pressure record (Pa) at a fixed sensor in water of depth h (m).

    atmospheric_pa: subtracted to get gauge pressure (None: the record is already gauge).
    """
    p = _check_record(p_pa, fs_hz, segment_s, 'pressure record')
    if not (math.isfinite(depth_m) and depth_m > 0):
        raise RecordError(f'a pressure record needs the finite water depth, got {depth_m!r} m')
    if not 0.0 < kp_min < 1.0:
        raise RecordError(f'kp_min must be between 0 and 1, got {kp_min!r}')
    gauge = p - (atmospheric_pa or 0.0)
    sensor_depth = float(np.mean(gauge)) / (rho * G)
    if not 0.0 < sensor_depth <= depth_m * 1.05:
        raise RecordError(f'mean pressure puts the sensor at {sensor_depth:.2f} m depth, outside '
                          f'the water column (0..{depth_m} m); absolute vs gauge pressure?')
    sensor_depth = min(sensor_depth, depth_m)
    head = gauge / (rho * G)                     # pressure head, m of water
    spec = welch_spectrum(head, fs_hz, segment_s)
    f = spec.freqs_hz
    kp = pressure_transfer(f, depth_m, sensor_depth)
    ok = kp >= kp_min
    # K_p decreases monotonically with f: the cut-off is the last bin before it drops below.
    first_bad = int(np.argmin(ok)) if not ok.all() else f.size
    if first_bad == 0 or f[first_bad - 1] < f_min_hz:
        raise RecordError(f'sensor at {sensor_depth:.1f} m in {depth_m} m of water: K_p is '
                          f'below kp_min={kp_min} at every frequency above {f_min_hz} Hz; '
                          'too deep for surface waves to be recovered')
    cutoff = float(f[first_bad - 1])
    s = np.zeros_like(f)
    s[:first_bad] = spec.density_m2_per_hz[:first_bad] / kp[:first_bad] ** 2
    if tail and first_bad < f.size:
        s[first_bad:] = s[first_bad - 1] * (cutoff / f[first_bad:]) ** 5
        band = f >= f_min_hz
        tail_share = float(np.sum(s[first_bad:]) / max(np.sum(s[band]), 1e-300))
        if tail_share > MAX_TAIL_SHARE:
            raise RecordError(f'sensor at {sensor_depth:.1f} m in {depth_m} m of water: '
                              f'{100 * tail_share:.0f} % of the wave energy lies above the '
                              f'{cutoff:.3f} Hz cut-off and would be extrapolated; too deep '
                              'for these waves')
    corrected = Spectrum(f, s, spec.df_hz, spec.n_segments)
    est = sea_state_from_spectrum(corrected, depth_m, f_min_hz, f_max_hz, rho,
                                  record_duration_s=p.size / fs_hz, sample_rate_hz=fs_hz)
    return _replace(est, cutoff_hz=cutoff, sensor_depth_m=sensor_depth)


# ----------------------------------------------------------------------------- records

@dataclass(frozen=True)
class Record:
    """A uniformly sampled record read from a file."""
    kind: str                 # 'elevation_m' or 'pressure_pa'
    values: np.ndarray
    sample_rate_hz: float
    start: str                # first time stamp as written in the file


def _parse_time(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text.strip().replace('Z', '+00:00')).timestamp()
    except ValueError:
        raise ValueError(f'time {text!r} is neither seconds nor ISO 8601') from None


def uniform_record(t, x, max_jitter: float = 0.02, max_gap_samples: float = 1.5,
                   name: str = 'record') -> tuple[np.ndarray, float]:
    """Check a time series is evenly sampled (median step) and return (values, fs).

    Small jitter (each step within `max_jitter` of the median, as a polling driver gives) is
    removed by linear interpolation onto the even grid; a step longer than
    `max_gap_samples` steps is a gap and refused with its position, because spectra of
    gappy records are wrong and silently filling them would hide it.
    """
    t = np.asarray(t, dtype=float)
    x = np.asarray(x, dtype=float)
    if t.size < 4:
        raise RecordError(f'{name}: only {t.size} samples')
    dt = np.diff(t)
    if np.any(dt <= 0):
        i = int(np.argmax(dt <= 0))
        raise RecordError(f'{name}: time does not increase at sample {i + 1} '
                          f'(t={t[i]} then {t[i + 1]})')
    step = float(np.median(dt))
    gaps = np.flatnonzero(dt > max_gap_samples * step)
    if gaps.size:
        i = int(gaps[0])
        raise RecordError(f'{name}: gap of {dt[i]:.3g} s after sample {i} (t={t[i]}); '
                          f'sample step is {step:.3g} s; {gaps.size} gap(s) in all')
    if np.all(np.abs(dt - step) <= max_jitter * step):
        return x, 1.0 / step
    grid = t[0] + step * np.arange(int(math.floor((t[-1] - t[0]) / step)) + 1)
    return np.interp(grid, t, x), 1.0 / step


def load_record_csv(path: str | Path) -> Record:
    """Read a CSV with a header `time,elevation_m` or `time,pressure_pa`.

    time: seconds (any origin) or ISO 8601. Every bad row is reported with its line number.
    """
    path = Path(path)
    try:
        fh = path.open(newline='')
    except OSError as err:
        raise RecordError(f'{path}: cannot open ({err.strerror})') from None
    with fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None:
            raise RecordError(f'{path}: empty file')
        cols = [h.strip() for h in header]
        if len(cols) < 2 or cols[0] != 'time' or cols[1] not in ('elevation_m', 'pressure_pa'):
            raise RecordError(f'{path}: line 1: header must be "time,elevation_m" or '
                              f'"time,pressure_pa", got {",".join(cols)!r}')
        kind = cols[1]
        ts, xs = [], []
        first = ''
        for lineno, row in enumerate(reader, start=2):
            if not row or all(not c.strip() for c in row):
                continue
            if len(row) < 2:
                raise RecordError(f'{path}: line {lineno}: expected 2 columns, got {len(row)}')
            try:
                ts.append(_parse_time(row[0]))
            except ValueError as err:
                raise RecordError(f'{path}: line {lineno}: {err}') from None
            try:
                v = float(row[1])
            except ValueError:
                raise RecordError(f'{path}: line {lineno}: {kind} {row[1]!r} is not a number') \
                    from None
            if not math.isfinite(v):
                raise RecordError(f'{path}: line {lineno}: {kind} is {row[1]!r}')
            xs.append(v)
            first = first or row[0].strip()
    try:
        values, fs = uniform_record(ts, xs, name=str(path))
    except RecordError:
        raise
    return Record(kind, values, fs, first)


def analyze_record(record: Record, depth_m: float = math.inf, segment_s: float = 256.0,
                   atmospheric_pa: float | None = 101325.0, kp_min: float = 0.1,
                   f_min_hz: float = 0.04) -> SeaStateEstimate:
    if record.kind == 'elevation_m':
        return analyze_elevation(record.values, record.sample_rate_hz, depth_m, segment_s,
                                 f_min_hz)
    return analyze_pressure(record.values, record.sample_rate_hz, depth_m, atmospheric_pa,
                            kp_min=kp_min, segment_s=segment_s, f_min_hz=f_min_hz)
