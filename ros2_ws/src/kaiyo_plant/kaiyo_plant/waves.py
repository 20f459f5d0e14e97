"""Linear wave physics used across kaiyo_plant (pure numpy, no rclpy).

- Dispersion ω² = g k tanh(k h), solved by Newton from Eckart's approximation; group velocity
  c_g = (ω/k)/2 · (1 + 2kh / sinh 2kh), which tends to g/(2ω) in deep water and √(gh) in
  shallow water.
- Pressure transfer K_p(f) = cosh(k (h - d)) / cosh(k h): the fraction of the surface
  elevation's dynamic pressure ρ g η felt by a sensor at depth d below the mean surface.
- JONSWAP spectrum S(f) (Hasselmann et al. 1973) scaled so that 4 √m0 = Hs exactly on the
  frequency grid used, with peak enhancement γ (3.3 by default) and widths σ = 0.07 / 0.09.
- Random-phase synthesis of elevation records from a spectrum. By default the component
  amplitudes are deterministic (a_i = √(2 S_i Δf)) with uniform random phases, as wave
  basins do: the record then carries exactly the target variance, so tests measure the
  estimator rather than the ±7 % sampling scatter of Hs that a 30-min Gaussian sea shows.
  `random_amplitudes=True` draws Rayleigh amplitudes (a Gaussian sea) for realism.

kaiyo_sim had no wave synthesizer when this was written; this is kaiyo_plant's own.
"""
from __future__ import annotations

import math

import numpy as np

G = 9.80665          # standard gravity, m/s^2
RHO_SEAWATER = 1025.0  # sea-water density, kg/m^3


class WaveInputError(ValueError):
    """A wave-physics argument is out of its domain (negative depth, Hs <= 0, ...)."""


def _positive(name: str, value: float) -> float:
    value = float(value)
    if not math.isfinite(value) or value <= 0.0:
        raise WaveInputError(f'{name} must be a positive finite number, got {value!r}')
    return value


def wavenumber(f_hz, depth_m: float) -> np.ndarray:
    """Wavenumber k (rad/m) for frequency f (Hz) in water of depth h (m); k(0) = 0.

    depth_m = inf gives deep water, k = ω²/g.
    """
    f = np.asarray(f_hz, dtype=float)
    if np.any(f < 0) or not np.all(np.isfinite(f)):
        raise WaveInputError('frequencies must be finite and >= 0 Hz')
    omega = 2.0 * np.pi * f
    k_deep = omega ** 2 / G
    if math.isinf(depth_m):
        return k_deep
    h = _positive('depth_m', depth_m)
    # Eckart (1952) start, within ~5 %, then Newton on F(k) = g k tanh(kh) - ω².
    with np.errstate(divide='ignore', invalid='ignore'):
        k = np.where(omega > 0, k_deep / np.sqrt(np.tanh(k_deep * h)), 0.0)
    for _ in range(30):
        th = np.tanh(k * h)
        resid = G * k * th - omega ** 2
        slope = G * th + G * k * h * (1.0 - th ** 2)
        with np.errstate(divide='ignore', invalid='ignore'):
            step = np.where(slope > 0, resid / slope, 0.0)
        k = k - step
        if np.all(np.abs(step) <= 1e-12 * np.maximum(k, 1e-12)):
            break
    return k


def group_velocity(f_hz, depth_m: float) -> np.ndarray:
    """Group velocity c_g (m/s); at f = 0 the shallow-water limit √(gh) (or inf in deep water)."""
    f = np.asarray(f_hz, dtype=float)
    k = wavenumber(f, depth_m)
    omega = 2.0 * np.pi * f
    out = np.empty_like(f)
    pos = k > 0
    if math.isinf(depth_m):
        out[pos] = 0.5 * omega[pos] / k[pos]
        out[~pos] = np.inf
        return out
    kh = k[pos] * depth_m
    # 2kh/sinh(2kh) underflows gracefully to 0 for large kh (deep water).
    with np.errstate(over='ignore'):
        n = 0.5 * (1.0 + 2.0 * kh / np.sinh(2.0 * kh))
    out[pos] = n * omega[pos] / k[pos]
    out[~pos] = math.sqrt(G * depth_m)
    return out


def pressure_transfer(f_hz, depth_m: float, sensor_depth_m: float) -> np.ndarray:
    """K_p(f) = cosh(k (h - d)) / cosh(k h) for a sensor at depth d (m) below the mean surface."""
    h = _positive('depth_m', depth_m)
    d = float(sensor_depth_m)
    if not (0.0 <= d <= h):
        raise WaveInputError(f'sensor depth {d!r} m must lie between the surface (0) and the '
                             f'bed ({h} m)')
    k = wavenumber(f_hz, h)
    # exp form avoids overflow of cosh at large kh: cosh(a)/cosh(b) with a <= b.
    a, b = k * (h - d), k * h
    return (np.exp(a - b) * (1.0 + np.exp(-2.0 * a))) / (1.0 + np.exp(-2.0 * b))


def jonswap(f_hz, hs_m: float, tp_s: float, gamma: float = 3.3) -> np.ndarray:
    """JONSWAP variance density S(f) in m²/Hz, scaled so 4 √(∫S df) = Hs on a fine grid.

    The scaling integrates the shape on its own fine grid (0..10 fp), so S(f) at any given
    frequencies is the same function whatever grid the caller uses.
    """
    hs = _positive('hs_m', hs_m)
    tp = _positive('tp_s', tp_s)
    gamma = _positive('gamma', gamma)
    fp = 1.0 / tp
    fine = np.linspace(fp * 0.05, fp * 10.0, 20000)
    scale = (hs / 4.0) ** 2 / np.trapezoid(_jonswap_shape(fine, fp, gamma), fine)
    return scale * _jonswap_shape(np.asarray(f_hz, dtype=float), fp, gamma)


