"""Parameters as a declared contract (pure: no rclpy).

Every node declares its parameters as a list of `ParamSpec`: name, type, description with
unit, default or required, bounds or choices. `validate` checks one value against its spec
and raises `ParameterContractError` naming the parameter, the value and the rule it broke.
`kaiyo_common.ros_params` turns the same specs into ROS parameter declarations (with
descriptors, ranges and a set-parameters callback that applies the same checks), so a bad
`--params-file` is refused at start-up and a bad `ros2 param set` is refused at run time.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

REQUIRED = object()
"""Sentinel default: the parameter must be given (params file, -p or overrides)."""

_TYPES = {
    'bool': bool, 'int': int, 'float': float, 'str': str,
    'bool[]': list, 'int[]': list, 'float[]': list, 'str[]': list,
}


class ParameterContractError(ValueError):
    """A parameter value breaks its declared contract."""

    def __init__(self, name: str, value: Any, rule: str):
        self.name, self.value, self.rule = name, value, rule
        super().__init__(f"parameter '{name}' = {value!r}: {rule}")


@dataclass(frozen=True)
class ParamSpec:
    """One declared parameter.

    type: 'bool' | 'int' | 'float' | 'str' or a list form 'float[]' etc.
    description: one line with the unit, e.g. 'Publish rate, Hz'.
    min_value / max_value: inclusive bounds for numbers (and for every element of lists).
    choices: allowed values for strings / ints.
    min_length: minimum list length.
    read_only: cannot change after start-up.
    """

    name: str
    type: str
    description: str
    default: Any = REQUIRED
    min_value: float | None = None
    max_value: float | None = None
    choices: Sequence[Any] | None = None
    min_length: int | None = None
    read_only: bool = False
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.type not in _TYPES:
            raise ValueError(f"ParamSpec '{self.name}': unknown type {self.type!r}; "
                             f"use one of {', '.join(_TYPES)}")
        if not self.description:
            raise ValueError(f"ParamSpec '{self.name}': a description (with unit) is required")
        if self.default is not REQUIRED:
            validate(self, self.default)

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


def _check_scalar(spec: ParamSpec, value: Any, base: str) -> Any:
    if base == 'float':
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParameterContractError(spec.name, value, 'must be a number')
        value = float(value)
        if not math.isfinite(value):
            raise ParameterContractError(spec.name, value, 'must be finite')
    elif base == 'int':
        if isinstance(value, bool) or not isinstance(value, int):
            raise ParameterContractError(spec.name, value, 'must be an integer')
    elif base == 'bool':
        if not isinstance(value, bool):
            raise ParameterContractError(spec.name, value, 'must be true or false')
    elif base == 'str':
        if not isinstance(value, str):
            raise ParameterContractError(spec.name, value, 'must be a string')
    if spec.min_value is not None and base in ('int', 'float') and value < spec.min_value:
        raise ParameterContractError(spec.name, value, f'must be >= {spec.min_value}')
    if spec.max_value is not None and base in ('int', 'float') and value > spec.max_value:
        raise ParameterContractError(spec.name, value, f'must be <= {spec.max_value}')
    if spec.choices is not None and value not in spec.choices:
        raise ParameterContractError(
            spec.name, value, f"must be one of {', '.join(repr(c) for c in spec.choices)}")
    return value


def validate(spec: ParamSpec, value: Any) -> Any:
    """Check `value` against `spec`; return it normalised (ints widened for floats)."""
    if spec.type.endswith('[]'):
        base = spec.type[:-2]
        if not isinstance(value, (list, tuple)):
            raise ParameterContractError(spec.name, value, f'must be a list of {base}')
        if spec.min_length is not None and len(value) < spec.min_length:
            raise ParameterContractError(
                spec.name, value, f'must have at least {spec.min_length} elements')
        return [_check_scalar(spec, v, base) for v in value]
    return _check_scalar(spec, value, spec.type)


def validate_all(specs: Sequence[ParamSpec], values: dict) -> dict:
    """Validate a full set of values: required present, no unknown names, each value valid."""
    known = {s.name for s in specs}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ParameterContractError(unknown[0], values[unknown[0]],
                                     f"unknown parameter; known: {', '.join(sorted(known))}")
    out = {}
    for spec in specs:
        if spec.name in values:
            out[spec.name] = validate(spec, values[spec.name])
        elif spec.required:
            raise ParameterContractError(spec.name, None, 'is required and was not given')
        else:
            out[spec.name] = spec.default
    return out


def describe(specs: Sequence[ParamSpec]) -> str:
    """A human-readable table of the contract (for --help and docs)."""
    lines = []
    for s in specs:
        default = 'required' if s.required else f'default {s.default!r}'
        bounds = []
        if s.min_value is not None:
            bounds.append(f'>= {s.min_value}')
        if s.max_value is not None:
            bounds.append(f'<= {s.max_value}')
        if s.choices is not None:
            bounds.append('one of ' + ', '.join(repr(c) for c in s.choices))
        extra = f" [{'; '.join(bounds)}]" if bounds else ''
        lines.append(f'{s.name} ({s.type}, {default}){extra}: {s.description}')
    return '\n'.join(lines)
