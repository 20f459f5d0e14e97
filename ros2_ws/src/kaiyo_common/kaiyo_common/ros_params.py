"""Declare a `ParamSpec` contract on an rclpy node (the thin ROS side of kaiyo_common.params).

    SPECS = [ParamSpec('rate_hz', 'float', 'Publish rate, Hz', 10.0, min_value=0.1)]
    self.params = declare_contract(self, SPECS)   # raises ParameterContractError at start-up
    period = 1.0 / self.params.rate_hz

Values are declared with dynamic typing and checked by kaiyo's own rules, so `1` is accepted
for a float and every refusal names the parameter, the value and the rule. Later changes
(`ros2 param set`) pass through the same checks; read-only parameters refuse changes.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from types import SimpleNamespace

from rcl_interfaces.msg import ParameterDescriptor, SetParametersResult
from rclpy.node import Node
from rclpy.parameter import Parameter

from kaiyo_common.params import ParameterContractError, ParamSpec, validate


def _descriptor(spec: ParamSpec) -> ParameterDescriptor:
    # Bounds go into additional_constraints rather than rcl's typed ranges: rclpy would then
    # refuse an out-of-range value itself, with its own wording, before kaiyo's rule could
    # name it. kaiyo's set-parameters callback enforces them at run time.
    constraints = []
    if spec.min_value is not None:
        constraints.append(f'>= {spec.min_value}')
    if spec.max_value is not None:
        constraints.append(f'<= {spec.max_value}')
    if spec.choices is not None:
        constraints.append('one of ' + ', '.join(repr(c) for c in spec.choices))
    if spec.min_length is not None:
        constraints.append(f'at least {spec.min_length} elements')
    return ParameterDescriptor(description=spec.description, read_only=spec.read_only,
                               dynamic_typing=True,
                               additional_constraints='; '.join(constraints))


def declare_contract(node: Node, specs: Sequence[ParamSpec],
                     on_change: Callable[[str, object], None] | None = None) -> SimpleNamespace:
    """Declare every spec on `node`, validate the start-up values, return them as attributes.

    Raises ParameterContractError for a missing required parameter or a value that breaks
    its rule. `on_change(name, value)` is called after an accepted run-time change.
    """
    values = SimpleNamespace()
    by_name = {s.name: s for s in specs}
    for spec in specs:
        # required: declared without a value (NOT_SET unless a params file or -p gives one)
        default = None if spec.required else spec.default
        param = node.declare_parameter(spec.name, default, _descriptor(spec))
        if param.type_ == Parameter.Type.NOT_SET:
            raise ParameterContractError(spec.name, None, 'is required and was not given')
        value = param.value
        if spec.type.endswith('[]') and value is not None:
            value = list(value)
        setattr(values, spec.name, validate(spec, value))

    def check(params):
        pending = []
        for p in params:
            spec = by_name.get(p.name)
            if spec is None:
                continue  # someone else's parameter (e.g. use_sim_time)
            value = list(p.value) if spec.type.endswith('[]') else p.value
            try:
                pending.append((spec.name, validate(spec, value)))
            except ParameterContractError as err:
                return SetParametersResult(successful=False, reason=str(err))
        for name, value in pending:
            setattr(values, name, value)
            if on_change is not None:
                on_change(name, value)
        return SetParametersResult(successful=True)

    node.add_on_set_parameters_callback(check)
    return values
