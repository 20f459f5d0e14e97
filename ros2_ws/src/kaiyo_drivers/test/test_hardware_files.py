"""hardware/*.yaml and bringup/*_hardware.yaml: every driver block satisfies its node's
parameter contract, rcl accepts the files, and a driver runs as a process from them."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import rclpy
import yaml
from rclpy.context import Context

from kaiyo_bringup.bringup_file import load_bringup, ros_arguments
from kaiyo_common.params import validate_all
from kaiyo_common.paths import data_path
from kaiyo_common.testing import Probe, ros_context
from kaiyo_drivers import (
    camera_node,
    dvl_node,
    mavlink_node,
    modbus_node,
    nmea_node,
    serial_sensor_node,
    thruster_node,
)
from kaiyo_drivers.modbus_map import load_register_map
from kaiyo_drivers.peers.modbus_server import ModbusPeer
from kaiyo_drivers.testing import free_tcp_port
from kaiyo_interfaces.msg import NamedReadings

SPECS = {'modbus_driver': modbus_node.SPECS, 'nmea_driver': nmea_node.SPECS,
         'mavlink_bridge': mavlink_node.SPECS, 'thruster_driver': thruster_node.SPECS,
         'dvl_driver': dvl_node.SPECS, 'serial_sensor_driver': serial_sensor_node.SPECS,
         'camera_driver': camera_node.SPECS}
BRINGUPS = sorted(data_path('bringup').glob('*_hardware.yaml'))
HARDWARE = sorted(data_path('hardware').glob('*.yaml'))


@pytest.mark.parametrize('bringup', BRINGUPS, ids=lambda p: p.name)
def test_every_driver_block_meets_its_contract(bringup):
    b = load_bringup(bringup, root=data_path())
    assert b.nodes
    for node in b.nodes:
        assert node.package == 'kaiyo_drivers' and node.executable in SPECS, node.source
        key = f'{node.namespace.rstrip("/")}/{node.name}'
        values = {}
        for params_file in node.params:
            doc = yaml.safe_load(Path(params_file).read_text())
            values.update(doc.get(key, {}).get('ros__parameters', {}))
        assert values, f'{bringup.name}: no block {key} in {node.params}'
        values.update(node.parameters)
        registers = values.pop('registers', None)
        validate_all(SPECS[node.executable], values)     # raises naming the parameter
        if node.executable == 'modbus_driver':
            assert registers
            rmap = load_register_map(data_path(values['register_file']), values['device'])
            assert len(rmap) == len(registers)


@pytest.mark.parametrize('hw', HARDWARE, ids=lambda p: p.name)
def test_rcl_accepts_the_hardware_file(hw):
    ctx = Context()
    rclpy.init(context=ctx, args=['--ros-args', '--params-file', str(hw)])
    rclpy.shutdown(context=ctx)


def test_plant_modbus_driver_runs_as_a_process_from_the_bringup_file():
    """Tier 3: the console script started the way `kaiyo bringup` starts it."""
    rmap = load_register_map(data_path('hardware', 'plant.yaml'), 'plant')
    port = free_tcp_port()
    peer = ModbusPeer(rmap, port=port).start()
    peer.set_values({'power_kw': 7.5, 'generator_state': 1})
    spec = next(n for n in load_bringup(data_path('bringup', 'tower_hardware.yaml'),
                                        root=data_path()).nodes if n.name == 'modbus')
    exe = Path(sys.prefix) / 'lib' / 'kaiyo_drivers' / spec.executable
    proc = subprocess.Popen([str(exe), *ros_arguments(spec), '-p', f'port:={port}'],
                            env=os.environ, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        with ros_context() as ctx:
            probe = Probe(ctx)
            got = probe.collect(NamedReadings, '/plant/readings')
            assert probe.spin_until(lambda: any(m.error == '' for m in got), 20), \
                proc.stderr.read1().decode() if proc.poll() is not None else 'no readings'
            m = [m for m in got if m.error == ''][-1]
            assert dict(zip(m.names, m.values))['power_kw'] == 7.5
            probe.destroy()
    finally:
        proc.terminate()
        assert proc.wait(10) in (0, -15)
        peer.stop()
