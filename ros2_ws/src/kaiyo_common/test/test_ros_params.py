"""Tier 2: declare_contract on a real rclpy node with parameter_overrides."""
import pytest
from rclpy.node import Node
from rclpy.parameter import Parameter

from kaiyo_common.params import ParameterContractError, ParamSpec
from kaiyo_common.ros_params import declare_contract
from kaiyo_common.testing import ros_context

SPECS = [ParamSpec('rate_hz', 'float', 'Rate, Hz', 10.0, min_value=0.1, max_value=100.0),
         ParamSpec('port', 'str', 'Serial device path'),
         ParamSpec('frozen', 'int', 'A read-only count', 3, read_only=True)]


def make(ctx, **overrides):
    node = Node('contract_test', context=ctx, parameter_overrides=[
        Parameter(k, value=v) for k, v in overrides.items()])
    return node, declare_contract(node, SPECS)


def test_values_from_overrides_and_int_widened_to_float():
    with ros_context() as ctx:
        node, p = make(ctx, port='/dev/ttyS1', rate_hz=5)
        assert p.port == '/dev/ttyS1' and p.rate_hz == 5.0 and p.frozen == 3
        desc = node.describe_parameter('rate_hz')
        assert desc.description == 'Rate, Hz' and '<= 100.0' in desc.additional_constraints
        node.destroy_node()


def test_required_missing_and_out_of_range_raise():
    with ros_context() as ctx:
        with pytest.raises(ParameterContractError, match="'port' = None: is required"):
            make(ctx)
    with ros_context() as ctx:
        with pytest.raises(ParameterContractError, match="'rate_hz' = 0.0: must be >= 0.1"):
            make(ctx, port='x', rate_hz=0.0)


def test_runtime_changes_are_checked():
    with ros_context() as ctx:
        node, p = make(ctx, port='x')
        bad = node.set_parameters([Parameter('rate_hz', value=500.0)])[0]
        assert not bad.successful and "must be <= 100.0" in bad.reason and p.rate_hz == 10.0
        ok = node.set_parameters([Parameter('rate_hz', value=20.0)])[0]
        assert ok.successful and p.rate_hz == 20.0
        ro = node.set_parameters([Parameter('frozen', value=4)])[0]
        assert not ro.successful and p.frozen == 3
        node.destroy_node()
