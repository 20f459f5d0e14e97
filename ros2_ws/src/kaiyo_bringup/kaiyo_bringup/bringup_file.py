"""Bringup YAML: which nodes to start, in which namespaces, with which parameters (pure).

One file is the single source for `kaiyo bringup` (this package's process supervisor) and for
the standard launch_ros files in `launch/` (through `launch_node_arguments`), so the two never
diverge. Format:

    description: Simulated survey: simulator + one AUV stack.
    executor: events                  # optional: the nodes' executor (single | events),
                                      # a node entry may override it
    arguments:                        # values settable with `-a name:=value` / launch args
      vehicles: {default: hover_auv, description: Comma-separated vehicle names}
    nodes:
      - name: sim                     # ROS node name; also the output prefix
        package: kaiyo_sim
        executable: sim_node          # console script of the package (lib/<package>/<exe>)
        namespace: /                  # optional, default "/"
        params: [sim/params/sim.yaml] # params files (repo-relative or relative to this file)
        parameters: {rate_hz: 50.0}   # inline parameters (optional)
        remaps: {chatter: talk}       # topic remaps (optional)
        args: []                      # extra non-ROS command-line arguments (optional)
        respawn: false                # restart when it exits (optional)
        respawn_delay_s: 2.0          # wait before restarting, s (optional)
        required: false               # stop the whole bringup when it exits (optional)
        executor: single              # optional: overrides the file's `executor`
        container: ""                 # optional: nodes naming the same container share
                                      # one process (see below); "" = a process of its own
      - for_each: {vehicle: "${vehicles}"}   # one copy per comma-separated value
        name: controller
        package: kaiyo_control
        executable: controller_node
        namespace: /${vehicle}

`${name}` substitutes an argument (or a for_each variable) in any string. Every error names
the file and line (`FILE:LINE: message`).

Containers: every rclpy process pays its own executor wake-ups, DDS participant and imports,
so on a small machine many small nodes cost more as processes than as nodes. Nodes that name
the same `container` run in one `kaiyo_bringup container` process on one single-threaded
executor (each with its own name, namespace, params and remaps). The loader returns one
NodeSpec per container (`members` holds the nodes), so the supervisor starts, stops,
respawns and accounts for it like any process: a container dying is all its nodes dying.
It is required when any member is; its members must agree on respawn. Only nodes that
register a factory in the `kaiyo.nodes` entry-point group can be members, and they take no
`args`. Launch files (`launch_support`) ignore containers: launch_ros starts each node alone.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kaiyo_common.executor_choice import EXECUTOR_ENV, EXECUTORS

_NODE_KEYS = {'name', 'package', 'executable', 'namespace', 'params', 'parameters', 'remaps',
              'args', 'respawn', 'respawn_delay_s', 'required', 'for_each', 'description',
              'container', 'executor'}
_TOP_KEYS = {'description', 'arguments', 'nodes', 'executor'}
_NAME_RE = re.compile(r'^[A-Za-z][A-Za-z0-9_]*$')
_NS_RE = re.compile(r'^/([A-Za-z][A-Za-z0-9_]*(/[A-Za-z][A-Za-z0-9_]*)*)?$')
_SUBST_RE = re.compile(r'\$\{([A-Za-z_][A-Za-z0-9_]*)\}')


class BringupError(ValueError):
    """A bringup file (or a params file it names) is invalid. str() is `FILE:LINE: message`."""

    def __init__(self, file: str | Path, line: int | None, message: str):
        self.file, self.line, self.message = str(file), line, message
        where = f'{file}:{line}' if line else f'{file}'
        super().__init__(f'{where}: {message}')


@dataclass(frozen=True)
class Argument:
    name: str
    default: str | None
    description: str


@dataclass
class NodeSpec:
    """One process to run. Paths in `params` are absolute after loading."""

    name: str
    package: str
    executable: str
    namespace: str = '/'
    params: list[Path] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)
    remaps: dict[str, str] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)
    respawn: bool = False
    respawn_delay_s: float = 2.0
    required: bool = False
    source: str = ''          # FILE:LINE of its entry, for messages
    container: str = ''       # the container it asks to run in ('' = its own process)
    executor: str = ''        # KAIYO_EXECUTOR for its process ('' = the process default)
    members: list[NodeSpec] = field(default_factory=list)   # a container's nodes

    @property
    def full_name(self) -> str:
        ns = self.namespace.rstrip('/')
        return f'{ns}/{self.name}'

    @property
    def is_container(self) -> bool:
        return bool(self.members)


@dataclass
class Bringup:
    file: Path
    description: str
    arguments: dict[str, Argument]
    nodes: list[NodeSpec]


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _to_python(node: yaml.Node) -> Any:
    return yaml.safe_load(yaml.serialize(node))


def _mapping_items(node: yaml.Node):
    return [(k.value, k, v) for k, v in node.value]


def load_yaml_node(path: Path) -> yaml.Node:
    try:
        text = path.read_text(encoding='utf-8')
    except OSError as err:
        raise BringupError(path, None, f'cannot read: {err.strerror}') from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, 'problem_mark', None)
        line = mark.line + 1 if mark else None
        problem = getattr(err, 'problem', None) or str(err)
        raise BringupError(path, line, f'invalid YAML: {problem}') from None
    if node is None:
        raise BringupError(path, None, 'file is empty')
    return node


def _subst(value: Any, env: dict[str, str], file: Path, line: int,
           typed: bool = False) -> Any:
    """Substitute ${name}. With `typed`, a value that is exactly one ${name} takes the YAML
    type of the argument's text (so `rate_hz: "${rate}"` with rate 2.0 gives a float), and a
    value written as a flow list around substitutions becomes a list (so `vehicles:
    "[${vehicles}]"` with vehicles `a,b` gives ['a', 'b'], the same names a for_each over
    that argument iterates)."""
    if typed and isinstance(value, str):
        m = _SUBST_RE.fullmatch(value)
        if m and m.group(1) in env:
            if env[m.group(1)].strip() == '':
                return ''   # an empty argument stays an empty string, not YAML null
            try:
                return yaml.safe_load(env[m.group(1)])
            except yaml.YAMLError:
                return env[m.group(1)]
        if _SUBST_RE.search(value) and value.strip().startswith('[') \
                and value.strip().endswith(']'):
            text = _subst(value, env, file, line)
            try:
                parsed = yaml.safe_load(text)
            except yaml.YAMLError:
                return text
            return parsed if isinstance(parsed, list) else text
    if isinstance(value, str):
        def repl(m):
            if m.group(1) not in env:
                raise BringupError(file, line, f"unknown argument '${{{m.group(1)}}}'; "
                                               f"known: {', '.join(sorted(env)) or 'none'}")
            return env[m.group(1)]
        return _SUBST_RE.sub(repl, value)
    if isinstance(value, list):
        return [_subst(v, env, file, line, typed) for v in value]
    if isinstance(value, dict):
        return {k: _subst(v, env, file, line, typed) for k, v in value.items()}
    return value


def resolve_path(p: str, file: Path, root: Path | None) -> Path:
    """A params path: absolute, else relative to the bringup file, else to the repo root."""
    path = Path(p)
    if path.is_absolute():
        return path
    if (file.parent / path).exists() or root is None:
        return file.parent / path
    return root / path   # also the path named in the error when neither exists


def check_params_file(path: Path, source: str) -> None:
    """A ROS params file: valid YAML, `<node or /**>: {ros__parameters: {...}}` blocks."""
    node = load_yaml_node(path)
    if not isinstance(node, yaml.MappingNode):
        raise BringupError(path, _line(node), 'a params file must map node names to '
                                              '{ros__parameters: ...}')
    for key, _knode, vnode in _mapping_items(node):
        if not isinstance(vnode, yaml.MappingNode):
            raise BringupError(path, _line(vnode), f"'{key}' must hold a mapping with "
                                                   "ros__parameters")
        for sub, snode, pnode in _mapping_items(vnode):
            if sub == 'ros__parameters':
                if not isinstance(pnode, yaml.MappingNode):
                    raise BringupError(path, _line(pnode),
                                       f"'{key}.ros__parameters' must be a mapping")
            elif not isinstance(pnode, yaml.MappingNode):
                # nested namespaces are allowed: /ns: node: ros__parameters
                raise BringupError(path, _line(snode), f"'{key}.{sub}': expected "
                                   "'ros__parameters' (or a nested node name)")


def _top_level(file: Path) -> dict:
    doc = load_yaml_node(file)
    if not isinstance(doc, yaml.MappingNode):
        raise BringupError(file, _line(doc), 'top level must be a mapping with a `nodes:` list')
    top = {k: (kn, vn) for k, kn, vn in _mapping_items(doc)}
    for key, (kn, _) in top.items():
        if key not in _TOP_KEYS:
            raise BringupError(file, _line(kn), f"unknown key '{key}'; "
                               f"expected one of {', '.join(sorted(_TOP_KEYS))}")
    return top


def _arguments(file: Path, top: dict) -> dict[str, Argument]:
    arguments: dict[str, Argument] = {}
    if 'arguments' in top:
        anode = top['arguments'][1]
        if not isinstance(anode, yaml.MappingNode):
            raise BringupError(file, _line(anode), "'arguments' must be a mapping")
        for name, kn, vn in _mapping_items(anode):
            val = _to_python(vn)
            if not isinstance(val, dict) or 'description' not in val:
                raise BringupError(file, _line(kn), f"argument '{name}' needs "
                                   '{default: ..., description: ...}')
            default = val.get('default')
            arguments[name] = Argument(name, None if default is None else str(default),
                                       str(val['description']))
    return arguments


def read_arguments(path: str | Path) -> dict[str, Argument]:
    """Only the declared arguments of a bringup file (name, default, description)."""
    file = Path(path)
    return _arguments(file, _top_level(file))


def load_bringup(path: str | Path, overrides: dict[str, str] | None = None,
                 root: Path | None = None, check_files: bool = True,
                 containers: bool = True) -> Bringup:
    """Load and validate a bringup file. Raises BringupError naming FILE:LINE. With
    `containers` false every node is its own NodeSpec (what launch_ros starts)."""
    file = Path(path)
    top = _top_level(file)
    if 'nodes' not in top:
        raise BringupError(file, 1, "missing 'nodes:' list")

    arguments = _arguments(file, top)
    env = {a.name: a.default for a in arguments.values() if a.default is not None}
    for k, v in (overrides or {}).items():
        if k not in arguments:
            raise BringupError(file, None, f"unknown argument '{k}'; "
                               f"known: {', '.join(sorted(arguments)) or 'none'}")
        env[k] = v
    missing = sorted(set(arguments) - set(env))
    if missing:
        raise BringupError(file, None, f"argument '{missing[0]}' has no default and was not "
                           f"given (use -a {missing[0]}:=VALUE)")

    file_executor = ''
    if 'executor' in top:
        enode = top['executor'][1]
        file_executor = _executor(_subst(_to_python(enode), env, file, _line(enode)), file,
                                  _line(enode))
    nlist = top['nodes'][1]
    if not isinstance(nlist, yaml.SequenceNode):
        raise BringupError(file, _line(nlist), "'nodes' must be a list")
    nodes: list[NodeSpec] = []
    for item in nlist.value:
        line = _line(item)
        if not isinstance(item, yaml.MappingNode):
            raise BringupError(file, line, 'each node entry must be a mapping')
        for key, kn, _ in _mapping_items(item):
            if key not in _NODE_KEYS:
                raise BringupError(file, _line(kn), f"unknown node key '{key}'; expected one "
                                   f"of {', '.join(sorted(_NODE_KEYS))}")
        raw = _to_python(item)
        loops = [dict()]
        if 'for_each' in raw:
            fe = raw['for_each']
            if not (isinstance(fe, dict) and len(fe) == 1):
                raise BringupError(file, line, "for_each must be {var: \"${argument}\"}")
            (var, values), = fe.items()
            items = [v.strip() for v in str(_subst(values, env, file, line)).split(',')
                     if v.strip()]
            loops = [{var: v} for v in items]
        raw.setdefault('executor', file_executor)
        for extra in loops:
            nodes.append(_node_spec(raw, {**env, **extra}, file, line, root, check_files))
    seen: dict[str, str] = {}
    for n in nodes:
        if n.full_name in seen:
            raise BringupError(file, int(n.source.rsplit(':', 1)[1]),
                               f"node '{n.full_name}' is defined twice (also at "
                               f"{seen[n.full_name]})")
        seen[n.full_name] = n.source
    if containers:
        nodes = group_containers(nodes, file)
    desc = _to_python(top['description'][1]) if 'description' in top else ''
    return Bringup(file, str(desc or ''), arguments, nodes)


CONTAINER_PACKAGE, CONTAINER_EXECUTABLE = 'kaiyo_bringup', 'container'


def group_containers(nodes: list[NodeSpec], file: Path) -> list[NodeSpec]:
    """Replace the nodes that name a container by one container NodeSpec each, at the place
    of its first member. Raises BringupError (FILE:LINE of the offending entry)."""
    def line_of(spec: NodeSpec) -> int:
        return int(spec.source.rsplit(':', 1)[1])

    out: list[NodeSpec] = []
    by_name: dict[str, NodeSpec] = {}
    node_names = {n.full_name for n in nodes}
    for n in nodes:
        if not n.container:
            out.append(n)
            continue
        if n.args:
            raise BringupError(file, line_of(n), f"node '{n.full_name}' runs in container "
                               f"'{n.container}' and cannot take command-line 'args'")
        box = by_name.get(n.container)
        if box is None:
            if f'/{n.container}' in node_names:
                raise BringupError(file, line_of(n), f"container '{n.container}' has the "
                                   f"name of a node ('/{n.container}')")
            box = NodeSpec(name=n.container, package=CONTAINER_PACKAGE,
                           executable=CONTAINER_EXECUTABLE, respawn=n.respawn,
                           respawn_delay_s=n.respawn_delay_s, source=n.source,
                           executor=n.executor)
            by_name[n.container] = box
            out.append(box)
        elif n.executor != box.executor:
            raise BringupError(file, line_of(n), f"node '{n.full_name}': executor "
                               f"'{n.executor}' differs from the rest of container "
                               f"'{n.container}' (first at {box.source})")
        elif (n.respawn, n.respawn_delay_s) != (box.respawn, box.respawn_delay_s):
            # one process: its nodes can only be restarted together
            raise BringupError(file, line_of(n), f"node '{n.full_name}': respawn settings "
                               f"differ from the rest of container '{n.container}' "
                               f"(first at {box.source})")
        box.members.append(n)
        box.required = box.required or n.required
    return out


def _node_spec(raw: dict, env: dict, file: Path, line: int, root: Path | None,
               check_files: bool) -> NodeSpec:
    raw = {k: _subst(v, env, file, line, typed=(k == 'parameters'))
           for k, v in raw.items() if k != 'for_each'}
    for key in ('name', 'package', 'executable'):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise BringupError(file, line, f"node entry needs '{key}' (a string)")
    if not _NAME_RE.match(raw['name']):
        raise BringupError(file, line, f"node name '{raw['name']}' must be letters, digits "
                           'and _ and start with a letter')
    ns = raw.get('namespace', '/') or '/'
    if not ns.startswith('/'):
        ns = '/' + ns
    if not _NS_RE.match(ns.rstrip('/') or '/'):
        raise BringupError(file, line, f"namespace '{ns}' is not a valid ROS namespace")
    executor = _executor(raw.get('executor', ''), file, line)
    container = raw.get('container', '') or ''
    if not isinstance(container, str) or (container and not _NAME_RE.match(container)):
        raise BringupError(file, line, f"container name '{container}' must be letters, "
                           'digits and _ and start with a letter')
    params = raw.get('params', []) or []
    if isinstance(params, str):
        params = [params]
    if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
        raise BringupError(file, line, "'params' must be a list of file paths")
    paths = [resolve_path(p, file, root) for p in params]
    source = f'{file}:{line}'
    if check_files:
        for p in paths:
            if not p.exists():
                raise BringupError(file, line, f"params file '{p}' does not exist")
            check_params_file(p, source)
    for key, kind in (('parameters', dict), ('remaps', dict), ('args', list)):
        if key in raw and not isinstance(raw[key], kind):
            raise BringupError(file, line, f"'{key}' must be a {kind.__name__}")
    respawn = raw.get('respawn', False)
    delay = raw.get('respawn_delay_s', 2.0)
    if not isinstance(respawn, bool):
        raise BringupError(file, line, "'respawn' must be true or false")
    if isinstance(delay, bool) or not isinstance(delay, (int, float)) or delay < 0:
        raise BringupError(file, line, "'respawn_delay_s' must be a number >= 0 (seconds)")
    return NodeSpec(name=raw['name'], package=raw['package'], executable=raw['executable'],
                    namespace=ns.rstrip('/') or '/', params=paths,
                    parameters=dict(raw.get('parameters') or {}),
                    remaps={str(k): str(v) for k, v in (raw.get('remaps') or {}).items()},
                    args=[str(a) for a in raw.get('args') or []], respawn=respawn,
                    respawn_delay_s=float(delay), required=bool(raw.get('required', False)),
                    source=source, container=container, executor=executor)


def _executor(value: Any, file: Path, line: int) -> str:
    if value in (None, ''):
        return ''
    if value not in EXECUTORS:
        raise BringupError(file, line, f"executor '{value}' must be one of "
                           f"{', '.join(EXECUTORS)}")
    return value


def _param_value(v: Any) -> str:
    return yaml.safe_dump(v, default_flow_style=True, width=1 << 20).strip().removesuffix(
        '\n...').removesuffix('...').strip()


def ros_arguments(spec: NodeSpec) -> list[str]:
    """The `--ros-args ...` part of a node's command line (rcl parses it natively)."""
    out = ['--ros-args', '-r', f'__node:={spec.name}']
    if spec.namespace != '/':
        out += ['-r', f'__ns:={spec.namespace}']
    for p in spec.params:
        out += ['--params-file', str(p)]
    for k, v in spec.parameters.items():
        out += ['-p', f'{k}:={_param_value(v)}']
    for k, v in spec.remaps.items():
        out += ['-r', f'{k}:={v}']
    return out


def container_arguments(spec: NodeSpec) -> list[str]:
    """A container's command line after the executable: its name, then per member
    `--node FULL_NAME PACKAGE EXECUTABLE --ros-args ...` (kaiyo_bringup.container parses it)."""
    out = [spec.name]
    for m in spec.members:
        out += ['--node', m.full_name, m.package, m.executable, *ros_arguments(m)]
    return out


def launch_node_arguments(spec: NodeSpec) -> dict:
    """Keyword arguments for launch_ros.actions.Node describing the same process."""
    kwargs = {
        'package': spec.package, 'executable': spec.executable, 'name': spec.name,
        'namespace': spec.namespace, 'output': 'screen',
        'parameters': [str(p) for p in spec.params] + ([dict(spec.parameters)]
                                                        if spec.parameters else []),
        'remappings': list(spec.remaps.items()),
        'respawn': spec.respawn, 'respawn_delay': spec.respawn_delay_s,
    }
    if spec.args:
        kwargs['arguments'] = list(spec.args)
    if spec.executor:
        kwargs['additional_env'] = {EXECUTOR_ENV: spec.executor}
    return kwargs
