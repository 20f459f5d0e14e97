"""Must-show: plant simulator -> real Modbus TCP on loopback -> kaiyo_drivers Modbus driver
-> plant monitor, three processes (tier 3). Readings flow; stopping the simulator raises
stale_data; restarting it clears the alarm. Every wait is on an event with a timeout."""
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from kaiyo_common.testing import Probe, ros_context, stop_process
from kaiyo_interfaces.msg import NamedReadings, PlantStatus

VENV = Path(sys.prefix)
ROOT = Path(os.environ.get('KAIYO_ROOT', Path(__file__).resolve().parents[4]))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Proc:
    """A child process killed at teardown (SIGINT, then SIGKILL)."""

    def __init__(self, argv, log: Path):
        self.log = log.open('w')
        self.p = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT,
                                  start_new_session=True)

    def stop(self) -> int | None:
        code = stop_process(self.p, timeout=10)
        self.log.close()
        return code


@pytest.fixture
def procs():
    started = []
    yield started
    for p in reversed(started):
        p.stop()


def start_sim(procs, port, tmp_path, n):
    # The node's console script (what `kaiyo plant sim` and bringup run).
    p = Proc([str(VENV / 'lib' / 'kaiyo_plant' / 'plant_sim'), '--ros-args', '-r',
              '__ns:=/plant', '-p', f'port:={port}', '-p', 'hs_m:=1.5', '-p', 'tp_s:=7.0'],
             tmp_path / f'sim{n}.log')
    procs.append(p)
    return p


def test_monitor_and_simulator_over_modbus_tcp(procs, tmp_path):
    port = free_port()
    sim = start_sim(procs, port, tmp_path, 1)
    procs.append(Proc([str(VENV / 'lib' / 'kaiyo_drivers' / 'modbus_driver'), '--ros-args',
                       '-r', '__ns:=/plant', '-r', '__node:=modbus',
                       '--params-file', str(ROOT / 'hardware' / 'plant.yaml'),
                       '-p', f'port:={port}', '-p', 'poll_period_s:=0.5',
                       '-p', 'stale_after_s:=2.0'], tmp_path / 'driver.log'))
    procs.append(Proc([str(VENV / 'lib' / 'kaiyo_plant' / 'plant_monitor'), '--ros-args',
                       '-r', '__ns:=/plant',
                       '--params-file', str(ROOT / 'ros2_ws/src/kaiyo_plant/config/'
                                            'plant_monitor.yaml'),
                       '-p', f'data_dir:={tmp_path / "history"}',
                       '-p', 'stale_after_s:=2.0', '-p', 'status_rate_hz:=5.0'],
                      tmp_path / 'monitor.log'))
    with ros_context() as ctx:
        probe = Probe(ctx)
        readings = probe.collect(NamedReadings, '/plant/readings')
        status = probe.collect(PlantStatus, '/plant/status')

        def logs():
            return '\n'.join(f'--- {f.name}\n{f.read_text()[-1500:]}'
                             for f in sorted(tmp_path.glob('*.log')))

        def fresh_running():
            return bool(status) and not status[-1].data_stale and \
                'stale_data' not in status[-1].active_alarms and \
                status[-1].generator_speed_rpm > 0.0
        # 1. Readings flow end to end: the simulated plant's values reach /plant/status.
        assert probe.spin_until(fresh_running, 60.0), logs()
        r = readings[-1]
        assert r.device == 'plant' and all(r.valid), logs()
        values = dict(zip(r.names, r.values, strict=True))
        assert values['breaker_closed'] == 1.0 and abs(values['wave_elevation_m']) < 5.0
        assert status[-1].breaker_closed
        assert status[-1].generator_state in (PlantStatus.GENERATOR_RUNNING,
                                              PlantStatus.GENERATOR_STOPPED)
        # 2. Stop the server: the monitor raises stale_data.
        assert sim.stop() == 0, logs()
        assert probe.spin_until(
            lambda: status[-1].data_stale and 'stale_data' in status[-1].active_alarms,
            30.0), logs()
        assert status[-1].generator_state == PlantStatus.GENERATOR_UNKNOWN
        # 3. Restart it on the same port: the driver reconnects and the alarm clears.
        start_sim(procs, port, tmp_path, 2)
        assert probe.spin_until(fresh_running, 60.0), logs()
        assert status[-1].energy_total_kwh >= 0.0
        probe.destroy()


def test_kaiyo_plant_sim_cli_serves_and_exits_cleanly(procs, tmp_path):
    from pymodbus.client import ModbusTcpClient
    port = free_port()
    sim = Proc([str(VENV / 'bin' / 'kaiyo'), 'plant', 'sim', '--port', str(port), '--hs', '0.8',
                '--tp', '6'], tmp_path / 'cli_sim.log')
    procs.append(sim)
    client = ModbusTcpClient('127.0.0.1', port=port, timeout=1)
    with ros_context() as ctx:       # only to wait on an event with a timeout
        probe = Probe(ctx)
        assert probe.spin_until(lambda: sim.p.poll() is None and client.connect(), 30.0), \
            (tmp_path / 'cli_sim.log').read_text()
        probe.destroy()
    rr = client.read_input_registers(0, count=12, device_id=1)
    client.close()
    assert not rr.isError() and len(rr.registers) == 12
    assert sim.stop() == 0
    bad = subprocess.run([str(VENV / 'bin' / 'kaiyo'), 'plant', 'sim', '--hs', '-1'],
                         capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert bad.returncode == 2 and "parameter 'hs_m'" in bad.stderr