def _jonswap_shape(f: np.ndarray, fp: float, gamma: float) -> np.ndarray:
    out = np.zeros_like(f)
    pos = f > 0
    fr = f[pos] / fp
    sigma = np.where(f[pos] <= fp, 0.07, 0.09)
    r = np.exp(-((fr - 1.0) ** 2) / (2.0 * sigma ** 2))
    out[pos] = fr ** -5 * np.exp(-1.25 * fr ** -4) * gamma ** r
    return out


class WaveComponents:
    """A linear sea as a sum of cosines: η(t) = Σ a_i cos(2π f_i t + φ_i).

    Built from a spectrum on a uniform grid of `n` frequencies from f_min to f_max (Hz).
    `elevation(t)` and `pressure(t, ...)` evaluate the record at any times, so a simulator
    can step it in real time and a test can make a 30-min record in one call.
    """

    def __init__(self, freqs_hz: np.ndarray, amplitudes_m: np.ndarray, phases_rad: np.ndarray,
                 directions_deg: np.ndarray | None = None):
        self.freqs_hz = np.asarray(freqs_hz, dtype=float)
        self.amplitudes_m = np.asarray(amplitudes_m, dtype=float)
        self.phases_rad = np.asarray(phases_rad, dtype=float)
        n = self.freqs_hz.size
        if self.amplitudes_m.shape != (n,) or self.phases_rad.shape != (n,):
            raise WaveInputError('freqs, amplitudes and phases must be 1-D arrays of one length')
        # Direction waves travel TOWARD is not stored; we keep the compass direction they
        # come FROM (degrees clockwise from north), as SeaState reports it.
        self.directions_deg = (np.zeros(n) if directions_deg is None
                               else np.asarray(directions_deg, dtype=float))

    @classmethod
    def from_jonswap(cls, hs_m: float, tp_s: float, gamma: float = 3.3, seed: int = 0,
                     duration_s: float = 1800.0, f_max_hz: float = 1.0,
                     random_amplitudes: bool = False,
                     direction_from_deg: float | None = None,
                     spread_deg: float = 0.0) -> WaveComponents:
        """Components with frequency spacing 1/duration, so a record of `duration_s` has no
        repeat period shorter than itself (the record is periodic over exactly duration_s)."""
        duration = _positive('duration_s', duration_s)
        df = 1.0 / duration
        freqs = np.arange(1, int(f_max_hz / df) + 1) * df
        spec = jonswap(freqs, hs_m, tp_s, gamma)
        rng = np.random.default_rng(seed)
        phases = rng.uniform(0.0, 2.0 * np.pi, freqs.size)
        amps = np.sqrt(2.0 * spec * df)
        if random_amplitudes:
            # Rayleigh(σ=1/√2) has mean square 1: the expected variance stays Σ a_i²/2.
            amps = amps * rng.rayleigh(scale=np.sqrt(0.5), size=freqs.size)
        dirs = None
        if direction_from_deg is not None:
            dirs = direction_from_deg + rng.uniform(-spread_deg, spread_deg, freqs.size)
        keep = amps > 1e-9 * max(amps.max(), 1e-30)  # drop components with no energy
        return cls(freqs[keep], amps[keep], phases[keep], None if dirs is None else dirs[keep])

    def elevation(self, t_s) -> np.ndarray:
        """Surface elevation η (m) at times t (s)."""
        t = np.atleast_1d(np.asarray(t_s, dtype=float))
        return self._sum(t, self.amplitudes_m)

    def pressure(self, t_s, depth_m: float, sensor_depth_m: float,
                 rho: float = RHO_SEAWATER, atmospheric_pa: float = 101325.0) -> np.ndarray:
        """Absolute pressure (Pa) at a sensor at depth d: p_atm + ρ g (d + Σ K_p a cos(...))."""
        kp = pressure_transfer(self.freqs_hz, depth_m, sensor_depth_m)
        t = np.atleast_1d(np.asarray(t_s, dtype=float))
        return atmospheric_pa + rho * G * (sensor_depth_m + self._sum(t, self.amplitudes_m * kp))

    def velocities(self, t_s, depth_m: float, z_m: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """Horizontal orbital velocity (east, north) in m/s at height z (m, 0 = mean surface,
        negative down). Waves coming FROM compass direction D travel toward D + 180°."""
        t = np.atleast_1d(np.asarray(t_s, dtype=float))
        k = wavenumber(self.freqs_hz, depth_m)
        omega = 2.0 * np.pi * self.freqs_hz
        with np.errstate(over='ignore'):
            att = np.cosh(k * (depth_m + z_m)) / np.sinh(k * depth_m)
        speed_amp = omega * self.amplitudes_m * att
        toward = np.deg2rad(self.directions_deg + 180.0)
        east = self._sum(t, speed_amp * np.sin(toward))
        north = self._sum(t, speed_amp * np.cos(toward))
        return east, north

    def _sum(self, t: np.ndarray, amps: np.ndarray) -> np.ndarray:
        out = np.empty(t.size)
        # Chunk so the (times x components) phase matrix stays a few MB.
        chunk = max(1, 2_000_000 // max(1, self.freqs_hz.size))
        w = 2.0 * np.pi * self.freqs_hz
        for i in range(0, t.size, chunk):
            tt = t[i:i + chunk, None]
            out[i:i + chunk] = np.cos(tt * w + self.phases_rad) @ amps
        return out
