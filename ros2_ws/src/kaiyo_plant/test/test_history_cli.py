"""History files, daily summary and the `kaiyo plant` CLI (tier 1, no ROS)."""
import csv
import json
from datetime import date

import numpy as np
import pytest

from kaiyo_plant.cli import main as cli_main
from kaiyo_plant.energy import EnergyLedger, jst_midnight_s
from kaiyo_plant.history import (
    HistoryError,
    HistoryWriter,
    minute_line,
    read_day,
    recent_bins,
    sea_state_line,
    summarize,
)
from kaiyo_plant.waves import WaveComponents

D1 = date(2026, 11, 28)
T1 = jst_midnight_s(D1)


def write_two_days(data_dir):
    """Day 1: 10 kW for 6 h from 06:00 JST with a 3-kW/m sea; day 2: 5 kW for 1 h."""
    w = HistoryWriter(data_dir)
    led = EnergyLedger(rated_power_kw=40.0, max_gap_s=120.0)
    bins = []
    for t in np.arange(T1 + 6 * 3600, T1 + 12 * 3600 + 1, 30.0):
        bins += led.add(float(t), 10.0, True)
    led.mark_gap(T1 + 12 * 3600)
    for t in np.arange(T1 + 86400 + 3600, T1 + 86400 + 7200 + 1, 30.0):
        bins += led.add(float(t), 5.0, True)
    for b in bins:
        w.append(minute_line(b))
    for k in range(6):      # a 30-min sea state every hour of the generating period
        w.append(sea_state_line(T1 + (7 + k) * 3600, 'sim', {
            'hs_m': 1.0, 'tp_s': 8.0, 'te_s': 7.0, 'tz_s': 6.0, 'mean_direction_deg': None,
            'energy_flux_kw_per_m': 3.0, 'water_depth_m': 6.0, 'record_duration_s': 1800.0}))
    w.write_state({'energy_total_kwh': led.energy_total_kwh, 'rated_power_kw': 40.0,
                   'device_width_m': 5.0})
    w.close()


def test_summary_daily_energy_and_capture_width(tmp_path):
    write_two_days(tmp_path)
    days, skipped = summarize(tmp_path, D1, date(2026, 11, 29), 40.0, 5.0)
    assert skipped == []
    d1, d2 = days
    assert d1.energy_kwh == pytest.approx(60.0)
    assert d1.mean_power_kw == pytest.approx(10.0)
    assert d1.capacity_factor == pytest.approx(60.0 / (40.0 * 24))
    assert d1.availability == pytest.approx(0.25)
    assert d1.sea_states == 6 and d1.hs_mean_m == pytest.approx(1.0)
    assert d1.capture_width_ratio == pytest.approx(10.0 / (3.0 * 5.0))
    assert d2.energy_kwh == pytest.approx(5.0) and d2.capture_width_ratio is None


def test_corrupt_line_is_skipped_and_reported(tmp_path):
    write_two_days(tmp_path)
    f = tmp_path / 'plant-2026-11-28.jsonl'
    with f.open('a') as fh:
        fh.write('{"kind": "minute", "t": 17\n')        # truncated by a power cut
    lines = read_day(tmp_path, D1)
    assert len(lines.skipped) == 1 and 'plant-2026-11-28.jsonl:' in lines.skipped[0]
    assert len(recent_bins(tmp_path, T1 + 12 * 3600)) == 360


def test_summary_refuses_bad_requests(tmp_path):
    with pytest.raises(HistoryError, match='before --from'):
        summarize(tmp_path, date(2026, 11, 29), D1, 40.0, 5.0)
    with pytest.raises(HistoryError, match='does not exist'):
        summarize(tmp_path / 'nope', D1, D1, 40.0, 5.0)


def test_cli_summary_writes_csv_and_json(tmp_path, capsys):
    write_two_days(tmp_path / 'hist')
    out = tmp_path / 'out'
    code = cli_main(['plant', 'summary', '--from', '2026-11-28', '--to', '2026-11-30',
                     '--out', str(out), '--data-dir', str(tmp_path / 'hist')])
    assert code == 0
    rows = list(csv.DictReader((out / 'plant_summary_2026-11-28_2026-11-30.csv').open()))
    assert [r['date'] for r in rows] == ['2026-11-28', '2026-11-29', '2026-11-30']
    assert float(rows[0]['energy_kwh']) == pytest.approx(60.0)
    assert rows[2]['mean_power_kw'] == ''          # no data that day: empty, not zero
    doc = json.loads((out / 'plant_summary_2026-11-28_2026-11-30.json').read_text())
    assert doc['total_energy_kwh'] == pytest.approx(65.0)
    assert doc['timezone'] == 'Asia/Tokyo' and doc['rated_power_kw'] == 40.0
    assert cli_main(['plant', 'summary', '--from', '2026-13-01', '--to', '2026-11-30',
                     '--out', str(out), '--data-dir', str(tmp_path / 'hist')]) == 2
    assert "--from date '2026-13-01' is not YYYY-MM-DD" in capsys.readouterr().err


def test_cli_seastate_json_elevation_and_pressure(tmp_path, capsys):
    t = np.arange(0.0, 1800.0, 0.5)
    waves = WaveComponents.from_jonswap(1.5, 9.0, seed=7, duration_s=1800.0, f_max_hz=0.7)
    f = tmp_path / 'elev.csv'
    rows = zip(t, waves.elevation(t), strict=True)
    f.write_text('time,elevation_m\n' + ''.join(f'{a:.1f},{b:.5f}\n' for a, b in rows))
    assert cli_main(['plant', 'seastate', str(f), '--json']) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc['kind'] == 'elevation_m' and doc['hs_m'] == pytest.approx(1.5, rel=0.03)
    assert doc['mean_direction_deg'] is None          # NaN becomes null in JSON
    p = tmp_path / 'press.csv'
    p.write_text('time,pressure_pa\n' + ''.join(
        f'{a:.1f},{b:.2f}\n' for a, b in zip(t, waves.pressure(t, 20.0, 10.0), strict=True)))
    assert cli_main(['plant', 'seastate', str(p), '--json', '--depth-m', '20']) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc['hs_m'] == pytest.approx(1.5, rel=0.05)
    assert doc['sensor_depth_m'] == pytest.approx(10.0, rel=0.01)
    assert cli_main(['plant', 'seastate', str(p)]) == 0
    assert 'corrected up to' in capsys.readouterr().out
    bad = tmp_path / 'bad.csv'
    bad.write_text('time,elevation_m\n0,1\n1,2\n')
    assert cli_main(['plant', 'seastate', str(bad)]) == 2
    assert 'kaiyo plant seastate: error:' in capsys.readouterr().err
