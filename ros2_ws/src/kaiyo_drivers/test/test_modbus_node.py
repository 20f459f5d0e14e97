"""Tier 2: the Modbus node in-process against a real pymodbus TCP server."""
import math

import pytest
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rclpy.parameter import Parameter

from kaiyo_common.params import ParameterContractError
from kaiyo_common.paths import data_path
from kaiyo_common.testing import Probe, ros_context
from kaiyo_drivers.modbus_map import load_register_map
from kaiyo_drivers.modbus_node import ModbusNode
from kaiyo_drivers.peers.modbus_server import ModbusPeer
from kaiyo_drivers.testing import free_tcp_port
from kaiyo_interfaces.msg import NamedReadings


def params(port, **extra):
    base = dict(device='plant', register_file='hardware/plant.yaml', port=port,
                poll_period_s=0.1, timeout_s=0.2, stale_after_s=0.5)
    base.update(extra)
    return [Parameter(k, value=v) for k, v in base.items()]


def test_node_publishes_readings_and_reports_exceptions():
    rmap = load_register_map(data_path('hardware', 'plant.yaml'), 'plant')
    port = free_tcp_port()
    peer = ModbusPeer(rmap, port=port).start()
    peer.set_values({'power_kw': 12.5, 'generator_state': 1, 'breaker_closed': 1})
    try:
        with ros_context() as ctx:
            node = ModbusNode(context=ctx, namespace='/plant', parameter_overrides=params(port))
            probe = Probe(ctx)
            got = probe.collect(NamedReadings, '/plant/readings')
            diags = probe.collect(DiagnosticArray, '/plant/diagnostics')
            assert probe.spin_until(lambda: any(m.error == '' for m in got), 10, [node])
            ok = [m for m in got if m.error == ''][-1]
            r = dict(zip(ok.names, ok.values))
            assert r['power_kw'] == pytest.approx(12.5) and r['generator_state'] == 1.0
            assert all(ok.valid) and ok.device == 'plant' and ok.units[ok.names.index(
                'power_kw')] == 'kW'
            assert probe.spin_until(
                lambda: diags and diags[-1].status[0].level == DiagnosticStatus.OK, 5, [node])
            peer.fail_with = 2
            assert probe.spin_until(lambda: 'exception 2' in got[-1].error, 5, [node])
            assert not any(got[-1].valid) and math.isnan(got[-1].values[0])
            # stale after 0.5 s without a complete poll, and diagnostics say why
            assert probe.spin_until(
                lambda: diags[-1].status[0].level == DiagnosticStatus.STALE
                and 'illegal data address' in diags[-1].status[0].message, 5, [node])
            peer.fail_with = None
            assert probe.spin_until(lambda: got[-1].error == '' and got[-1].age_s < 0.5, 5,
                                    [node])
            node.shutdown()
            node.destroy_node()
            probe.destroy()
    finally:
        peer.stop()


def test_bad_register_file_is_refused_at_start():
    with ros_context() as ctx:
        with pytest.raises(ParameterContractError, match="no block with 'device: nope'"):
            ModbusNode(context=ctx, parameter_overrides=params(5020, device='nope'))
        with pytest.raises(ParameterContractError, match="'poll_period_s'"):
            ModbusNode(context=ctx, parameter_overrides=params(5020, poll_period_s=0.0))
