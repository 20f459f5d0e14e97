"""Plant monitor node in-process: readings in, status / sea state / history out (tier 2)."""
import math
from datetime import date

import pytest
from rclpy.parameter import Parameter

from kaiyo_common import qos
from kaiyo_common.params import ParameterContractError
from kaiyo_common.testing import Probe, ros_context
from kaiyo_interfaces.msg import NamedReadings, PlantStatus, SeaState
from kaiyo_plant.energy import jst_midnight_s
from kaiyo_plant.history import read_day, read_state
from kaiyo_plant.monitor_node import PlantMonitorNode
from kaiyo_plant.waves import WaveComponents

T0 = jst_midnight_s(date(2026, 11, 29)) + 10 * 3600.0   # 10:00 JST
NAMES = ['generator_speed_rpm', 'generator_voltage_v', 'generator_current_a', 'power_kw',
         'rudder_angle_deg', 'generator_temperature_c', 'generator_state',
         'wave_elevation_m', 'energy_total_kwh', 'breaker_closed']


def readings_msg(t, eta, power=12.0, speed=900.0, age=0.1):
    m = NamedReadings()
    m.header.stamp.sec = int(t)
    m.header.stamp.nanosec = int((t % 1) * 1e9)
    m.device = 'plant'
    m.names = NAMES
    m.values = [speed, 240.0, 30.0, power, 4.0, 45.0, 1.0, eta, 100.0, 1.0]
    m.units = ['rpm', 'V', 'A', 'kW', 'deg', 'degC', '', 'm', 'kWh', '']
    m.valid = [True] * len(NAMES)
    m.age_s = age
    return m


def make_node(ctx, tmp_path, **over):
    params = {'data_dir': str(tmp_path), 'stale_after_s': 1.0, 'status_rate_hz': 10.0,
              'sea_state_period_s': 150.0, 'sea_state_record_s': 300.0,
              'sea_state_segment_s': 64.0, 'water_depth_m': 20.0, 'alarm_delay_s': 1.0,
              **over}
    return PlantMonitorNode(context=ctx, namespace='/plant', parameter_overrides=[
        Parameter(k, value=v) for k, v in params.items()])


def test_status_sea_state_history_and_stale(tmp_path):
    with ros_context() as ctx:
        node = make_node(ctx, tmp_path)
        probe = Probe(ctx)
        status = probe.collect(PlantStatus, '/plant/status')
        seas = probe.collect(SeaState, '/tower/sea_state', qos.LATCHED)
        pub = probe.node.create_publisher(NamedReadings, '/plant/readings', qos.RELIABLE)
        assert probe.wait_for_subscribers(pub, nodes=[node])
        waves = WaveComponents.from_jonswap(0.8, 6.0, seed=3, duration_s=300.0, f_max_hz=0.7)
        received = []
        node.create_subscription(NamedReadings, '/plant/readings', received.append,
                                 qos.RELIABLE)
        # 8 minutes of 2-Hz readings at over-speed, fed in data time (fast).
        for i in range(960):
            t = T0 + i * 0.5
            pub.publish(readings_msg(t, float(waves.elevation(i * 0.5)[0]), speed=1900.0))
            assert probe.spin_until(lambda i=i: len(received) > i, 5.0, nodes=[node])
        n = len(status)    # wait for a status published after the last reading
        assert probe.spin_until(lambda: seas and len(status) > n + 1, 5.0, nodes=[node])
        st = status[-1]
        assert st.power_kw == pytest.approx(12.0)
        assert st.energy_total_kwh == pytest.approx(12.0 * 479.5 / 3600.0)
        assert st.energy_today_kwh == pytest.approx(st.energy_total_kwh)
        assert st.active_alarms == ['over_speed']
        assert st.generator_state == PlantStatus.GENERATOR_RUNNING and st.breaker_closed
        assert seas[-1].hs_m == pytest.approx(0.8, rel=0.05)
        assert seas[-1].source == 'plant_gauge' and seas[-1].record_duration_s == 300.0
        assert math.isfinite(st.capture_width_ratio)
        # History: closed minute bins and the sea states are on disk, totals in state.json.
        day = read_day(tmp_path, date(2026, 11, 29))
        assert len(day.minutes) == 7 and len(day.sea_states) == len(seas) >= 1
        assert read_state(tmp_path)['energy_total_kwh'] == pytest.approx(
            sum(m['energy_kwh'] for m in day.minutes))
        # No more readings: stale_data is raised on the node clock.
        assert probe.spin_until(lambda: 'stale_data' in status[-1].active_alarms, 5.0,
                                nodes=[node])
        assert status[-1].data_stale
        # Fresh readings clear it.
        pub.publish(readings_msg(T0 + 600.0, 0.0))
        assert probe.spin_until(lambda: not status[-1].data_stale, 5.0, nodes=[node])
        node.shutdown()
        node.destroy_node()
        probe.destroy()


def test_restart_restores_totals_and_drops_malformed_messages(tmp_path):
    with ros_context() as ctx:
        node = make_node(ctx, tmp_path)
        for i in range(200):
            node.on_readings(readings_msg(T0 + i, 0.0))
        assert node.monitor.ledger.energy_total_kwh == pytest.approx(12.0 * 199 / 3600)
        node.shutdown()
        node.destroy_node()
        node2 = make_node(ctx, tmp_path)
        # Three closed minutes were persisted; the open one (19 s) is not on disk.
        assert node2.monitor.ledger.energy_total_kwh == pytest.approx(12.0 * 180 / 3600)
        bad = readings_msg(T0 + 300, 0.0)
        bad.values = [1.0]
        node2.on_readings(bad)
        assert node2.dropped == 1
        node2.shutdown()
        node2.destroy_node()


@pytest.mark.parametrize('over,name', [
    ({'rated_power_kw': -1.0}, 'rated_power_kw'),
    ({'over_speed_rpm': 100.0, 'over_speed_clear_rpm': 200.0}, 'over_speed_clear_rpm'),
    ({'sea_state_record_s': 100.0}, 'sea_state_record_s'),
    ({'sea_state_kind': 'wind'}, 'sea_state_kind'),
])
def test_bad_parameters_are_refused(tmp_path, over, name):
    with ros_context() as ctx:
        with pytest.raises(ParameterContractError) as info:
            make_node(ctx, tmp_path, **over)
        assert info.value.name == name
