"""Tier 1: supervisor rules, latching, acknowledgement and the event log (no ROS)."""
import json
import math

import pytest

from kaiyo_mission.safety import (
    RULES,
    Action,
    Event,
    EventLog,
    Level,
    MissionLimits,
    SafetyConfigError,
    SensorWatch,
    Supervisor,
    SupervisorConfig,
)

FENCE = [(-100.0, -100.0), (100.0, -100.0), (100.0, 100.0), (-100.0, 100.0)]


def make(**kw):
    cfg = dict(vehicle='hover_auv', max_depth_m=25.0, min_altitude_m=1.0, geofence_xy=FENCE,
               battery_capacity_wh=1500.0, battery_reserve=0.2, return_speed_mps=0.5,
               return_power_w=250.0, heartbeat_timeout_s=5.0, status_timeout_s=3.0,
               sensors=[SensorWatch('dvl', 0.6, 0.8, 3), SensorWatch('imu', 0.5, 0.5, 3)])
    cfg.update(kw)
    sup = Supervisor(SupervisorConfig(**cfg))
    return sup


def nominal(sup, t):
    """Feed healthy inputs at time t."""
    sup.on_status(t, depth=5.0, altitude=3.0, battery_fraction=0.9, leak=False)
    sup.on_position(t, 10.0, 10.0, 5.0)
    sup.on_heartbeat(t)
    sup.on_thrusters(t, ['a', 'b'], [True, True])
    sup.on_sensor(t, 'dvl', (0.1 + t * 1e-3, 0.0, 0.0))
    sup.on_sensor(t, 'imu', (t * 1e-4, 0.0))


def fired(sup, t):
    return [(e.rule, e.action) for e in sup.check(t)]


def test_healthy_vehicle_fires_nothing():
    sup = make()
    for k in range(50):
        t = k * 0.1
        nominal(sup, t)
        assert sup.check(t) == []
    assert sup.commanded_action() is Action.NONE


@pytest.mark.parametrize('rule,breaker,action', [
    ('max_depth', lambda s, t: s.on_position(t, 10.0, 10.0, 26.0), Action.SURFACE),
    ('min_altitude', lambda s, t: s.on_altitude(t, 0.6), Action.SURFACE),
    ('geofence', lambda s, t: s.on_position(t, 150.0, 0.0, 5.0), Action.RETURN),
    ('battery_to_home', lambda s, t: s.on_battery(t, 0.2005), Action.RETURN),
    ('leak', lambda s, t: s.on_leak(t, True), Action.SURFACE),
    ('thruster_fault', lambda s, t: s.on_thrusters(t, ['a', 'b'], [True, False]), Action.SURFACE),
])
def test_instant_rules_fire_on_the_first_check(rule, breaker, action):
    sup = make()
    nominal(sup, 0.0)
    assert sup.check(0.0) == []
    breaker(sup, 0.1)
    events = sup.check(0.1)
    assert [(e.rule, e.action, e.severity) for e in events] == [(rule, action, Level.CRITICAL)]
    assert events[0].latched and events[0].active
    assert sup.commanded_action() is action


def test_watchdog_rules_fire_after_their_timeouts():
    sup = make()
    nominal(sup, 0.0)
    # from t=0 nothing arrives any more except status + position (kept alive)
    hits = {}
    t = 0.0
    while t < 6.0:
        t = round(t + 0.05, 3)
        sup.on_status(t, 5.0, 3.0, 0.9, False)
        for e in sup.check(t):
            hits.setdefault(f'{e.rule}:{e.subject}' if e.subject else e.rule, t)
    assert hits['stale_sensor:imu'] == pytest.approx(0.55, abs=0.051)
    assert hits['stale_sensor:dvl'] == pytest.approx(0.65, abs=0.051)
    assert hits['comms_loss'] == pytest.approx(5.05, abs=0.051)
    assert 'heartbeat_loss' not in hits


def test_status_silence_is_heartbeat_loss():
    sup = make(sensors=[])
    nominal(sup, 0.0)
    sup.on_heartbeat(3.1)
    assert [r for r, _ in fired(sup, 3.1)] == ['heartbeat_loss']


def test_frozen_sensor_needs_identical_readings_over_the_window():
    sup = make()
    nominal(sup, 0.0)
    t = 0.0
    first = None
    while t < 2.0 and first is None:
        t = round(t + 0.1, 3)
        sup.on_sensor(t, 'dvl', (0.25, 0.0, 0.0))     # stuck value, still arriving
        sup.on_sensor(t, 'imu', (t, 0.0))
        sup.on_status(t, 5.0, 3.0, 0.9, False)
        sup.on_heartbeat(t)
        for e in sup.check(t):
            first = (e.rule, e.subject, t)
    assert first[:2] == ('frozen_sensor', 'dvl')
    assert first[2] == pytest.approx(1.0, abs=0.11)   # window 0.8 s after the first stuck sample


def test_mission_limits_tighten_and_timeout_and_comms_action():
    sup = make(max_depth_m=50.0, sensors=[])
    nominal(sup, 0.0)
    sup.set_mission(0.0, MissionLimits(25.0, 1.5, FENCE, 100.0, 0.3, Action.HOLD), 'm')
    assert sup.max_depth() == 25.0 and sup.min_altitude() == 1.5 and sup.reserve() == 0.3
    sup.on_position(1.0, 10.0, 10.0, 30.0)
    assert fired(sup, 1.0) == [('max_depth', Action.SURFACE)]
    sup.on_position(2.0, 10.0, 10.0, 5.0)
    nominal(sup, 100.0)
    assert fired(sup, 100.5) == [('mission_timeout', Action.SURFACE)]
    nominal(sup, 101.0)
    sup.on_status(106.5, 5.0, 3.0, 0.9, False)     # vehicle alive, station silent
    assert fired(sup, 106.5) == [('comms_loss', Action.HOLD)]   # the mission's on_comms_loss
    # a mission can never loosen the configured limits
    sup.set_mission(200.0, MissionLimits(80.0, 0.0, FENCE, 100.0, 0.0, Action.HOLD), 'loose')
    assert sup.max_depth() == 50.0 and sup.min_altitude() == 1.0 and sup.reserve() == 0.2


