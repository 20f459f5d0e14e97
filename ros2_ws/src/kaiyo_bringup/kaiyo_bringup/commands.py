"""`kaiyo bringup` and `kaiyo bench` subcommands."""
from __future__ import annotations

import sys
from importlib.metadata import entry_points


def register_bench(sub) -> None:
    p = sub.add_parser('bench', help='print speed/memory figures, each beside a baseline '
                                     'measured in the same run')
    p.add_argument('--json', action='store_true', help='print JSON instead of text')
    p.add_argument('--quick', action='store_true', help='shorter runs (noisier figures)')
    p.add_argument('--only', default='', help='comma-separated bench names (default: all)')
    p.set_defaults(func=_bench)


def _bench(args) -> int:
    from kaiyo_common.bench import to_json
    only = {s for s in args.only.split(',') if s}
    figures = []
    for ep in sorted(entry_points(group='kaiyo.bench'), key=lambda e: e.name):
        if only and ep.name not in only:
            continue
        print(f'== {ep.name}', file=sys.stderr)
        for fig in ep.load()(quick=args.quick):
            figures.append(fig)
            if not args.json:
                print(fig.line(), flush=True)
    if args.json:
        print(to_json(figures))
    return 0


def register_bringup(sub) -> None:
    p = sub.add_parser('bringup', help='start the nodes of a bringup YAML as supervised '
                                       'processes (Ctrl-C stops them all)')
    p.add_argument('scenario', help='bringup YAML file, or a name in bringup/ (e.g. sim)')
    p.add_argument('--arg', '-a', action='append', default=[], metavar='NAME:=VALUE',
                   help='scenario argument, e.g. vehicles:=hover_auv,wave_boat')
    p.add_argument('--dry-run', action='store_true',
                   help='print the commands that would run and exit')
    p.add_argument('--no-containers', dest='containers', action='store_false',
                   help="one process per node, ignoring the file's `container:` groups "
                        '(e.g. to debug or profile one node)')
    p.set_defaults(func=_bringup)


def _bringup(args) -> int:
    from kaiyo_bringup.supervisor import run_bringup_command
    return run_bringup_command(args)



