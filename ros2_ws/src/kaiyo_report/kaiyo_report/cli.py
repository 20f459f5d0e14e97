"""`kaiyo record`, `kaiyo replay`, `kaiyo report`, `kaiyo web` (entry point kaiyo.cli).

Each command turns its options into the node's declared parameters (so the node contract
stays the one place they are checked) or, for `report`, calls the pure builder directly.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path


def _ros_args(params: dict) -> list[str]:
    """`-p name:=value` arguments; values as YAML (JSON is YAML), strings quoted."""
    args = ['kaiyo', '--ros-args']
    for name, value in params.items():
        text = json.dumps(value)
        args += ['-p', f'{name}:={text}']
    return args


# -- record ------------------------------------------------------------------------------
def register_record(sub) -> None:
    p = sub.add_parser('record', help='record topics to MCAP (rosbag2 layout: DIR/DIR_0.mcap '
                                      '+ metadata.yaml); Ctrl-C stops')
    p.add_argument('topics', nargs='*', help='topics to record, e.g. /hover_auv/odometry')
    p.add_argument('--all', '-a', action='store_true', help='record every (non-hidden) topic')
    p.add_argument('--out', '-o', help='bag folder to create (must be new)')
    p.add_argument('--repair', metavar='BAG', default=None,
                   help='instead of recording: make an interrupted recording whole (adds the '
                        'missing index/summary, keeps originals as *.mcap.damaged)')
    p.add_argument('--exclude', default='', help='regex of topics not to record')
    p.add_argument('--split-size', type=float, default=0.0, metavar='MB',
                   help='start a new file at this size, MB (0 = never)')
    p.add_argument('--split-duration', type=float, default=0.0, metavar='S',
                   help='start a new file after this long, s (0 = never)')
    p.add_argument('--compression', choices=('zstd', 'lz4', 'none'), default='zstd',
                   help='chunk compression (default zstd)')
    p.add_argument('--flush-interval', type=float, default=1.0, metavar='S',
                   help='flush the open chunk to disk this often, s (default 1)')
    p.add_argument('--use-sim-time', action='store_true', help='log times from /clock')
    p.set_defaults(func=_record)


def _record(args) -> int:
    from kaiyo_common.node_main import run_node
    from kaiyo_report.bag import BagError
    from kaiyo_report.recorder_node import RecorderNode
    if args.repair:
        return _repair(args.repair)
    if not args.out:
        print('kaiyo record: give --out DIR (a new folder for the bag)', file=sys.stderr)
        return 2
    if not args.all and not args.topics:
        print('kaiyo record: give TOPICS or --all', file=sys.stderr)
        return 2
    params = {'out_dir': args.out, 'all': args.all, 'exclude_regex': args.exclude,
              'max_file_size_mb': args.split_size, 'max_file_duration_s': args.split_duration,
              'compression': args.compression, 'flush_interval_s': args.flush_interval,
              'use_sim_time': args.use_sim_time}
    if args.topics:
        params['topics'] = args.topics
    try:
        return run_node(RecorderNode, _ros_args(params))
    except BagError as err:
        print(f'kaiyo record: {err}', file=sys.stderr)
        return 2


def _repair(bag: str) -> int:
    from kaiyo_report.bag import BagError, repair_bag
    try:
        r = repair_bag(bag)
    except (BagError, OSError) as err:
        print(f'kaiyo record --repair: {err}', file=sys.stderr)
        return 2
    if not r.repaired:
        print(f'{bag}: every file is complete ({r.messages} messages); nothing to repair')
    for f in r.repaired:
        print(f'repaired {f}')
    for f in r.kept:
        print(f'  original kept as {f}')
    return 0


# -- replay ------------------------------------------------------------------------------
def register_replay(sub) -> None:
    p = sub.add_parser('replay', help='play a recorded bag (folder or .mcap) back onto ROS')
    p.add_argument('bag', metavar='FILE', help='bag folder or .mcap file')
    p.add_argument('--rate', type=float, default=1.0, help='speed, x recorded (default 1)')
    p.add_argument('--clock', action='store_true', help='publish the bag time on /clock')
    p.add_argument('--topics', nargs='+', default=[], help='only these topics')
    p.add_argument('--delay', type=float, default=0.5, metavar='S',
                   help='wait before the first message, s (default 0.5)')
    p.add_argument('--wait-for-subscribers', type=int, default=0, metavar='N',
                   help='start only when every topic has N subscribers (default 0: no wait)')
    p.set_defaults(func=_replay)


def _replay(args) -> int:
    import rclpy
    from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor

    from kaiyo_common.params import ParameterContractError
    from kaiyo_report.bag import BagError
    from kaiyo_report.progress import Progress
    from kaiyo_report.replay_node import ReplayNode
    params = {'bag': args.bag, 'rate': args.rate, 'clock': args.clock,
              'start_delay_s': args.delay, 'wait_for_subscribers': args.wait_for_subscribers}
    if args.topics:   # an empty list would reach rcl as "no value"
        params['topics'] = args.topics
    rclpy.init(args=_ros_args(params))
    node = None
    try:
        node = ReplayNode()
        bar = Progress.for_stderr()
        bar.start('replay', total=_bag_message_count(args.bag))
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        while not node.finished.done():
            executor.spin_once(timeout_sec=0.1)
            bar.advance(node.published - bar.done)
        bar.finish()
        print(f'replayed {node.published} messages from {args.bag}', file=sys.stderr)
        for damaged in node.report.truncated:
            print(f'  note: recording ends early (interrupted?): {damaged}', file=sys.stderr)
        return 0
    except (KeyboardInterrupt, ExternalShutdownException):
        return 130
    except (BagError, ParameterContractError) as err:
        print(f'kaiyo replay: {err}', file=sys.stderr)
        return 2
    finally:
        if node is not None:
            node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()


def _bag_message_count(bag: str) -> int:
    """Messages listed in a bag's metadata.yaml (0 if unknown: the bar shows a count)."""
    import yaml
    meta = Path(bag) / 'metadata.yaml'
    try:
        return int(yaml.safe_load(meta.read_text(encoding='utf-8'))
                   ['rosbag2_bagfile_information']['message_count'])
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError):
        return 0


