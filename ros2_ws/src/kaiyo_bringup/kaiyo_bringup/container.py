"""`container`: several kaiyo nodes in one process (the Python flavour of ROS composition).

    container NAME --node FULL_NAME PACKAGE EXECUTABLE --ros-args ... [--node ...]

kaiyo_bringup's supervisor builds this command line from the nodes of a bringup file that
name the same `container` (bringup_file.container_arguments). Why: on the simulator's clock
every rclpy process wakes up for every /clock message, timer and message on its own, and
each wake-up costs a few hundred microseconds of executor bookkeeping; nodes that share one
executor share those wake-ups (and one DDS participant, one interpreter start-up). Measured
with four sim-time nodes at 10 Hz: ~45 % less CPU in one process than in four.

A node class joins by registering a factory, `EXECUTABLE = module:factory`, in the
`kaiyo.nodes` entry-point group of its package (the factory takes the Node keyword arguments,
as the class's `main` builds it). Only nodes that run on a single-threaded executor belong
there (no callback may block waiting for another).
"""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from importlib import metadata

ENTRY_POINT_GROUP = 'kaiyo.nodes'
USAGE = ('usage: container NAME --node FULL_NAME PACKAGE EXECUTABLE [--ros-args ...] '
         '[--node ...]')


class ContainerArgsError(ValueError):
    """The container's command line is malformed."""


class NodeFactoryNotFoundError(LookupError):
    """No `kaiyo.nodes` entry point for this package and executable."""


@dataclass(frozen=True)
class ContainerEntry:
    full_name: str          # /namespace/name, for messages
    package: str
    executable: str
    ros_args: tuple[str, ...]


def parse_container_args(argv: list[str]) -> tuple[str, list[ContainerEntry]]:
    """(container name, nodes) from the arguments after the program name."""
    if not argv or argv[0].startswith('-'):
        raise ContainerArgsError(f'the container needs a name first; {USAGE}')
    name, rest = argv[0], argv[1:]
    if not rest:
        raise ContainerArgsError(f"container '{name}' has no nodes; {USAGE}")
    if rest[0] != '--node':
        raise ContainerArgsError(f"container '{name}': expected --node, got '{rest[0]}'; "
                                 f'{USAGE}')
    entries = []
    starts = [i for i, a in enumerate(rest) if a == '--node'] + [len(rest)]
    for a, b in zip(starts, starts[1:]):
        part = rest[a + 1:b]
        if len(part) < 3 or any(p.startswith('-') for p in part[:3]):
            raise ContainerArgsError(f"container '{name}': --node needs FULL_NAME PACKAGE "
                                     f'EXECUTABLE, got {part[:3]}')
        ros_args = tuple(part[3:])
        if ros_args and ros_args[0] != '--ros-args':
            raise ContainerArgsError(f"container '{name}': node '{part[0]}': only --ros-args "
                                     f"may follow the executable, got '{ros_args[0]}'")
        entries.append(ContainerEntry(part[0], part[1], part[2], ros_args))
    names = [e.full_name for e in entries]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ContainerArgsError(f"container '{name}': node '{twice[0]}' is given twice")
    return name, entries


def _normalized(dist_name: str) -> str:
    # distribution names are compared normalised (PEP 503): kaiyo_control == kaiyo-control
    return re.sub(r'[-_.]+', '-', dist_name).lower()


def find_node_factory(package: str, executable: str) -> metadata.EntryPoint:
    """The `kaiyo.nodes` entry point `executable` of distribution `package` (not loaded)."""
    eps = [ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)
           if ep.dist is not None and _normalized(ep.dist.name) == _normalized(package)]
    for ep in eps:
        if ep.name == executable:
            return ep
    have = sorted(ep.name for ep in eps)
    raise NodeFactoryNotFoundError(
        f"package '{package}' registers no node '{executable}' in the '{ENTRY_POINT_GROUP}' "
        f"entry points (it cannot run in a container); registered: {', '.join(have) or 'none'}")


def main(argv: list[str] | None = None) -> int:
    from kaiyo_common.node_main import run_nodes
    argv = sys.argv[1:] if argv is None else argv
    try:
        name, entries = parse_container_args(argv)
        factories = [find_node_factory(e.package, e.executable) for e in entries]
    except (ContainerArgsError, NodeFactoryNotFoundError) as err:
        print(f'[container] error: {err}', file=sys.stderr)
        return 2
    # imports happen here, one node at a time, so an import error names its module
    loaded = [(e.full_name, f.load(), e.ros_args) for e, f in zip(entries, factories)]
    return run_nodes(loaded, args=[f'container:{name}'])


if __name__ == '__main__':
    sys.exit(main())
