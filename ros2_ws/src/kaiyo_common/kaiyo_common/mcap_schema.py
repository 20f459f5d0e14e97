"""ros2msg schema text for MCAP recordings (pure: no rclpy).

rosbag2's MCAP storage writes one schema per message type with encoding `ros2msg`: the
type's own `.msg` text followed by the text of every message type it depends on, each after
a line of 80 `=` and a line `MSG: pkg/Type`. Readers (mcap-ros2-support, Foxglove, rosbag2
itself) rebuild the CDR layout from that text alone, so it must hold the full dependency
closure, including `builtin_interfaces/Time` and kaiyo's own types.

The `.msg` files come from `share/<pkg>/msg/<Type>.msg` under every prefix in
AMENT_PREFIX_PATH (the pip wheels and kaiyo_interfaces install there), then `sys.prefix`.

    text = schema_text('sensor_msgs/msg/Image')       # or 'sensor_msgs/Image'
"""
from __future__ import annotations

import functools
import os
import re
import sys
from pathlib import Path

SEPARATOR = '=' * 80

#: Field types that are not messages (ROS 2 IDL primitives and their legacy aliases).
PRIMITIVES = frozenset({
    'bool', 'byte', 'char', 'float32', 'float64', 'int8', 'uint8', 'int16', 'uint16',
    'int32', 'uint32', 'int64', 'uint64', 'string', 'wstring', 'time', 'duration',
})

_NAME = re.compile(r'^[A-Za-z][A-Za-z0-9_]*$')


class MsgSchemaError(LookupError):
    """A message type name is malformed or its .msg file cannot be found."""


def split_type(type_name: str) -> tuple[str, str]:
    """'pkg/msg/Type' or 'pkg/Type' -> ('pkg', 'Type'); raises MsgSchemaError otherwise."""
    parts = type_name.strip().split('/')
    if len(parts) == 3 and parts[1] == 'msg':
        parts = [parts[0], parts[2]]
    if len(parts) != 2 or not all(_NAME.match(p) for p in parts):
        raise MsgSchemaError(
            f"message type {type_name!r} must look like 'pkg/msg/Type' or 'pkg/Type'")
    return parts[0], parts[1]


def full_type_name(type_name: str) -> str:
    """Normalise to rosbag2's 'pkg/msg/Type' form."""
    pkg, name = split_type(type_name)
    return f'{pkg}/msg/{name}'


def search_prefixes() -> list[Path]:
    """Install prefixes searched for share/<pkg>/msg, in order (AMENT_PREFIX_PATH, sys.prefix)."""
    out: list[Path] = []
    for p in os.environ.get('AMENT_PREFIX_PATH', '').split(os.pathsep):
        if p and Path(p) not in out:
            out.append(Path(p))
    if Path(sys.prefix) not in out:
        out.append(Path(sys.prefix))
    return out


def msg_file(type_name: str, prefixes: list[Path] | None = None) -> Path:
    """Path of the .msg file defining `type_name`."""
    pkg, name = split_type(type_name)
    prefixes = search_prefixes() if prefixes is None else prefixes
    for prefix in prefixes:
        path = Path(prefix) / 'share' / pkg / 'msg' / f'{name}.msg'
        if path.is_file():
            return path
    raise MsgSchemaError(
        f"no {pkg}/msg/{name}.msg under share/ of {', '.join(str(p) for p in prefixes)} "
        '(is the package installed and AMENT_PREFIX_PATH set?)')


def field_types(msg_text: str, package: str) -> list[str]:
    """The message types ('pkg/Type') of the fields of a .msg text, in order, no repeats.

    Skips comments, constants (`type NAME=value`) and primitives; strips array bounds
    (`[]`, `[N]`, `[<=N]`) and string bounds; resolves a bare `Type` to the same package
    and the legacy `Header` to std_msgs/Header.
    """
    out: list[str] = []
    for raw in msg_text.splitlines():
        line = raw.split('#', 1)[0].strip()
        if not line:
            continue
        parts = line.split(None, 1)
        if len(parts) < 2:
            continue
        type_token, rest = parts
        if '=' in rest and _NAME.match(rest.split('=', 1)[0].strip()):
            continue  # a constant: `uint8 NAME=1` (a field default has no '=')
        base = type_token.split('[', 1)[0].split('<=', 1)[0]
        if base in PRIMITIVES:
            continue
        if base == 'Header':
            dep = 'std_msgs/Header'
        elif '/' in base:
            dep_pkg, dep_name = split_type(base)
            dep = f'{dep_pkg}/{dep_name}'
        else:
            dep = f'{package}/{base}'
        if dep not in out:
            out.append(dep)
    return out


@functools.lru_cache(maxsize=512)
def _schema_cached(type_name: str, prefixes: tuple[str, ...]) -> str:
    paths = [Path(p) for p in prefixes]
    pkg, name = split_type(type_name)
    root_text = msg_file(type_name, paths).read_text(encoding='utf-8')
    parts = [root_text.rstrip('\n')]
    seen = {f'{pkg}/{name}'}
    # depth-first in order of first appearance (rosbag2's order)
    stack = list(reversed(field_types(root_text, pkg)))
    while stack:
        dep = stack.pop()
        if dep in seen:
            continue
        seen.add(dep)
        dep_pkg = dep.split('/')[0]
        text = msg_file(dep, paths).read_text(encoding='utf-8')
        parts.append(f'{SEPARATOR}\nMSG: {dep}\n{text.rstrip(chr(10))}')
        stack.extend(reversed([d for d in field_types(text, dep_pkg) if d not in seen]))
    return '\n'.join(parts) + '\n'


def schema_text(type_name: str, prefixes: list[Path] | None = None) -> str:
    """The full ros2msg schema text of `type_name` (its .msg text plus every dependency)."""
    prefixes = search_prefixes() if prefixes is None else prefixes
    return _schema_cached(full_type_name(type_name), tuple(str(p) for p in prefixes))


def type_name_of(msg_class) -> str:
    """'pkg/msg/Type' of a generated rclpy message class (or instance)."""
    cls = msg_class if isinstance(msg_class, type) else type(msg_class)
    module = cls.__module__.split('.')          # e.g. sensor_msgs.msg._image
    if len(module) < 2 or module[1] != 'msg':
        raise MsgSchemaError(f'{cls!r} is not a generated ROS message class')
    return f'{module[0]}/msg/{cls.__name__}'
