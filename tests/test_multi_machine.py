"""Two "computers" on one link: the tower station and a vehicle in two network namespaces.

The test makes two network namespaces joined by a veth pair (created directly inside the
namespaces, addresses in a private /30 that exists only there, unique names per run, all
deleted afterwards) and runs, with the DDS settings of docs/multi-machine.md
(`ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST` + `ROS_STATIC_PEERS` = the other end):

  namespace "tower":   kaiyo bringup station          (heartbeat on /tower/heartbeat)
                       multi_machine_probe.py --role station   (the operator's side)
  namespace "vehicle": kaiyo bringup <vehicle stack>  (kaiyo_control controller,
                       kaiyo_mission mission_executor + safety_supervisor in /hover_auv)
                       multi_machine_probe.py --role vehicle

It shows the heartbeat (station -> vehicle) and VehicleStatus (vehicle -> station) crossing,
mission commands crossing (ValidateMission on a valid and an invalid mission, SetControlMode),
then sets the link down and waits for the vehicle's safety supervisor to raise `comms_loss`
(SafetyEvent on /hover_auv/safety/events, action SURFACE as the supervisor's default).
Needs root and iproute2 (`ip netns`); skipped otherwise.
"""
from __future__ import annotations

import json
import os
import queue
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROBE = Path(__file__).with_name('multi_machine_probe.py')
KAIYO = Path(sys.executable).with_name('kaiyo')
MISSION = ROOT / 'missions' / 'isoyake_survey.yaml'
HEARTBEAT_TIMEOUT_S = 2.0        # the supervisor's comms-loss timeout in this test, s

pytestmark = [pytest.mark.slow, pytest.mark.ros, pytest.mark.timeout(180)]


def _netns_unavailable() -> str | None:
    if os.geteuid() != 0:
        return 'needs root to create network namespaces (run as root to include this test)'
    if shutil.which('ip') is None:
        return "iproute2 'ip' is not installed (apt-get install iproute2)"
    probe = subprocess.run(['ip', 'netns', 'list'], capture_output=True, text=True)
    if probe.returncode != 0:
        return f'`ip netns` is unavailable here: {probe.stderr.strip()}'
    return None


def _ip(*args: str) -> None:
    subprocess.run(['ip', *args], check=True, capture_output=True, text=True, timeout=10)


class Link:
    """Two namespaces joined by a veth pair; every name and address is unique to this run."""

    def __init__(self):
        tag = f'{os.getpid() % 10000:04d}{random.randrange(16 ** 3):03x}'
        self.ns = {'tower': f'kyt{tag}t', 'vehicle': f'kyt{tag}v'}
        self.dev = {'tower': f'kyv{tag}t', 'vehicle': f'kyv{tag}v'}   # <= 15 characters
        base = f'10.{random.randrange(200, 255)}.{random.randrange(256)}'
        host = 4 * random.randrange(64)                                 # a /30: .n+1, .n+2
        self.addr = {'tower': f'{base}.{host + 1}', 'vehicle': f'{base}.{host + 2}'}
        self.made: list[str] = []

    def up(self) -> None:
        for side in ('tower', 'vehicle'):
            _ip('netns', 'add', self.ns[side])
            self.made.append(self.ns[side])
        # created directly in the namespaces: nothing appears in the host's namespace
        _ip('link', 'add', self.dev['tower'], 'netns', self.ns['tower'], 'type', 'veth',
            'peer', 'name', self.dev['vehicle'], 'netns', self.ns['vehicle'])
        for side in ('tower', 'vehicle'):
            ns, dev = self.ns[side], self.dev[side]
            _ip('-n', ns, 'link', 'set', 'lo', 'up')
            _ip('-n', ns, 'addr', 'add', f'{self.addr[side]}/30', 'dev', dev)
            _ip('-n', ns, 'link', 'set', dev, 'up')

    def cut(self) -> None:
        _ip('-n', self.ns['tower'], 'link', 'set', self.dev['tower'], 'down')

    def down(self) -> None:
        for ns in self.made:   # deleting a namespace deletes its end of the veth pair
            subprocess.run(['ip', 'netns', 'del', ns], capture_output=True, timeout=10)
        self.made.clear()

    def env(self, side: str, tmp: Path) -> dict[str, str]:
        other = 'vehicle' if side == 'tower' else 'tower'
        env = dict(os.environ)
        env.update({
            'ROS_AUTOMATIC_DISCOVERY_RANGE': 'LOCALHOST',     # no multicast on the link ...
            'ROS_STATIC_PEERS': self.addr[other],             # ... only the other computer
            # On one host, Fast DDS would carry data over shared memory whatever the
            # namespaces; UDP only makes the traffic really cross the veth link.
            'FASTDDS_BUILTIN_TRANSPORTS': 'UDPv4',
            'PYTHONUNBUFFERED': '1',
            'KAIYO_LOG_DIR': str(tmp / f'log_{side}'),
        })
        return env


