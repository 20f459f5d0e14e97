"""Plant simulator node in-process, read by a real pymodbus TCP client (tier 2)."""
import socket

import pytest
from pymodbus.client import ModbusTcpClient
from rclpy.parameter import Parameter

from kaiyo_common import qos
from kaiyo_common.params import ParameterContractError
from kaiyo_common.paths import data_path
from kaiyo_common.testing import Probe, ros_context
from kaiyo_drivers.modbus_map import load_register_map
from kaiyo_interfaces.msg import SeaState
from kaiyo_plant.plant_sim_node import PlantSimNode


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def read_all(client, rmap) -> dict:
    out = {}
    for block in rmap.read_blocks():
        fn = {'input': client.read_input_registers, 'holding': client.read_holding_registers,
              'discrete': client.read_discrete_inputs, 'coil': client.read_coils}[block.table]
        rr = fn(block.start, count=block.count, device_id=1)
        assert not rr.isError(), rr
        words = rr.bits if block.table in ('discrete', 'coil') else rr.registers
        out.update(rmap.decode_block(block, words))
    return out


def test_serves_the_register_map_and_injects_faults():
    port = free_port()
    rmap = load_register_map(data_path('hardware', 'plant.yaml'), 'plant')
    with ros_context() as ctx:
        node = PlantSimNode(context=ctx, namespace='/plant', parameter_overrides=[
            Parameter('port', value=port), Parameter('hs_m', value=1.5),
            Parameter('tp_s', value=7.0), Parameter('update_rate_hz', value=20.0)])
        probe = Probe(ctx)
        truth = probe.collect(SeaState, '/sim/plant/sea_state', qos.LATCHED)
        assert probe.spin_until(lambda: truth, 5.0, nodes=[node])
        assert truth[0].hs_m == pytest.approx(1.5, rel=0.15)   # Rayleigh amplitudes
        assert truth[0].source == 'sim' and truth[0].energy_flux_kw_per_m > 0
        # Let the plate get going (node clock), then read every register over TCP.
        assert probe.spin_until(lambda: node.model.speed_rpm > node.model.cfg.cut_in_rpm,
                                30.0, nodes=[node])
        client = ModbusTcpClient('127.0.0.1', port=port, timeout=2)
        assert client.connect()
        try:
            v = read_all(client, rmap)
            model = node.model.readings()
            assert v['breaker_closed'] == 1.0 and v['generator_state'] in (0.0, 1.0)
            assert v['power_limit_kw'] == pytest.approx(45.0)
            assert abs(v['rudder_angle_deg']) <= 35.0
            assert v['generator_temperature_c'] == pytest.approx(model['generator_temperature_c'],
                                                                  abs=1.0)
            node.set_parameters([Parameter('generator_fault', value=True)])
            assert probe.spin_until(lambda: read_all(client, rmap)['generator_state'] == 2.0,
                                    5.0, nodes=[node])
            v = read_all(client, rmap)
            assert v['breaker_closed'] == 0.0 and v['power_kw'] == 0.0
        finally:
            client.close()
            node.shutdown()
            node.destroy_node()
            probe.destroy()


def test_port_in_use_and_bad_model_are_refused():
    with socket.socket() as busy:
        busy.bind(('127.0.0.1', 0))
        busy.listen()
        port = busy.getsockname()[1]
        with ros_context() as ctx:
            with pytest.raises(ParameterContractError) as info:
                PlantSimNode(context=ctx, parameter_overrides=[Parameter('port', value=port)])
            assert info.value.name == 'port'
    with ros_context() as ctx:
        with pytest.raises(ParameterContractError, match='plate depth 9.0 m exceeds'):
            PlantSimNode(context=ctx, parameter_overrides=[
                Parameter('port', value=free_port()), Parameter('plate_depth_m', value=9.0)])
        with pytest.raises(ParameterContractError) as info:
            PlantSimNode(context=ctx, parameter_overrides=[Parameter('hs_m', value=-1.0)])
        assert info.value.name == 'hs_m'
