"""ROS node: the plant monitor. /plant/readings in; /plant/status and /tower/sea_state out.

Thin wrapper around kaiyo_plant.monitor.PlantMonitor: converts NamedReadings to dicts,
feeds the core, publishes PlantStatus at `status_rate_hz`, publishes each sea state, logs
alarm transitions, and persists one-minute energy bins and sea states to the history under
`data_dir` (kaiyo_plant.history), from which it restores its totals on restart.
Run in namespace /plant (topics `readings`, `status` are relative).
"""
from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path

from rclpy.node import Node

from kaiyo_common import qos
from kaiyo_common.node_main import run_node
from kaiyo_common.params import ParameterContractError, ParamSpec
from kaiyo_common.ros_params import declare_contract
from kaiyo_interfaces.msg import NamedReadings, PlantStatus, SeaState
from kaiyo_plant.alarms import AlarmTransition
from kaiyo_plant.energy import jst_date
from kaiyo_plant.history import (
    HistoryError,
    HistoryWriter,
    default_data_dir,
    minute_line,
    read_day,
    read_state,
    recent_bins,
    sea_state_line,
)
from kaiyo_plant.monitor import MonitorConfig, MonitorConfigError, PlantMonitor, Update

SPECS = [
    ParamSpec('rated_power_kw', 'float', 'Plant rated (nameplate) power, kW', 45.0,
              min_value=0.1, max_value=1e5),
    ParamSpec('device_width_m', 'float', 'Device width for the capture-width ratio, m', 5.0,
              min_value=0.1, max_value=1000.0),
    ParamSpec('max_gap_s', 'float', 'Longer gaps between power readings book no energy, s',
              10.0, min_value=0.1, max_value=3600.0),
    ParamSpec('stale_after_s', 'float', 'Readings older than this raise stale_data, s', 5.0,
              min_value=0.1, max_value=3600.0),
    ParamSpec('over_speed_rpm', 'float', 'over_speed raises at this generator speed, rpm',
              1800.0, min_value=0.0),
    ParamSpec('over_speed_clear_rpm', 'float', 'over_speed clears below this speed, rpm',
              1700.0, min_value=0.0),
    ParamSpec('over_voltage_v', 'float', 'over_voltage raises at this line voltage, V', 480.0,
              min_value=0.0),
    ParamSpec('over_voltage_clear_v', 'float', 'over_voltage clears below this voltage, V',
              460.0, min_value=0.0),
    ParamSpec('over_temperature_c', 'float', 'over_temperature raises at this winding '
              'temperature, degC', 110.0, min_value=-50.0, max_value=300.0),
    ParamSpec('over_temperature_clear_c', 'float', 'over_temperature clears below this, degC',
              100.0, min_value=-50.0, max_value=300.0),
    ParamSpec('alarm_delay_s', 'float', 'A level must persist this long to raise or clear '
              'an alarm, s', 2.0, min_value=0.0, max_value=3600.0),
    ParamSpec('alarm_min_on_s', 'float', 'An alarm stays raised at least this long, s', 10.0,
              min_value=0.0, max_value=86400.0),
    ParamSpec('alarm_min_off_s', 'float', 'An alarm stays cleared at least this long, s', 10.0,
              min_value=0.0, max_value=86400.0),
    ParamSpec('sea_state_reading', 'str', "Reading analysed for the sea state (e.g. "
              "wave_elevation_m, m; or a pressure in Pa); '' = take the sea state from "
              "sea_state_topic instead", 'wave_elevation_m'),
    ParamSpec('sea_state_kind', 'str', 'What sea_state_reading is: surface elevation (m) or '
              'absolute pressure at a fixed sensor (Pa)', 'elevation',
              choices=('elevation', 'pressure')),
    ParamSpec('sea_state_source', 'str', 'Name put in SeaState.source', 'plant_gauge'),
    ParamSpec('sea_state_topic', 'str', 'SeaState topic (published, or read when '
              'sea_state_reading is empty)', '/tower/sea_state'),
    ParamSpec('sea_state_period_s', 'float', 'A sea state every this much data time, s',
              600.0, min_value=10.0, max_value=86400.0),
    ParamSpec('sea_state_record_s', 'float', 'Length of the analysed record, s', 1800.0,
              min_value=60.0, max_value=86400.0),
    ParamSpec('sea_state_segment_s', 'float', 'Welch segment length (1/frequency '
              'resolution), s', 256.0, min_value=16.0, max_value=3600.0),
    ParamSpec('sea_state_max_gap_samples', 'float', 'Gaps up to this many sample steps are '
              'interpolated; longer ones void the record, samples', 3.0, min_value=1.0,
              max_value=100.0),
    ParamSpec('water_depth_m', 'float', 'Water depth at the wave gauge (flux and pressure '
              'corrections), m', 6.0, min_value=0.5, max_value=11000.0),
    ParamSpec('atmospheric_pa', 'float', 'Atmospheric pressure subtracted from a pressure '
              'reading, Pa', 101325.0, min_value=0.0, max_value=120000.0),
    ParamSpec('status_rate_hz', 'float', 'PlantStatus publish rate, Hz', 1.0, min_value=0.01,
              max_value=50.0),
    ParamSpec('data_dir', 'str', "History directory; '' = $KAIYO_DATA_DIR/plant or "
              "~/.local/share/kaiyo/plant", ''),
]


