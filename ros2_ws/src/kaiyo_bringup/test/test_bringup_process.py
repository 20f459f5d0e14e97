"""Tier 3: `kaiyo bringup` starts real node processes, configures them from YAML, and leaves
no process behind when stopped (SIGTERM) or killed (SIGKILL)."""
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from std_msgs.msg import Header

from kaiyo_common.testing import Probe, ros_context

KAIYO = [sys.executable, '-m', 'kaiyo_bringup.cli']


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead for our purposes
    with open(f'/proc/{pid}/stat') as f:
        return f.read().split(')')[-1].split()[0] != 'Z'


def wait_gone(pids, timeout=15.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = [p for p in pids if alive(p)]
        if not left:
            return []
        time.sleep(0.05)  # polling the OS for process exit; there is no event to wait on
    return [p for p in pids if alive(p)]


class Bringup:
    """A running `kaiyo bringup`, with its output collected line by line."""

    def __init__(self, bringup_file: Path):
        self.proc = subprocess.Popen([*KAIYO, 'bringup', str(bringup_file)],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.lines: list[str] = []
        self.partial = b''
        os.set_blocking(self.proc.stdout.fileno(), False)

    def pump(self):
        chunk = self.proc.stdout.read()  # binary + non-blocking: None when nothing waits
        if chunk:
            *done, self.partial = (self.partial + chunk).split(b'\n')
            self.lines.extend(ln.decode('utf-8', 'replace') for ln in done)

    def child_pids(self) -> list[int]:
        self.pump()
        return [int(m.group(1)) for ln in self.lines
                for m in [re.search(r'started \S+ \(pid (\d+)\)', ln)] if m]


@pytest.fixture
def bringup_file(tmp_path):
    params = write(tmp_path, 'hb.yaml', '''
        /test_station/heartbeat:
          ros__parameters:
            rate_hz: 20.0
        ''')
    return write(tmp_path, 'station.yaml', f'''
        description: two heartbeats for the test
        nodes:
          - name: heartbeat
            package: kaiyo_bringup
            executable: heartbeat
            namespace: /test_station
            params: [{params}]
            parameters: {{station: from_yaml}}
          - name: heartbeat
            package: kaiyo_bringup
            executable: heartbeat
            namespace: /other
            respawn: true
            respawn_delay_s: 0.2
        ''')


def test_node_gets_namespace_and_params_and_sigterm_leaves_no_child(bringup_file):
    b = Bringup(bringup_file)
    try:
        with ros_context() as ctx:
            probe = Probe(ctx)
            got = probe.collect(Header, '/test_station/heartbeat')
            # 20 Hz from the params file: 10 messages arrive well within the timeout
            assert probe.spin_until(lambda: len(got) >= 10, timeout=30.0), b.lines
            assert got[-1].frame_id == 'from_yaml'
            names = probe.node.get_node_names_and_namespaces()
            assert ('heartbeat', '/test_station') in names
            assert ('heartbeat', '/other') in names
            probe.destroy()
        pids = b.child_pids()
        assert len(pids) == 2
        b.proc.send_signal(signal.SIGTERM)
        assert b.proc.wait(timeout=30) == 0
        assert wait_gone(pids) == []
        b.pump()
        assert any('[heartbeat' in ln and 'heartbeat at 20.0 Hz' in ln for ln in b.lines)
    finally:
        if b.proc.poll() is None:
            b.proc.kill()


def test_respawn_and_sigkill_of_bringup_leaves_no_child(bringup_file):
    b = Bringup(bringup_file)
    try:
        deadline = time.monotonic() + 30
        while len(b.child_pids()) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        first = b.child_pids()
        assert len(first) == 2
        os.kill(first[1], signal.SIGKILL)   # the /other heartbeat, respawn: true
        while len(b.child_pids()) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        pids = b.child_pids()
        assert len(pids) == 3, b.lines
        b.proc.kill()                        # no chance to clean up: PDEATHSIG must
        b.proc.wait(timeout=10)
        assert wait_gone(pids) == []
    finally:
        if b.proc.poll() is None:
            b.proc.kill()


def test_unknown_executable_is_named(tmp_path):
    f = write(tmp_path, 'b.yaml', '''
        nodes:
          - {name: x, package: kaiyo_bringup, executable: no_such_node}
        ''')
    r = subprocess.run([*KAIYO, 'bringup', str(f)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert "executable 'no_such_node' not found in package 'kaiyo_bringup'" in r.stderr
    assert f'{f}:3' in r.stderr and 'heartbeat' in r.stderr  # lists what is available


def test_bad_params_file_is_named_with_line(tmp_path):
    bad = write(tmp_path, 'bad.yaml', '''
        /x:
          ros__parameters:
            rate_hz: {oops
        ''')
    f = write(tmp_path, 'b.yaml', f'''
        nodes:
          - {{name: x, package: kaiyo_bringup, executable: heartbeat, params: [{bad}]}}
        ''')
    r = subprocess.run([*KAIYO, 'bringup', str(f)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert re.search(rf'{re.escape(str(bad))}:\d+: invalid YAML', r.stderr), r.stderr


def test_parameter_outside_contract_stops_the_node_with_its_rule(tmp_path):
    f = write(tmp_path, 'b.yaml', '''
        nodes:
          - name: x
            package: kaiyo_bringup
            executable: heartbeat
            parameters: {rate_hz: 500.0}
        ''')
    r = subprocess.run([*KAIYO, 'bringup', str(f)], capture_output=True, text=True, timeout=60)
    assert "parameter 'rate_hz' = 500.0: must be <= 50.0" in r.stdout
    assert 'exited with code 2' in r.stdout


CONTAINER = [sys.executable, '-m', 'kaiyo_bringup.container']


def test_container_hosts_nodes_with_their_own_namespace_and_params_and_ctrl_c_exits_0(
        tmp_path):
    f = write(tmp_path, 'box.yaml', '''
        nodes:
          - name: heartbeat
            container: box
            package: kaiyo_bringup
            executable: heartbeat
            namespace: /one
            parameters: {station: first, rate_hz: 20.0}
          - name: beacon
            container: box
            package: kaiyo_bringup
            executable: heartbeat
            namespace: /two
            parameters: {station: second, rate_hz: 20.0}
        ''')
    dry = subprocess.run([*KAIYO, 'bringup', str(f), '--dry-run'], capture_output=True,
                         text=True, timeout=60)
    assert dry.returncode == 0, dry.stderr
    (line,) = dry.stdout.splitlines()          # one process for both nodes
    command = line.split()[1:]                 # the container's arguments, as the supervisor
    proc = subprocess.Popen([*CONTAINER, *command], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        with ros_context() as ctx:
            probe = Probe(ctx)
            first = probe.collect(Header, '/one/heartbeat')
            second = probe.collect(Header, '/two/heartbeat')
            assert probe.spin_until(lambda: len(first) >= 5 and len(second) >= 5,
                                    timeout=30.0)
            assert {m.frame_id for m in first} == {'first'}
            assert {m.frame_id for m in second} == {'second'}
            names = probe.node.get_node_names_and_namespaces()
            assert ('heartbeat', '/one') in names and ('beacon', '/two') in names
            probe.destroy()
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0, out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_container_names_the_node_that_fails_to_construct(tmp_path):
    r = subprocess.run([*CONTAINER, 'box',
                        '--node', '/ok/heartbeat', 'kaiyo_bringup', 'heartbeat',
                        '--ros-args', '-r', '__ns:=/ok',
                        '--node', '/bad/heartbeat', 'kaiyo_bringup', 'heartbeat',
                        '--ros-args', '-r', '__ns:=/bad', '-p', 'rate_hz:=500.0'],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert "[/bad/heartbeat] error: parameter 'rate_hz' = 500.0: must be <= 50.0" in r.stderr


def test_container_refuses_a_node_without_a_factory(tmp_path):
    f = write(tmp_path, 'b.yaml', '''
        nodes:
          - {name: nmea, container: box, package: kaiyo_drivers, executable: nmea_driver}
        ''')
    r = subprocess.run([*KAIYO, 'bringup', str(f)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert f"{f}:3: node 'nmea' cannot run in container 'box'" in r.stderr
