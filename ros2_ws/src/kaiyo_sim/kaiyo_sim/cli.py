"""`kaiyo sim ...`: run the simulator, benchmark it, export Gazebo files and ground truth."""
from __future__ import annotations

import argparse
import sys

from kaiyo_common.bench import to_json
from kaiyo_common.vehicles import VehicleFileError, load_vehicle


def _vehicles(text: str) -> list[str]:
    names = [v.strip() for v in text.split(',') if v.strip()]
    if not names:
        raise argparse.ArgumentTypeError('give at least one vehicle, e.g. hover_auv,wave_boat')
    for n in names:
        try:
            load_vehicle(n.rstrip('0123456789'))
        except VehicleFileError as err:
            raise argparse.ArgumentTypeError(str(err)) from None
    return names


ALL = ['hover_auv', 'camera_robot', 'wave_boat']


def register(subparsers) -> None:
    p = subparsers.add_parser('sim', help='the embedded marine simulator')
    sub = p.add_subparsers(dest='sim_command', metavar='SUBCOMMAND')
    sub.required = True

    r = sub.add_parser('run', help='run the simulator node (Ctrl-C to stop)')
    r.add_argument('--world', default='hiratsuka_tower', help='world name or YAML path')
    r.add_argument('--vehicles', type=_vehicles, default=ALL,
                   help='comma-separated vehicles (default: all three)')
    r.add_argument('--mode', choices=('realtime', 'fast', 'lockstep'), default='realtime')
    r.add_argument('--rtf', type=float, default=1.0, help='realtime mode: speed-up factor')
    r.add_argument('--seed', type=int, default=0)
    r.add_argument('--backend', choices=('mujoco', 'numpy'), default='mujoco')
    r.add_argument('--no-camera', action='store_true', help='do not render cameras')
    r.add_argument('--camera-scale', type=float, default=0.5,
                   help='camera resolution relative to the vehicle YAML (default 0.5)')
    r.set_defaults(func=cmd_run)

    b = sub.add_parser('bench', help='real-time factors beside the raw MuJoCo step rate')
    b.add_argument('--json', action='store_true')
    b.add_argument('--quick', action='store_true', help='shorter runs')
    b.set_defaults(func=cmd_bench)

    g = sub.add_parser('export-gazebo', help='write an SDF 1.9 world, models and a '
                       'ros_gz_bridge config from the same YAML')
    g.add_argument('--out', required=True, help='output directory')
    g.add_argument('--world', default='hiratsuka_tower')
    g.add_argument('--vehicles', type=_vehicles, default=ALL)
    g.set_defaults(func=cmd_export_gazebo)

    t = sub.add_parser('export-truth', help='write the seabed ground truth: class map PNG '
                       '(class ids) + georeference YAML + urchin CSV')
    t.add_argument('--out', required=True, help='output directory')
    t.add_argument('--world', default='hiratsuka_tower')
    t.add_argument('--resolution-m', type=float, default=0.1, help='grid cell size, m')
    t.add_argument('--extent', type=float, nargs=4, metavar=('WEST', 'SOUTH', 'EAST', 'NORTH'),
                   help='sub-area in map metres (default: the whole scene)')
    t.set_defaults(func=cmd_export_truth)
    d = sub.add_parser('dataset', help='render labelled training imagery: camera frames + '
                       'class-id masks over freshly seeded scenes (for `kaiyo seabed train '
                       '--masks DIR/masks`)')
    d.add_argument('--out', required=True, help='output folder (images/, masks/, manifest.json)')
    d.add_argument('--world', default='hiratsuka_tower', help='world name or YAML path')
    d.add_argument('--vehicle', default='hover_auv', help='vehicle whose camera renders')
    d.add_argument('--seeds', default='100-139',
                   help="scene seeds, e.g. '100-139' or '200,201' (default 100-139: the "
                   'training range; 200-209 is the validation range)')
    d.add_argument('--frames-per-seed', type=int, default=10)
    d.add_argument('--camera-scale', type=float, default=0.5,
                   help='camera resolution relative to the vehicle YAML (0.5: the demo)')
    d.add_argument('--altitude', type=float, nargs=2, default=(1.5, 3.5), metavar=('LOW', 'HIGH'),
                   help='base_link altitude above the seabed, m (default 1.5 3.5)')
    d.add_argument('--max-tilt-deg', type=float, default=5.0, help='roll/pitch, +-deg')
    d.set_defaults(func=cmd_dataset)
    sc = sub.add_parser('scenarios', help='seeded mission and fault scenarios scored pass/fail '
                        '(simulator + controller + executor + safety supervisor)')
    # The suite composes sim, control and mission cores; it lives with the mission package
    # (which owns the rules it scores), and `kaiyo sim scenarios` is its front door.
    from kaiyo_mission.cli import add_scenario_arguments, cmd_scenarios
    add_scenario_arguments(sc)
    sc.set_defaults(func=cmd_scenarios)