def _stamp_s(stamp) -> float:
    return stamp.sec + stamp.nanosec * 1e-9


class PlantMonitorNode(Node):
    def __init__(self, **kwargs):
        super().__init__('plant_monitor', **kwargs)
        self.params = declare_contract(self, SPECS)
        p = self.params
        try:
            self.cfg = MonitorConfig(**{f: getattr(p, f)
                                        for f in MonitorConfig.__dataclass_fields__})
        except MonitorConfigError as err:
            raise ParameterContractError(err.name, getattr(p, err.name), str(err)) from err
        self.monitor = PlantMonitor(self.cfg, self._now())
        self.data_dir = Path(p.data_dir).expanduser() if p.data_dir else default_data_dir()
        try:
            self.history = HistoryWriter(self.data_dir)
            self._restore()
        except HistoryError as err:
            raise ParameterContractError('data_dir', p.data_dir, str(err)) from err
        self.dropped = 0
        self.history_errors = 0
        self.status_pub = self.create_publisher(PlantStatus, 'status', qos.RELIABLE)
        self.create_subscription(NamedReadings, 'readings', self.on_readings, qos.RELIABLE)
        if self.cfg.sea_state_reading:
            self.sea_pub = self.create_publisher(SeaState, p.sea_state_topic, qos.LATCHED)
        else:
            self.sea_pub = None
            self.create_subscription(SeaState, p.sea_state_topic, self.on_sea_state,
                                     qos.LATCHED)
        self.create_timer(1.0 / p.status_rate_hz, self.on_status_timer)
        self.get_logger().info(f'plant monitor: history in {self.data_dir}, total '
                               f'{self.monitor.ledger.energy_total_kwh:.1f} kWh so far')

    def _now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def _restore(self) -> None:
        state = read_state(self.data_dir)
        now = self._now()
        today = jst_date(now)
        daily = {}
        for d in (today - timedelta(days=1), today):
            daily[d] = sum(float(m['energy_kwh']) for m in read_day(self.data_dir, d).minutes)
        # The persisted total covers closed minutes only, like the day files, so the two
        # agree after a restart (the open minute, at most 60 s of energy, is not on disk).
        self.persisted_total_kwh = float(state.get('energy_total_kwh', 0.0))
        self.monitor.restore(self.persisted_total_kwh, daily, recent_bins(self.data_dir, now))

    # ------------------------------------------------------------ callbacks
    def on_readings(self, msg: NamedReadings) -> None:
        n = len(msg.names)
        if not (len(msg.values) == len(msg.valid) == n):
            self.dropped += 1
            self.get_logger().warn(f'dropped readings from {msg.device!r}: {n} names, '
                                   f'{len(msg.values)} values, {len(msg.valid)} valid flags',
                                   throttle_duration_sec=10.0)
            return
        now = self._now()
        t = _stamp_s(msg.header.stamp) or now
        readings = dict(zip(msg.names, msg.values, strict=True))
        valid = dict(zip(msg.names, msg.valid, strict=True))
        age = msg.age_s if math.isfinite(msg.age_s) else math.inf
        self._handle(self.monitor.on_readings(t, now, readings, valid, age))

    def on_sea_state(self, msg: SeaState) -> None:
        self.monitor.set_external_sea_state(float(msg.energy_flux_kw_per_m))

    def on_status_timer(self) -> None:
        now = self._now()
        up = Update(transitions=self.monitor.on_clock(now))
        self._handle(up)
        self.status_pub.publish(self._status_msg(now))

    # ------------------------------------------------------------ helpers
    def _handle(self, up: Update) -> None:
        log = self.get_logger()
        for name, tr in up.transitions:
            if tr is AlarmTransition.RAISED:
                log.warn(f'alarm raised: {name}')
            else:
                log.info(f'alarm cleared: {name}')
        for err in up.errors:
            log.warn(err, throttle_duration_sec=30.0)
        lines = [minute_line(b) for b in up.closed_bins]
        self.persisted_total_kwh += sum(b.energy_kwh for b in up.closed_bins)
        if up.sea_state is not None:
            est = up.sea_state
            log.info(f'sea state: Hs {est.hs_m:.2f} m, Tp {est.tp_s:.1f} s, Te {est.te_s:.1f} s,'
                     f' J {est.energy_flux_kw_per_m:.2f} kW/m')
            lines.append(sea_state_line(up.sea_state_t, self.params.sea_state_source,
                                        est.as_dict()))
            if self.sea_pub is not None:
                self.sea_pub.publish(self._sea_state_msg(up))
        if lines:
            self._persist(lines)

    def _persist(self, lines: list[dict]) -> None:
        try:
            for line in lines:
                self.history.append(line)
            self.history.write_state({
                'energy_total_kwh': self.persisted_total_kwh,
                'rated_power_kw': self.cfg.rated_power_kw,
                'device_width_m': self.cfg.device_width_m,
                't': self.monitor.last_data_t})
        except OSError as err:
            # Keep monitoring; the totals stay in memory and the next write retries.
            self.history_errors += 1
            self.get_logger().error(f'cannot write history in {self.data_dir}: {err}',
                                    throttle_duration_sec=60.0)

    def _sea_state_msg(self, up: Update) -> SeaState:
        est = up.sea_state
        msg = SeaState()
        t = up.sea_state_t
        msg.header.stamp.sec = int(math.floor(t))
        msg.header.stamp.nanosec = int((t - math.floor(t)) * 1e9)
        msg.source = self.params.sea_state_source
        msg.hs_m, msg.tp_s, msg.te_s, msg.tz_s = est.hs_m, est.tp_s, est.te_s, est.tz_s
        msg.mean_direction_deg = est.mean_direction_deg
        msg.energy_flux_kw_per_m = est.energy_flux_kw_per_m
        msg.water_depth_m = est.water_depth_m
        msg.record_duration_s = est.record_duration_s
        return msg

    def _status_msg(self, now: float) -> PlantStatus:
        st = self.monitor.status(now)
        msg = PlantStatus()
        msg.header.stamp = self.get_clock().now().to_msg()
        for name in ('power_kw', 'energy_today_kwh', 'energy_total_kwh', 'capacity_factor',
                     'availability', 'capture_width_ratio', 'generator_speed_rpm',
                     'generator_voltage_v', 'generator_current_a', 'generator_temperature_c',
                     'rudder_angle_deg'):
            setattr(msg, name, float(getattr(st, name)))
        msg.generator_state = st.generator_state
        msg.breaker_closed = st.breaker_closed
        msg.active_alarms = st.active_alarms
        msg.data_stale = st.data_stale
        return msg

    def shutdown(self) -> None:
        self.history.close()


def main(args=None):
    run_node(PlantMonitorNode, args)