class Proc:
    """A process in a namespace whose stdout lines are collected by a thread."""

    def __init__(self, name: str, ns: str, cmd: list[str], env: dict[str, str]):
        self.name = name
        self.lines: list[str] = []
        self.events: queue.Queue = queue.Queue()
        self.proc = subprocess.Popen(['ip', 'netns', 'exec', ns, *cmd], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, start_new_session=True)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip('\n'))
            if line.startswith('{'):
                try:
                    self.events.put(json.loads(line))
                except json.JSONDecodeError:
                    pass

    def wait_event(self, predicate, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f'{self.name}: no matching event within {timeout} s; '
                                     'output:\n' + '\n'.join(self.lines[-40:]))
            try:
                ev = self.events.get(timeout=left)
            except queue.Empty:
                continue
            if predicate(ev):
                return ev

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        self.thread.join(timeout=5)


VEHICLE_STACK = """\
description: Vehicle side of test_multi_machine - controller, mission executor, supervisor.
nodes:
  - name: controller
    package: kaiyo_control
    executable: controller
    namespace: /hover_auv
    parameters: {{vehicle: hover_auv}}
  - name: mission_executor
    package: kaiyo_mission
    executable: mission_executor
    namespace: /hover_auv
  - name: safety_supervisor
    package: kaiyo_mission
    executable: safety_supervisor
    namespace: /hover_auv
    parameters: {{heartbeat_timeout_s: {timeout}, event_log: "{log}"}}
"""


@pytest.fixture
def link():
    reason = _netns_unavailable()
    if reason:
        pytest.skip(reason)
    made = Link()
    try:
        made.up()
        yield made
    finally:
        made.down()


def test_station_and_vehicle_across_a_link_then_comms_loss(link, tmp_path):
    station_name = f'tower_{link.ns["tower"]}'
    stack = tmp_path / 'vehicle_stack.yaml'
    stack.write_text(VEHICLE_STACK.format(timeout=HEARTBEAT_TIMEOUT_S,
                                          log=tmp_path / 'safety.jsonl'), encoding='utf-8')
    tower_env, vehicle_env = link.env('tower', tmp_path), link.env('vehicle', tmp_path)
    procs: list[Proc] = []
    try:
        vehicle = Proc('vehicle bringup', link.ns['vehicle'],
                       [str(KAIYO), 'bringup', str(stack)], vehicle_env)
        procs.append(vehicle)
        vprobe = Proc('vehicle probe', link.ns['vehicle'],
                      [sys.executable, str(PROBE), '--role', 'vehicle'], vehicle_env)
        procs.append(vprobe)
        station = Proc('station bringup', link.ns['tower'],
                       [str(KAIYO), 'bringup', 'station', '-a', f'station:={station_name}',
                        '-a', 'heartbeat_rate_hz:=5.0'], tower_env)
        procs.append(station)
        sprobe = Proc('station probe', link.ns['tower'],
                      [sys.executable, str(PROBE), '--role', 'station', '--mission',
                       str(MISSION)], tower_env)
        procs.append(sprobe)

        # telemetry, both ways across the link
        hb = vprobe.wait_event(lambda e: e['event'] == 'heartbeat', timeout=60)
        assert hb['station'] == station_name
        st = sprobe.wait_event(lambda e: e['event'] == 'status', timeout=60)
        assert st['vehicle'] == 'hover_auv'

        # mission commands from the station, answered by the vehicle
        ok = sprobe.wait_event(lambda e: e['event'] == 'validate', timeout=60)
        assert ok['what'] == 'valid_mission' and ok['valid'], ok
        assert ok['estimated_duration_s'] > 0
        bad = sprobe.wait_event(lambda e: e['event'] == 'validate', timeout=30)
        assert bad['what'] == 'invalid_mission' and not bad['valid']
        assert any('max_depth' in e or '900' in e for e in bad['errors']), bad['errors']
        mode = sprobe.wait_event(lambda e: e['event'] == 'set_mode', timeout=30)
        assert mode['message'] or mode['success'], mode   # an answer from the controller

        # while the link is up, the supervisor hears the station: no comms loss
        early = [json.loads(x) for x in vprobe.lines if x.startswith('{')]
        assert not [e for e in early if e.get('rule') == 'comms_loss' and e.get('active')], early

        link.cut()
        cut_at = time.monotonic()
        ev = vprobe.wait_event(lambda e: e['event'] == 'safety' and e['rule'] == 'comms_loss'
                               and e['active'], timeout=30)
        elapsed = time.monotonic() - cut_at
        assert ev['action'] == 2, ev          # SafetyEvent.ACTION_SURFACE
        assert elapsed >= HEARTBEAT_TIMEOUT_S * 0.5, elapsed   # raised by the silence, not before
        logged = [json.loads(x) for x in (tmp_path / 'safety.jsonl').read_text().splitlines()]
        assert any(e['rule'] == 'comms_loss' and e['active'] for e in logged), logged
    finally:
        for p in reversed(procs):
            p.stop()
