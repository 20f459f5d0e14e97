"""Tier 1: PID, reference model."""
import math

import pytest

from kaiyo_control.pid import ControlConfigError, Pid, PidGains, ReferenceLimits, ReferenceModel


def test_gains_and_inputs_are_checked():
    with pytest.raises(ControlConfigError, match='kp'):
        PidGains(-1.0, 0.0, 0.0, 1.0, 1.0)
    with pytest.raises(ControlConfigError, match='out_limit'):
        PidGains(1.0, 0.0, 0.0, 1.0, 0.0)
    pid = Pid(PidGains(1.0, 1.0, 0.0, 1.0, 10.0))
    with pytest.raises(ControlConfigError, match='dt'):
        pid.update(1.0, 0.0, 0.0)
    with pytest.raises(ControlConfigError, match='non-finite'):
        pid.update(math.nan, 0.0, 0.1)


def test_anti_windup_limits_and_recovers_fast():
    pid = Pid(PidGains(kp=10.0, ki=5.0, kd=0.0, i_limit=4.0, out_limit=12.0))
    for _ in range(1000):                       # long saturation with a big error
        out = pid.update(5.0, 0.0, 0.01)
    assert out == pytest.approx(12.0)
    assert pid.saturated
    assert abs(pid.integral) <= 4.0 + 1e-9      # not wound up beyond its clamp
    # error reverses: output follows within one step, no wind-up delay
    assert pid.update(-0.5, 0.0, 0.01) < 0.0


def test_feed_forward_adds_outside_the_limit():
    pid = Pid(PidGains(1.0, 0.0, 0.0, 0.0, 2.0))
    assert pid.update(10.0, 0.0, 0.01, feed_forward=5.0) == pytest.approx(7.0)


def test_derivative_uses_given_rate():
    pid = Pid(PidGains(0.0, 0.0, 3.0, 0.0, 100.0))
    assert pid.update(0.0, -2.0, 0.01) == pytest.approx(-6.0)


def test_reference_respects_rate_and_accel_limits_and_arrives():
    ref = ReferenceModel(ReferenceLimits(1.0, max_rate=0.3, max_accel=0.15))
    ref.reset(0.0)
    rates, accels = [], []
    for _ in range(3000):
        r, rd, rdd = ref.update(2.0, 0.01)
        rates.append(rd)
        accels.append(rdd)
    assert max(abs(v) for v in rates) <= 0.3 + 1e-9
    assert max(abs(a) for a in accels) <= 0.15 + 1e-6
    assert r == pytest.approx(2.0, abs=1e-3)
    assert max(ref.r for _ in [0]) <= 2.0 + 1e-3


def test_angular_reference_turns_the_short_way():
    ref = ReferenceModel(ReferenceLimits(1.0, 0.5, 0.5), angular=True)
    ref.reset(math.radians(170))
    ref.update(math.radians(-170), 0.1)
    assert ref.r_dot > 0          # +20 deg through 180, not -340 deg


def test_hold_near_limits_lead():
    ref = ReferenceModel(ReferenceLimits(1.0, 0.5, 0.5), angular=True)
    ref.reset(0.0)
    ref.r = 2.0
    ref.hold_near(0.0, 0.5)
    assert ref.r == pytest.approx(0.5)
