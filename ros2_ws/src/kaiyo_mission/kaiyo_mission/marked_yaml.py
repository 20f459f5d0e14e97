"""Load YAML while keeping the line of every key and item (pure: no rclpy).

PyYAML's composer builds a node graph in which every node carries its start mark; we walk
that graph ourselves instead of calling `safe_load`, so that each value in the result can be
traced back to `FILE:LINE`. The walk is also stricter than `safe_load`:

- duplicate keys are an error (safe_load silently keeps the last one, losing a value);
- keys must be plain scalars (a mapping used as a key is an error);
- the merge key `<<` is not expanded (it is reported as an unknown key by the validator);
- alias expansion is bounded, so a "billion laughs" file is refused, not expanded.

    data, lines = load_marked(text)
    lines.line(('steps', 1, 'survey', 'altitude'))   # -> 1-based line of that key

A path is a tuple of mapping keys and sequence indices. `lines.line(path)` falls back to the
nearest enclosing path that has a line, so every error can name a line.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

_PLAIN_TAGS = ('tag:yaml.org,2002:seq', 'tag:yaml.org,2002:map')
MAX_NODES = 200_000     # nodes visited (after alias expansion) before a file is refused


class MarkedYamlError(ValueError):
    """The text is not usable YAML. `line` is 1-based (0 when unknown)."""

    def __init__(self, line: int, rule: str, message: str):
        self.line, self.rule, self.message = line, rule, message
        super().__init__(f'line {line}: {rule}: {message}')


@dataclass
class LineIndex:
    """Path (tuple of keys / indices) -> 1-based line number."""

    lines: dict = field(default_factory=dict)

    def line(self, path: tuple) -> int:
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), 1)

    def has(self, path: tuple) -> bool:
        return tuple(path) in self.lines


class _Walker:
    def __init__(self) -> None:
        self.constructor = SafeConstructor()
        self.index = LineIndex()
        self.count = 0

    def scalar(self, node: ScalarNode):
        try:
            return self.constructor.construct_object(node, deep=True)
        except ConstructorError as err:
            mark = err.problem_mark or node.start_mark
            raise MarkedYamlError(mark.line + 1, 'yaml',
                                  f'cannot read value {node.value!r}: {err.problem}') from None

    def walk(self, node: Node, path: tuple):
        self.count += 1
        if self.count > MAX_NODES:
            raise MarkedYamlError(node.start_mark.line + 1, 'yaml',
                                  f'file expands to more than {MAX_NODES} values '
                                  '(alias bomb?)')
        self.index.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, ScalarNode):
            return self.scalar(node)
        if not isinstance(node, ScalarNode) and node.tag not in _PLAIN_TAGS:
            raise MarkedYamlError(node.start_mark.line + 1, 'yaml',
                                  f'cannot read value: unsupported tag {node.tag!r} '
                                  '(no constructor for it in plain YAML)')
        if isinstance(node, SequenceNode):
            return [self.walk(item, path + (i,)) for i, item in enumerate(node.value)]
        if isinstance(node, MappingNode):
            out: dict = {}
            for key_node, value_node in node.value:
                line = key_node.start_mark.line + 1
                if not isinstance(key_node, ScalarNode):
                    raise MarkedYamlError(line, 'yaml', 'a key must be a plain name, '
                                          'not a list or mapping')
                key = self.scalar(key_node)
                if isinstance(key, (list, dict, set)):
                    raise MarkedYamlError(line, 'yaml', f'key {key_node.value!r} is not a name')
                if key in out:
                    raise MarkedYamlError(line, 'duplicate_key',
                                          f"key '{key}' appears twice (first on line "
                                          f'{self.index.line(path + (key,))})')
                self.index.lines[path + (key,)] = line
                out[key] = self.walk(value_node, path + (key,))
            return out
        raise MarkedYamlError(node.start_mark.line + 1, 'yaml',
                              f'unsupported YAML node {type(node).__name__}')


def _code(ch) -> int:
    return ord(ch) if isinstance(ch, str) else int(ch)


def load_marked(text: str):
    """Parse one YAML document. Returns (data, LineIndex); raises MarkedYamlError."""
    if not isinstance(text, str):
        raise MarkedYamlError(0, 'yaml', f'expected text, got {type(text).__name__}')
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark is not None else 0
        problem = err.problem or err.context or 'syntax error'
        raise MarkedYamlError(line, 'yaml', f'not valid YAML: {problem}') from None
    except yaml.reader.ReaderError as err:  # a character YAML does not allow; no mark
        line = text[:err.position].count('\n') + 1
        raise MarkedYamlError(line, 'yaml', 'not valid YAML: character '
                              f'U+{_code(err.character):04X} '
                              f'is not allowed ({err.reason})') from None
    if node is None:
        return None, LineIndex({(): 1})
    walker = _Walker()
    data = walker.walk(node, ())
    return data, walker.index