def test_latching_acknowledge_and_refire():
    sup = make(sensors=[])
    nominal(sup, 0.0)
    sup.on_leak(0.1, True)
    sup.on_position(0.1, 10.0, 10.0, 30.0)
    assert sorted(r for r, _ in fired(sup, 0.1)) == ['leak', 'max_depth']
    assert sup.check(0.2) == []                     # latched: no repeats
    sup.on_leak(0.3, False)                         # a drying sensor does not clear it
    assert sup.commanded_action() is Action.SURFACE
    cleared = sup.acknowledge(1.0, 'leak', 'tanaka')
    assert [(e.rule, e.active, e.severity) for e in cleared] == [('leak', False, Level.INFO)]
    assert 'tanaka' in cleared[0].message
    assert fired(sup, 1.1) == []                    # leak cleared by the operator
    sup.acknowledge(1.2, '', 'tanaka')              # all: max_depth still violated ...
    assert fired(sup, 1.3) == [('max_depth', Action.SURFACE)]   # ... so it fires again


def test_action_priority_surface_beats_return_beats_hold():
    sup = make(actions={**{r: Action.HOLD for r in RULES}, 'geofence': Action.RETURN,
                        'leak': Action.SURFACE})
    nominal(sup, 0.0)
    sup.on_thrusters(0.1, ['a'], [False])
    sup.check(0.1)
    assert sup.commanded_action() is Action.HOLD
    sup.on_position(0.2, 150.0, 0.0, 5.0)
    sup.check(0.2)
    assert sup.commanded_action() is Action.RETURN
    sup.on_leak(0.3, True)
    sup.check(0.3)
    assert sup.commanded_action() is Action.SURFACE


def test_battery_to_home_grows_with_distance():
    sup = make(geofence_xy=None)
    nominal(sup, 0.0)
    sup.on_position(0.0, 10.0, 0.0, 5.0)
    near = sup.energy_to_home_wh()
    sup.on_position(0.0, 1000.0, 0.0, 5.0)
    far = sup.energy_to_home_wh()
    assert far > near > 0
    # 1000 m at 0.5 m/s and 250 W = 138.9 Wh (+ ascent)
    assert far == pytest.approx(1000 / 0.5 * 250 / 3600 + 5 / 0.25 * 150 / 3600)
    sup.on_battery(0.0, 0.2 + far / 1500 + 0.01)
    assert sup.check(0.0) == []
    sup.on_battery(0.1, 0.2 + far / 1500 - 0.01)
    assert [r for r, _ in fired(sup, 0.1)] == ['battery_to_home']


def test_bad_config_raises_specific_errors():
    with pytest.raises(SafetyConfigError, match='max_depth_m'):
        SupervisorConfig('v', max_depth_m=-1.0)
    with pytest.raises(SafetyConfigError, match='battery_reserve'):
        SupervisorConfig('v', battery_reserve=1.0)
    with pytest.raises(SafetyConfigError, match='geofence'):
        SupervisorConfig('v', geofence_xy=[(0, 0), (1, 1), (0, 1), (1, 0)])
    with pytest.raises(SafetyConfigError, match='unknown rules'):
        SupervisorConfig('v', actions={'sharks': Action.HOLD})


def test_event_log_is_json_lines_and_survives_reopen(tmp_path):
    path = tmp_path / 'sub' / 'log.jsonl'
    log = EventLog(path)
    log.append(Event(1.5, 'hover_auv', 'leak', Level.CRITICAL, Action.SURFACE, 'leak detected',
                     1.0, 0.0))
    log.append(Event(2.0, 'hover_auv', 'stale_sensor', Level.CRITICAL, Action.SURFACE, 'x',
                     math.nan, 0.6, subject='dvl'), mission='m1')
    log.close()
    EventLog(path).close()                          # reopening appends, never truncates
    rows = EventLog.read(path)
    assert [r['rule'] for r in rows] == ['leak', 'stale_sensor']
    assert rows[0]['action'] == 'surface' and rows[0]['severity'] == 'critical'
    assert rows[1]['value'] is None and rows[1]['subject'] == 'dvl' and rows[1]['mission'] == 'm1'
    json.loads(path.read_text().splitlines()[0])


def test_altimeter_range_is_converted_to_the_origin_altitude():
    from kaiyo_mission.safety import altitude_from_altimeter
    down = (0.0, 0.0, -1.0)
    # sensor 0.3 m below the origin: the origin is 0.3 m higher than the range says
    assert altitude_from_altimeter(1.2, (0.2, 0.0, -0.3), down) == pytest.approx(1.5)
    tilted = (math.sin(0.3), 0.0, -math.cos(0.3))
    assert altitude_from_altimeter(2.0, (0.0, 0.0, 0.0), tilted) == \
        pytest.approx(2.0 * math.cos(0.3))
    assert math.isnan(altitude_from_altimeter(2.0, (0.0, 0.0, 0.0), (1.0, 0.0, 0.0)))
    assert math.isnan(altitude_from_altimeter(math.inf, (0.0, 0.0, 0.0), down))
