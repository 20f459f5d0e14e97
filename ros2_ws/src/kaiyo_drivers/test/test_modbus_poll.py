"""Modbus polling against real pymodbus servers: TCP on loopback and RTU over a socat PTY."""
import dataclasses
import math

import pytest

from kaiyo_common.paths import data_path
from kaiyo_drivers.link import Backoff
from kaiyo_drivers.modbus_map import load_register_map
from kaiyo_drivers.modbus_poll import ModbusPoller
from kaiyo_drivers.peers.modbus_server import ModbusPeer
from kaiyo_drivers.testing import free_tcp_port

VALUES = dict(generator_speed_rpm=1500.3, generator_voltage_v=400.2, generator_current_a=-12.5,
              power_kw=10.25, rudder_angle_deg=-12.3, generator_temperature_c=45.6,
              generator_state=1, wave_elevation_m=-0.512, energy_total_kwh=123456.7,
              breaker_closed=1, power_limit_kw=30.0)


@pytest.fixture
def plant():
    return load_register_map(data_path('hardware', 'plant.yaml'), 'plant')


@pytest.fixture
def tcp_peer(plant):
    port = free_tcp_port()
    peer = ModbusPeer(plant, port=port).start()
    peer.set_values(VALUES)
    yield peer
    peer.stop()


def check_values(result):
    got = result.as_dict()
    for name, v in VALUES.items():
        assert got[name] == pytest.approx(v, abs=1e-3), name


def test_tcp_poll_reads_every_register(plant, tcp_peer):
    poller = ModbusPoller(plant, dataclasses.replace(plant.settings, port=tcp_peer.port))
    r = poller.poll()
    assert r.ok and r.error == '' and all(r.valid) and not r.stale
    check_values(r)
    poller.close()


def test_exception_response_is_reported_not_fatal(plant, tcp_peer):
    poller = ModbusPoller(plant, dataclasses.replace(plant.settings, port=tcp_peer.port))
    tcp_peer.fail_with = 4
    r = poller.poll()
    assert not r.ok and not any(r.valid) and all(math.isnan(v) for v in r.values)
    assert 'exception 4 (server device failure)' in r.error and r.exceptions == 3
    assert r.connected
    tcp_peer.fail_with = None
    r = poller.poll()
    assert r.ok
    check_values(r)
    poller.close()


def test_timeout_is_reported_then_recovers(plant, tcp_peer):
    s = dataclasses.replace(plant.settings, port=tcp_peer.port, timeout_s=0.2)
    now = [0.0]   # a clock the test advances past the reconnect backoff
    poller = ModbusPoller(plant, s, backoff=Backoff(1.0, 1.0), clock=lambda: now[0])
    assert poller.poll().ok
    tcp_peer.delay_s = 0.6
    r = poller.poll()
    assert not r.ok and 'no answer' in r.error and r.timeouts >= 1
    tcp_peer.delay_s = 0.0
    r = poller.poll()
    assert not r.connected and 'retrying' in r.error   # backoff: no reconnect storm
    now[0] += 1.5
    r = poller.poll()          # reconnected; the late answer of the old request is discarded
    assert r.ok, r.error
    check_values(r)
    poller.close()


def test_no_server_is_stale_not_fatal(plant):
    s = dataclasses.replace(plant.settings, port=free_tcp_port(), stale_after_s=0.1)
    poller = ModbusPoller(plant, s)
    r = poller.poll()
    assert not r.connected and 'cannot connect' in r.error and r.stale
    assert math.isinf(r.age_s)


def test_rtu_over_pty(plant, pty_pair):
    # parity N: this kernel's PTYs refuse PARENB (termios EINVAL); parity is a line setting
    # the RTU framing (CRC-16) does not depend on
    peer = ModbusPeer(plant, transport='rtu', serial_port=pty_pair.b, baud=19200,
                      parity='N').start()
    try:
        peer.set_values(VALUES)
        s = dataclasses.replace(plant.settings, transport='rtu', serial_port=pty_pair.a,
                                baud=19200, parity='N', timeout_s=0.5)
        poller = ModbusPoller(plant, s)
        r = poller.poll()
        assert r.ok, r.error
        check_values(r)
        peer.fail_with = 2
        r = poller.poll()
        assert 'exception 2 (illegal data address)' in r.error
        peer.fail_with = None
        peer.delay_s = 0.8                     # the device answers too late
        r = poller.poll()
        assert not r.ok and 'no answer' in r.error and r.timeouts == 1
        poller.close()
    finally:
        peer.stop()


def test_client_writes_reach_the_peer(plant, tcp_peer):
    poller = ModbusPoller(plant, dataclasses.replace(plant.settings, port=tcp_peer.port))
    assert poller.poll().ok
    words = plant.encode('power_limit_kw', 42.5)
    rr = poller.client.write_registers(plant['power_limit_kw'].address, words, device_id=1)
    assert not rr.isError()
    assert tcp_peer.values()['power_limit_kw'] == pytest.approx(42.5)
    assert poller.poll().as_dict()['power_limit_kw'] == pytest.approx(42.5)
    poller.close()
