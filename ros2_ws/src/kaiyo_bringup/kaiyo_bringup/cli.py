"""`kaiyo`: the one command-line entry of the stack.

Subcommands come from the `kaiyo.cli` entry-point group: each package registers
`register(subparsers)` functions in its setup.py, so a package adds commands without
touching this file. A registered command sets `func(args) -> int` with set_defaults.
"""
from __future__ import annotations

import argparse
import os
import sys
from importlib.metadata import entry_points


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; with `command`, only that command's package is imported.

    Loading every package's CLI module costs seconds (scipy, OpenCV, MuJoCo); `kaiyo bringup`
    should not pay for `kaiyo plant`. `kaiyo --help` (no command) loads them all.
    """
    parser = argparse.ArgumentParser(
        prog='kaiyo',
        description='kaiyo (海洋): ROS 2 marine robotics for the Hiratsuka offshore tower.')
    sub = parser.add_subparsers(dest='command', metavar='COMMAND')
    sub.required = True
    seen = set()
    eps = sorted(entry_points(group='kaiyo.cli'), key=lambda e: e.name)
    if command is not None and any(ep.name == command for ep in eps):
        eps = [ep for ep in eps if ep.name == command]
    for ep in eps:
        if ep.name in seen:
            continue
        seen.add(ep.name)
        register = ep.load()
        register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault('AMENT_PREFIX_PATH', sys.prefix)
    argv = sys.argv[1:] if argv is None else argv
    command = next((a for a in argv if not a.startswith('-')), None)
    parser = build_parser(command)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. `kaiyo nmea decode f | head`
        return 0


if __name__ == '__main__':
    sys.exit(main())