def cmd_run(args) -> int:
    from kaiyo_common.node_main import run_node
    from kaiyo_sim.sim_node import SimNode
    ros_args = ['--ros-args', '-p', f'world:={args.world}',
                '-p', f'vehicles:=[{",".join(args.vehicles)}]',
                '-p', f'mode:={args.mode}', '-p', f'real_time_factor:={float(args.rtf)}',
                '-p', f'seed:={args.seed}', '-p', f'backend:={args.backend}',
                '-p', f'camera_enabled:={"false" if args.no_camera else "true"}',
                '-p', f'camera_scale:={float(args.camera_scale)}']
    return run_node(SimNode, ros_args)


def cmd_bench(args) -> int:
    from kaiyo_sim.bench import measure
    figures = measure(quick=args.quick)
    if args.json:
        print(to_json(figures))
    else:
        for f in figures:
            print(f.line())
    return 0


def _load_world(name):
    from kaiyo_sim.world import WorldError, load_world
    try:
        return load_world(name)
    except WorldError as err:
        print(f'kaiyo sim: {err}', file=sys.stderr)
        return None


def cmd_export_gazebo(args) -> int:
    from kaiyo_sim.gazebo import check_sdf_file, export_gazebo
    world = _load_world(args.world)
    if world is None:
        return 2
    files = export_gazebo(world, args.vehicles, args.out)
    problems = [p for f in files if f.suffix == '.sdf' for p in check_sdf_file(f)]
    for f in files:
        print(f)
    for p in problems:
        print(f'problem: {p}', file=sys.stderr)
    return 1 if problems else 0


def cmd_dataset(args) -> int:
    from kaiyo_sim.dataset import DatasetError, DatasetOptions, parse_seeds, write_dataset
    world = _load_world(args.world)
    if world is None:
        return 2
    try:
        vehicle = load_vehicle(args.vehicle)
        seeds = parse_seeds(args.seeds)
        opts = DatasetOptions(camera_scale=args.camera_scale, altitude_m=tuple(args.altitude),
                              max_tilt_deg=args.max_tilt_deg)
        tty = sys.stderr.isatty()

        def progress(done, total):
            if tty:
                print(f'\rrendered {done}/{total}', end='' if done < total else '\n',
                      file=sys.stderr)
        manifest = write_dataset(world, vehicle, seeds, args.frames_per_seed, args.out, opts,
                                 progress)
    except (DatasetError, VehicleFileError) as err:
        print(f'kaiyo sim dataset: {err}', file=sys.stderr)
        return 2
    print(f'{len(manifest["frames"])} frames of seeds {args.seeds} in {args.out}')
    return 0


def cmd_export_truth(args) -> int:
    from kaiyo_sim.world import WorldError
    world = _load_world(args.world)
    if world is None:
        return 2
    try:
        paths = world.build_scene().export_ground_truth(args.out, world.datum, args.resolution_m,
                                                        args.extent)
    except WorldError as err:
        print(f'kaiyo sim export-truth: {err}', file=sys.stderr)
        return 2
    for p in paths.values():
        print(p)
    return 0
