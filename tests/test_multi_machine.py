"""Two "computers" on one link: the tower station and a vehicle in two network namespaces.

The test makes two network namespaces joined by a veth pair (created directly inside the
namespaces, addresses in a private /30 that exists only there, unique names per run, all
deleted afterwards). Every process also gets its own UTS namespace with the netns name as
hostname, as separate computers have. The DDS settings are those of docs/multi-machine.md:
`ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST` + `ROS_STATIC_PEERS` = the other end of the link.

  namespace "tower":   kaiyo bringup station          (heartbeat on /tower/heartbeat, plant
                                                       monitor, web view)
                       multi_machine_probe.py --role station   (the operator's side)
  namespace "vehicle": kaiyo bringup <vehicle stack>  (kaiyo_control controller,
                       kaiyo_mission mission_executor + safety_supervisor in /hover_auv)
                       multi_machine_probe.py --role vehicle

It shows VehicleStatus (vehicle -> station) and the heartbeat (station -> vehicle) crossing,
mission commands crossing (ValidateMission on a valid and an invalid mission, SetControlMode
answered by the controller), then sets the link down and waits for the vehicle's safety
supervisor to raise `comms_loss` (SafetyEvent on /hover_auv/safety/events, action SURFACE,
logged, and enforced on the controller). Needs root, iproute2 and util-linux; skipped
otherwise.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from kaiyo_common.testing import stop_process

ROOT = Path(__file__).resolve().parent.parent
PROBE = Path(__file__).with_name('multi_machine_probe.py')
KAIYO = Path(sys.executable).with_name('kaiyo')
MISSION = ROOT / 'missions' / 'isoyake_survey.yaml'
T0 = time.monotonic()
HEARTBEAT_TIMEOUT_S = 2.0        # the supervisor's comms-loss timeout in this test, s

pytestmark = [pytest.mark.slow, pytest.mark.ros, pytest.mark.timeout(240)]


def _netns_unavailable() -> str | None:
    if os.geteuid() != 0:
        return 'needs root to create network namespaces (run as root to include this test)'
    for tool, package in (('ip', 'iproute2'), ('unshare', 'util-linux')):
        if shutil.which(tool) is None:
            return f"'{tool}' is not installed (apt-get install {package})"
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
            # UDP only: no shared-memory shortcut between two "computers" on one host, so
            # every sample really crosses the veth link.
            'FASTDDS_BUILTIN_TRANSPORTS': 'UDPv4',
            'PYTHONUNBUFFERED': '1',
            'KAIYO_LOG_DIR': str(tmp / f'log_{side}'),
            'KAIYO_DATA_DIR': str(tmp / f'data_{side}'),
        })
        return env


class Proc:
    """A process in a namespace; a thread collects its output lines and JSON events."""

    def __init__(self, name: str, ns: str, cmd: list[str], env: dict[str, str]):
        self.name = name
        self.lines: list[str] = []
        self.log: list[str] = []          # the same lines with the time they arrived
        self.events: list[dict] = []
        self.cond = threading.Condition()
        # Own UTS namespace with the netns name as hostname too, as separate computers
        # have, so nothing host-specific is shared between the two "computers".
        wrapped = ['ip', 'netns', 'exec', ns, 'unshare', '--uts', 'sh', '-c',
                   'hostname "$0" && exec "$@"', ns, *cmd]
        self.proc = subprocess.Popen(wrapped, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True,
                                     start_new_session=True)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            with self.cond:
                self.lines.append(line.rstrip('\n'))
                self.log.append(f'{time.monotonic() - T0:6.1f} s  {self.lines[-1]}')
                if line.startswith('{'):
                    try:
                        self.events.append(json.loads(line))
                    except json.JSONDecodeError:
                        pass
                self.cond.notify_all()

    def _wait(self, find, what: str, timeout: float):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                found = find()
                if found is not None:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f'{self.name}: no {what} within {timeout} s; '
                                         'output:\n' + '\n'.join(self.log[-40:]))
                self.cond.wait(timeout=min(left, 1.0))

    def wait_event(self, predicate, timeout: float) -> dict:
        """The first JSON event so far (any order) that matches; waits up to timeout s."""
        return self._wait(lambda: next((e for e in self.events if predicate(e)), None),
                          'matching event', timeout)

    def wait_line(self, text: str, timeout: float) -> str:
        return self._wait(lambda: next((x for x in self.lines if text in x), None),
                          f'line with {text!r}', timeout)

    def stop(self) -> None:
        stop_process(self.proc, timeout=15, group=True)
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


# Seen once in ~15 runs: services crossed the link but no VehicleStatus reached the station
# probe within 60 s (cause not yet found). One rerun, reported by pytest as RERUN; a real
# break fails twice.
@pytest.mark.flaky(reruns=1)
def test_station_and_vehicle_across_a_link_then_comms_loss(link, tmp_path):
    station_name = f'tower_{link.ns["tower"]}'
    stack = tmp_path / 'vehicle_stack.yaml'
    event_log = tmp_path / 'safety.jsonl'
    stack.write_text(VEHICLE_STACK.format(timeout=HEARTBEAT_TIMEOUT_S, log=event_log),
                     encoding='utf-8')
    tower_env, vehicle_env = link.env('tower', tmp_path), link.env('vehicle', tmp_path)
    procs: list[Proc] = []
    try:
        # Started one after the other, as computers come up at sea (and so that no two DDS
        # participants of one namespace race for the same participant id).
        station = Proc('station bringup', link.ns['tower'],
                       [str(KAIYO), 'bringup', 'station', '-a', f'station:={station_name}',
                        '-a', 'heartbeat_rate_hz:=5.0'], tower_env)
        procs.append(station)
        station.wait_line('heartbeat at', timeout=60)
        sprobe = Proc('station probe', link.ns['tower'],
                      [sys.executable, str(PROBE), '--role', 'station', '--mission',
                       str(MISSION)], tower_env)
        procs.append(sprobe)
        sprobe.wait_event(lambda e: e['event'] == 'ready', timeout=60)
        vehicle = Proc('vehicle bringup', link.ns['vehicle'],
                       [str(KAIYO), 'bringup', str(stack)], vehicle_env)
        procs.append(vehicle)

        # telemetry, vehicle -> station: the controller's VehicleStatus
        st = sprobe.wait_event(lambda e: e['event'] == 'status', timeout=60)
        assert st['vehicle'] == 'hover_auv'
        # mission commands, station -> vehicle, and the vehicle's answers back
        ok = sprobe.wait_event(lambda e: e.get('what') == 'valid_mission', timeout=60)
        assert ok['valid'] and ok['estimated_duration_s'] > 0, ok
        bad = sprobe.wait_event(lambda e: e.get('what') == 'invalid_mission', timeout=30)
        assert not bad['valid']
        assert any('max_depth 900 m' in e for e in bad['errors']), bad['errors']
        mode = sprobe.wait_event(lambda e: e['event'] == 'set_mode', timeout=30)
        # this vehicle stack has no estimator: the controller refuses HOLD, and says why
        assert not mode['success'] and 'odometry' in mode['message'], mode

        # telemetry, station -> vehicle: the heartbeat, seen by a probe beside the supervisor
        vprobe = Proc('vehicle probe', link.ns['vehicle'],
                      [sys.executable, str(PROBE), '--role', 'vehicle'], vehicle_env)
        procs.append(vprobe)
        hb = vprobe.wait_event(lambda e: e['event'] == 'heartbeat', timeout=60)
        assert hb['station'] == station_name

        # while the link is up, the supervisor hears the station: no comms loss
        assert not [e for e in vprobe.events if e.get('rule') == 'comms_loss'], vprobe.events
        assert '[comms_loss]' not in '\n'.join(vehicle.lines)

        link.cut()
        cut_at = time.monotonic()
        ev = vprobe.wait_event(lambda e: e['event'] == 'safety' and e['rule'] == 'comms_loss'
                               and e['active'], timeout=30)
        elapsed = time.monotonic() - cut_at
        assert ev['action'] == 2, ev          # SafetyEvent.ACTION_SURFACE
        assert elapsed >= HEARTBEAT_TIMEOUT_S * 0.5, elapsed   # raised by the silence
        # the supervisor logs the event (JSON lines, fsync'ed) before it prints it ...
        vehicle.wait_line('[comms_loss]', timeout=15)
        logged = [json.loads(x) for x in event_log.read_text(encoding='utf-8').splitlines()]
        assert any(e['rule'] == 'comms_loss' and e['active'] for e in logged), logged
        # ... and enforces SURFACE on the controller (which refuses it without odometry)
        vehicle.wait_line('mode 4 refused', timeout=15)
    finally:
        for p in reversed(procs):
            p.stop()
        for p in procs:   # shown by pytest when the test fails
            print(f'----- {p.name} (exit {p.proc.returncode})', *p.log[-80:], sep='\n')