# -- report ------------------------------------------------------------------------------
def register_report(sub) -> None:
    p = sub.add_parser('report', help='offline HTML survey report (ja/en) + CSV + GeoJSON from '
                                      'survey MCAPs or `kaiyo seabed analyze` results.json')
    p.add_argument('inputs', nargs='+', metavar='INPUT',
                   help='results.json files or survey bags (folder or .mcap)')
    p.add_argument('--out', '-o', required=True, help='output folder (created)')
    p.add_argument('--lang', choices=('ja', 'en', 'both'), default='both',
                   help='report language (default both, Japanese first)')
    p.add_argument('--compare', metavar='PREVIOUS', default=None,
                   help="previous survey of the same site: its report folder (report.json), "
                        "results.json or bag")
    p.add_argument('--cell-size', type=float, default=None, metavar='M',
                   help='map cell edge, m (default: from the survey map, else 1 m)')
    p.add_argument('--site', default='', help='site name shown in the title')
    p.add_argument('--masks', default=None, metavar='DIR',
                   help='class masks from `kaiyo seabed analyze --masks DIR`, drawn over the '
                        'gallery images')
    p.add_argument('--gallery', type=int, default=6, metavar='N',
                   help='representative frames in the gallery (default 6)')
    p.set_defaults(func=_report)


def _report(args) -> int:
    from kaiyo_report.progress import Progress
    from kaiyo_report.report import ReportError, build_report
    try:
        result = build_report(args.inputs, args.out, lang=args.lang, compare=args.compare,
                              cell_size_m=args.cell_size, site=args.site,
                              gallery_size=args.gallery, masks_dir=args.masks,
                              progress=Progress.for_stderr())
    except ReportError as err:
        print(f'kaiyo report: {err}', file=sys.stderr)
        return 2
    for line in result.messages:
        print(f'  note: {line}', file=sys.stderr)
    print(f'wrote {result.html}  ({result.frames_used} frames used, '
          f'{result.frames_rejected} rejected)')
    return 0


# -- web ---------------------------------------------------------------------------------
def register_web(sub) -> None:
    p = sub.add_parser('web', help='live read-only web view of the station (vehicles, depth, '
                                   'battery, alarms, plant power) on http://127.0.0.1:8765')
    p.add_argument('--host', default='127.0.0.1', help='address to serve on (default 127.0.0.1)')
    p.add_argument('--port', type=int, default=8765, help='TCP port (default 8765)')
    p.add_argument('--vehicles', nargs='+', default=['camera_robot', 'hover_auv', 'wave_boat'],
                   help='vehicle namespaces to show')
    p.add_argument('--token-file', default='', metavar='FILE',
                   help='file holding the command token; without it every command is refused')
    p.add_argument('--use-sim-time', action='store_true', help='follow /clock')
    p.set_defaults(func=_web)


def _web(args) -> int:
    from kaiyo_common.node_main import run_node
    from kaiyo_report.web_node import WebNode
    params = {'host': args.host, 'port': args.port, 'vehicles': args.vehicles,
              'token_file': args.token_file, 'use_sim_time': args.use_sim_time}
    return run_node(WebNode, _ros_args(params))
