"""Energy integration, JST days, rolling capacity factor / availability (tier 1, no ROS)."""
import math
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kaiyo_plant.energy import (
    EnergyError,
    EnergyLedger,
    capture_width_ratio,
    jst_date,
    jst_midnight_s,
)

T0 = jst_midnight_s(date(2026, 11, 29))   # 00:00 JST


def feed(ledger, samples):
    closed = []
    for t, p, a in samples:
        closed += ledger.add(t, p, a)
    return closed


def test_exact_on_piecewise_constant_power():
    # 10 kW for 1 h, 0 kW for 30 min, 25.5 kW for 15 min, read every 7 s (irregular phase).
    segments = [(0.0, 3600.0, 10.0), (3600.0, 5400.0, 0.0), (5400.0, 6300.0, 25.5)]
    samples = []
    for a, b, p in segments:
        t = a
        while t < b:
            samples.append((T0 + t, p, True))
            t += 7.0
        samples.append((T0 + a, p, True)) if not samples or samples[-1][0] != T0 + a else None
    samples = sorted(set(samples))
    samples.append((T0 + 6300.0, 0.0, True))   # the reading that ends the last segment
    ledger = EnergyLedger(rated_power_kw=45.0, max_gap_s=10.0)
    feed(ledger, samples)
    expected = 10.0 * 1.0 + 0.0 + 25.5 * 0.25
    assert ledger.energy_total_kwh == pytest.approx(expected, rel=1e-12)
    assert ledger.energy_on(date(2026, 11, 29)) == pytest.approx(expected, rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0.1, 9.0), st.floats(0.0, 50.0)), min_size=1, max_size=60))
def test_exact_for_any_change_times(steps):
    """Property: sampled at each change, the ledger books exactly Σ P_i Δt_i."""
    ledger = EnergyLedger(rated_power_kw=45.0, max_gap_s=10.0)
    t, expected = T0, 0.0
    for dt, p in steps:
        ledger.add(t, p, True)
        t_next = t + dt        # durations as the stamps represent them (Unix s in float64)
        expected += p * (t_next - t) / 3600.0
        t = t_next
    ledger.add(t, 0.0, True)
    assert ledger.energy_total_kwh == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert sum(ledger.daily_kwh.values()) == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_gaps_book_nothing_and_are_counted():
    ledger = EnergyLedger(rated_power_kw=45.0, max_gap_s=10.0)
    feed(ledger, [(T0, 36.0, True), (T0 + 5, 36.0, True), (T0 + 305, 36.0, True),
                  (T0 + 310, 0.0, True)])
    assert ledger.energy_total_kwh == pytest.approx(36.0 * 10 / 3600)
    assert ledger.gap_s == pytest.approx(300.0)
    ledger.mark_gap(T0 + 400)      # stale device: the held value stops counting
    ledger.add(T0 + 405, 0.0, True)
    assert ledger.energy_total_kwh == pytest.approx(36.0 * 10 / 3600)


def test_days_split_at_jst_midnight_not_utc():
    ledger = EnergyLedger(rated_power_kw=45.0, max_gap_s=3600.0)
    ledger.add(T0 - 1800.0, 10.0, True)    # 23:30 JST on the 28th
    ledger.add(T0 + 1800.0, 0.0, True)     # 00:30 JST on the 29th
    assert ledger.energy_on(date(2026, 11, 28)) == pytest.approx(5.0)
    assert ledger.energy_on(date(2026, 11, 29)) == pytest.approx(5.0)
    # 00:00 JST is 15:00 UTC of the previous day.
    assert jst_date(T0) == date(2026, 11, 29)
    assert jst_date(T0 - 1) == date(2026, 11, 28)


def test_capacity_factor_availability_rolling_24h():
    ledger = EnergyLedger(rated_power_kw=40.0, max_gap_s=120.0)
    t = T0
    # 12 h at 20 kW, breaker closed; then 12 h at 0 kW with the breaker open (unavailable).
    while t < T0 + 12 * 3600:
        ledger.add(t, 20.0, True)
        t += 60.0
    while t <= T0 + 24 * 3600:
        ledger.add(t, 0.0, False)
        t += 60.0
    now = T0 + 24 * 3600
    assert ledger.capacity_factor(now) == pytest.approx(0.25, rel=1e-6)
    assert ledger.availability(now) == pytest.approx(0.5, rel=1e-6)
    # A further 12 h later the first half has left the window.
    while t <= T0 + 36 * 3600:
        ledger.add(t, 0.0, False)
        t += 60.0
    assert ledger.capacity_factor(T0 + 36 * 3600) == pytest.approx(0.0, abs=1e-9)
    assert ledger.availability(T0 + 36 * 3600) == pytest.approx(0.0, abs=1e-9)


def test_closed_bins_are_handed_out_once_in_order():
    ledger = EnergyLedger(rated_power_kw=45.0, max_gap_s=10.0)
    closed = feed(ledger, [(T0 + i, 6.0, True) for i in range(0, 185)])
    assert [b.start_s - T0 for b in closed] == [0.0, 60.0, 120.0]
    assert all(b.known_s == pytest.approx(60.0) for b in closed)
    assert closed[0].mean_power_kw == pytest.approx(6.0)
    assert feed(ledger, [(T0 + 185, 6.0, True)]) == []


def test_bad_readings_raise_and_book_nothing():
    ledger = EnergyLedger(rated_power_kw=45.0)
    ledger.add(T0 + 10, 5.0, True)
    with pytest.raises(EnergyError, match='not after the previous'):
        ledger.add(T0 + 10, 5.0, True)
    with pytest.raises(EnergyError, match='non-finite'):
        ledger.add(T0 + 11, math.nan, True)
    with pytest.raises(ValueError, match='rated_power_kw'):
        EnergyLedger(rated_power_kw=0.0)
    with pytest.raises(ValueError, match='bin_s'):
        EnergyLedger(rated_power_kw=1.0, bin_s=7.0)


def test_capture_width_ratio():
    assert capture_width_ratio(10.0, 5.0, 4.0) == pytest.approx(0.5)
    assert math.isnan(capture_width_ratio(10.0, math.nan, 4.0))
    assert math.isnan(capture_width_ratio(10.0, 0.0, 4.0))
    with pytest.raises(ValueError, match='width'):
        capture_width_ratio(1.0, 1.0, 0.0)
