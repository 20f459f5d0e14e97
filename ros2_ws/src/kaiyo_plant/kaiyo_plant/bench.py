"""`make bench` figures for kaiyo_plant, each beside a baseline measured in the same run.

- Sea-state analysis of a 30-min record (Welch, moments, finite-depth flux) against one plain
  numpy FFT of the same record: the analysis runs every 10 min on the monitor, so the goal
  is only that it stays a small multiple of the cheapest possible spectral step.
- Energy booking of one day of 1-Hz power readings (the ledger, with JST days and rolling
  bins) against a bare Python loop summing P·Δt over the same readings.
"""
from __future__ import annotations

import numpy as np

from kaiyo_common.bench import Figure, time_call
from kaiyo_plant.energy import EnergyLedger
from kaiyo_plant.spectra import analyze_elevation, analyze_pressure
from kaiyo_plant.waves import WaveComponents


def run(quick: bool = False) -> list[Figure]:
    repeat = 3 if quick else 9
    fs = 2.0
    t = np.arange(0.0, 1800.0, 1.0 / fs)
    waves = WaveComponents.from_jonswap(1.0, 8.0, seed=0, duration_s=1800.0, f_max_hz=0.8)
    eta = waves.elevation(t)
    p = waves.pressure(t, 20.0, 8.0)
    fft = time_call(lambda: np.fft.rfft(eta), repeat=repeat * 5)
    elev = time_call(lambda: analyze_elevation(eta, fs, 20.0), repeat=repeat)
    pres = time_call(lambda: analyze_pressure(p, fs, 20.0), repeat=repeat)
    figs = [
        Figure('plant: sea state of a 30-min 2-Hz elevation record', elev * 1e3, 'ms',
               'numpy rfft of the record (ms)', fft * 1e3, goal='<= 50 x the plain FFT',
               met=elev <= 50 * fft),
        Figure('plant: sea state of a 30-min 2-Hz pressure record (depth-corrected)',
               pres * 1e3, 'ms', 'numpy rfft of the record (ms)', fft * 1e3,
               goal='<= 50 x the plain FFT', met=pres <= 50 * fft),
    ]
    n = 3600 if quick else 86400
    ts = 1.8e9 + np.arange(n, dtype=float)
    ps = (20.0 + 10.0 * np.sin(ts / 600.0)).tolist()
    ts_l = ts.tolist()

    def ledger():
        led = EnergyLedger(rated_power_kw=45.0)
        for ti, pi in zip(ts_l, ps, strict=True):
            led.add(ti, pi, True)

    def bare():
        e, t0, p0 = 0.0, ts_l[0], ps[0]
        for ti, pi in zip(ts_l[1:], ps[1:], strict=True):
            e += p0 * (ti - t0) / 3600.0
            t0, p0 = ti, pi
        return e

    led_t = time_call(ledger, repeat=3 if quick else 3)
    bare_t = time_call(bare, repeat=3 if quick else 3)
    figs.append(Figure(f'plant: energy ledger, {n} power readings (readings/s)', n / led_t,
                       'readings/s', 'bare P*dt loop (readings/s)', n / bare_t,
                       goal='>= 1000 readings/s (1000 x a 1-Hz poll)',
                       met=n / led_t >= 1000))
    return figs
