"""Hysteresis alarms: no chatter on noise near the threshold (tier 1, no ROS)."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kaiyo_plant.alarms import AlarmBank, AlarmSpec, AlarmTransition, HysteresisAlarm


def noisy_near_threshold(seed, n=6000, dt=0.5, level=100.0, noise=3.0):
    rng = np.random.default_rng(seed)
    return np.arange(n) * dt, level + rng.normal(0.0, noise, n)


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_no_chatter_on_noise_at_the_threshold(seed):
    t, x = noisy_near_threshold(seed)
    naive = int(np.sum(np.diff((x >= 100.0).astype(int)) != 0))
    alarm = HysteresisAlarm(AlarmSpec('over_temperature', raise_at=100.0, clear_at=90.0,
                                      raise_delay_s=2.0, clear_delay_s=2.0,
                                      min_on_s=10.0, min_off_s=10.0))
    for ti, xi in zip(t, x, strict=True):
        alarm.update(ti, xi)
    assert naive > 1000                   # a plain threshold toggles on every other sample
    assert alarm.transitions <= 1         # raised once, and the noise never clears it
    assert alarm.active


def test_raises_on_a_real_excursion_and_clears_after_it():
    alarm = HysteresisAlarm(AlarmSpec('over_speed', 1800.0, 1700.0, raise_delay_s=2.0,
                                      clear_delay_s=2.0, min_on_s=10.0, min_off_s=10.0))
    rng = np.random.default_rng(4)
    events = []
    for i in range(400):
        t = i * 0.5
        base = 1900.0 if 40 <= t < 80 else 1500.0
        tr = alarm.update(t, base + rng.normal(0, 20))
        if tr:
            events.append((t, tr))
    assert [e[1] for e in events] == [AlarmTransition.RAISED, AlarmTransition.CLEARED]
    assert 42.0 <= events[0][0] <= 43.0      # after the 2-s persistence
    assert 82.0 <= events[1][0] <= 83.0


def test_single_spike_does_not_raise_and_min_on_holds():
    spec = AlarmSpec('over_voltage', 480.0, 460.0, raise_delay_s=2.0, min_on_s=10.0)
    alarm = HysteresisAlarm(spec)
    assert alarm.update(0.0, 500.0) is None
    assert alarm.update(0.5, 400.0) is None     # spike gone before the delay
    assert not alarm.active
    for t in (10.0, 11.0, 12.0):
        alarm.update(t, 500.0)
    assert alarm.active
    assert alarm.update(13.0, 400.0) is None    # min_on_s keeps it on
    assert alarm.update(22.0, 400.0) is AlarmTransition.CLEARED


def test_low_alarm_and_nan_is_ignored():
    alarm = HysteresisAlarm(AlarmSpec('low_voltage', 200.0, 220.0, high=False))
    assert alarm.update(0.0, 150.0) is AlarmTransition.RAISED
    assert alarm.update(1.0, math.nan) is None and alarm.active
    assert alarm.update(2.0, 210.0) is None      # inside the band
    assert alarm.update(3.0, 230.0) is AlarmTransition.CLEARED


def test_bank_reports_names_and_bad_specs_raise():
    bank = AlarmBank({'generator_speed_rpm': AlarmSpec('over_speed', 10.0, 5.0)})
    assert bank.update(0.0, {'generator_speed_rpm': 12.0}) == [
        ('over_speed', AlarmTransition.RAISED)]
    assert bank.active == ['over_speed']
    with pytest.raises(ValueError, match='clear_at 11.0 must be <= raise_at 10.0'):
        AlarmSpec('x', 10.0, 11.0)
    with pytest.raises(ValueError, match='min_on_s must be >= 0'):
        AlarmSpec('x', 10.0, 9.0, min_on_s=-1.0)



@settings(max_examples=50, deadline=None)
@given(centre=st.floats(85.0, 105.0), seed=st.integers(0, 10_000))
def test_noise_narrower_than_the_band_changes_state_at_most_once(centre, seed):
    """Property: noise spanning less than the hysteresis band (10) cannot chatter,
    wherever it sits relative to the two levels."""
    rng = np.random.default_rng(seed)
    x = centre + rng.uniform(-4.9, 4.9, 2000)
    alarm = HysteresisAlarm(AlarmSpec('a', raise_at=100.0, clear_at=90.0))
    for i, xi in enumerate(x):
        alarm.update(i * 0.5, xi)
    assert alarm.transitions <= 1
