"""`kaiyo plant ...`: sea state of a record, daily summaries of the history, the simulator.

    kaiyo plant seastate FILE.csv [--json] [--depth-m 20]      columns time,elevation_m
                                                               or time,pressure_pa
    kaiyo plant summary --from 2026-11-01 --to 2026-11-30 --out DIR [--data-dir DIR]
    kaiyo plant sim [--hs 1.2 --tp 8 --port 5020]
"""
from __future__ import annotations

import argparse
import json
import math
import sys

from kaiyo_plant.history import (
    HistoryError,
    default_data_dir,
    parse_date,
    read_state,
    summarize,
    write_summary,
)
from kaiyo_plant.spectra import RecordError, analyze_record, load_record_csv


def register(subparsers) -> None:
    plant = subparsers.add_parser('plant', help='wave-power plant: sea state, summaries, '
                                  'simulator')
    sub = plant.add_subparsers(dest='plant_command', metavar='SUBCOMMAND')
    sub.required = True

    s = sub.add_parser('seastate', help='Hs, Tp, Te, Tz and energy flux of a wave record')
    s.add_argument('file', help='CSV with header time,elevation_m or time,pressure_pa '
                   '(time in s or ISO 8601)')
    s.add_argument('--json', action='store_true', help='print JSON instead of text')
    s.add_argument('--depth-m', type=float, default=20.0,
                   help='water depth at the gauge, m (default 20: the offshore tower); '
                   'inf for deep water (elevation records only)')
    s.add_argument('--gauge', action='store_true',
                   help='pressure_pa is gauge pressure (default: absolute)')
    s.add_argument('--atmospheric-pa', type=float, default=101325.0,
                   help='atmospheric pressure subtracted from absolute pressure, Pa')
    s.add_argument('--segment-s', type=float, default=256.0,
                   help='Welch segment length, s (frequency resolution 1/segment)')
    s.add_argument('--kp-min', type=float, default=0.1,
                   help='pressure correction cut-off: smallest K_p corrected (0..1)')
    s.set_defaults(func=cmd_seastate)

    m = sub.add_parser('summary', help='daily energy, power, sea state and capture width '
                       'from the monitor history (CSV and JSON)')
    m.add_argument('--from', dest='date_from', required=True, help='first JST day, YYYY-MM-DD')
    m.add_argument('--to', dest='date_to', required=True, help='last JST day, YYYY-MM-DD')
    m.add_argument('--out', required=True, help='output directory')
    m.add_argument('--data-dir', default=None,
                   help=f'monitor history (default {default_data_dir()})')
    m.add_argument('--rated-kw', type=float, default=None,
                   help='rated power, kW (default: as recorded by the monitor)')
    m.add_argument('--width-m', type=float, default=None,
                   help='device width, m (default: as recorded by the monitor)')
    m.set_defaults(func=cmd_summary)

    p = sub.add_parser('sim', help='run the plant simulator (Modbus TCP server)')
    p.add_argument('--host', default=None, help='listen address (default 127.0.0.1)')
    p.add_argument('--port', type=int, default=None, help='TCP port (default 5020)')
    p.add_argument('--unit-id', type=int, default=None, help='Modbus unit id (default 1)')
    p.add_argument('--hs', type=float, default=None, help='significant wave height, m')
    p.add_argument('--tp', type=float, default=None, help='peak period, s')
    p.add_argument('--seed', type=int, default=None, help='wave phase seed')
    p.add_argument('--params-file', default=None, help='ROS params file (plant_sim.yaml)')
    p.set_defaults(func=cmd_sim)


def _err(cmd: str, msg: str) -> int:
    print(f'kaiyo plant {cmd}: error: {msg}', file=sys.stderr)
    return 2


def cmd_seastate(args) -> int:
    try:
        record = load_record_csv(args.file)
        est = analyze_record(record, args.depth_m, args.segment_s,
                             None if args.gauge else args.atmospheric_pa, args.kp_min)
    except RecordError as err:
        return _err('seastate', str(err))
    if args.json:
        print(json.dumps({'file': args.file, 'kind': record.kind, 'start': record.start,
                          **est.as_dict()}, indent=1))
        return 0
    depth = 'deep water' if math.isinf(est.water_depth_m) else f'{est.water_depth_m:g} m'
    print(f'{args.file}: {record.kind}, {est.record_duration_s:.0f} s at '
          f'{est.sample_rate_hz:g} Hz, depth {depth}')
    print(f'  Hs {est.hs_m:.3f} m   Tp {est.tp_s:.2f} s   Te {est.te_s:.2f} s   '
          f'Tz {est.tz_s:.2f} s')
    print(f'  energy flux {est.energy_flux_kw_per_m:.2f} kW/m '
          f'(deep-water formula {est.energy_flux_deep_kw_per_m:.2f} kW/m)')
    if math.isfinite(est.cutoff_hz):
        print(f'  pressure: sensor {est.sensor_depth_m:.2f} m deep, corrected up to '
              f'{est.cutoff_hz:.3f} Hz, f^-5 tail above')
    return 0


def cmd_summary(args) -> int:
    try:
        first = parse_date(args.date_from, '--from')
        last = parse_date(args.date_to, '--to')
        data_dir = args.data_dir or default_data_dir()
        state = read_state(data_dir)
        rated = args.rated_kw if args.rated_kw is not None else state.get('rated_power_kw')
        width = args.width_m if args.width_m is not None else state.get('device_width_m')
        if rated is None or width is None:
            return _err('summary', f'{data_dir} has no state.json with the rated power and '
                        'device width; give --rated-kw and --width-m')
        days, skipped = summarize(data_dir, first, last, float(rated), float(width))
        meta = {'from': first.isoformat(), 'to': last.isoformat(), 'timezone': 'Asia/Tokyo',
                'data_dir': str(data_dir), 'rated_power_kw': rated, 'device_width_m': width,
                'skipped_lines': skipped}
        csv_path, json_path = write_summary(args.out, days, meta)
    except HistoryError as err:
        return _err('summary', str(err))
    except OSError as err:
        return _err('summary', f'{err.filename}: {err.strerror}')
    for line in skipped:
        print(f'warning: skipped {line}', file=sys.stderr)
    total = sum(d.energy_kwh for d in days)
    print(f'{len(days)} days, {total:.1f} kWh -> {csv_path}, {json_path}')
    return 0


def cmd_sim(args) -> int:
    from kaiyo_common.node_main import run_node
    from kaiyo_plant.plant_sim_node import PlantSimNode
    ros = ['kaiyo-plant-sim', '--ros-args', '-r', '__ns:=/plant']
    if args.params_file:
        ros += ['--params-file', args.params_file]
    for flag, name in (('host', 'host'), ('port', 'port'), ('unit_id', 'unit_id'),
                       ('hs', 'hs_m'), ('tp', 'tp_s'), ('seed', 'seed')):
        value = getattr(args, flag)
        if value is not None:
            ros += ['-p', f'{name}:={value}']
    return run_node(PlantSimNode, ros)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog='kaiyo')
    register(parser.add_subparsers(dest='command'))
    args = parser.parse_args(argv)
    return args.func(args)
