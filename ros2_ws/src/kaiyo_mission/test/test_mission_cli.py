"""The `kaiyo mission` commands: validate / plan in-process, run as real processes.

The run test is multi-process: the executor runs as its installed console script, the CLI
as `python -m kaiyo_mission.cli`, and the ControllerPeer test fixture in this process. It
waits for the progress line, sends SIGINT (Ctrl-C) and checks that the goal was canceled
cleanly: exit code 130, CANCELED printed, the vehicle left in HOLD.
"""
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from mission_test_peers import ControllerPeer

from kaiyo_interfaces.msg import VehicleStatus
from kaiyo_mission.cli import main

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[3]
EXAMPLE = REPO / 'missions' / 'isoyake_survey.yaml'
VENV = Path(sys.executable).parent.parent


def test_validate_exit_codes_and_output(capsys):
    assert main(['mission', 'validate', str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert 'OK:' in out and 'survey lines' in out
    bad = HERE / 'data' / 'bad' / 'range.yaml'
    assert main(['mission', 'validate', str(EXAMPLE), str(bad)]) == 1
    out = capsys.readouterr().out
    assert out.count(f'{bad}:') == 5                      # every error, not just the first
    assert main(['mission', 'validate', '--json', str(bad)]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data[0]['valid'] is False and len(data[0]['errors']) == 5


def test_plan_writes_geojson(tmp_path, capsys):
    out = tmp_path / 'plan.geojson'
    assert main(['mission', 'plan', str(EXAMPLE), '--out', str(out)]) == 0
    gj = json.loads(out.read_text())
    assert gj['type'] == 'FeatureCollection'
    assert any(f['properties']['role'] == 'survey_line' for f in gj['features'])
    assert main(['mission', 'plan', str(HERE / 'data' / 'bad' / 'min_altitude.yaml'),
                 '--out', str(tmp_path / 'x.geojson')]) == 1
    assert not (tmp_path / 'x.geojson').exists()


def test_rules_lists_every_rule(capsys):
    assert main(['mission', 'rules']) == 0
    out = capsys.readouterr().out
    for rule in ('outside_geofence', 'battery_reserve', 'battery_to_home', 'frozen_sensor'):
        assert rule in out


class _Reader(threading.Thread):
    def __init__(self, stream):
        super().__init__(daemon=True)
        self.stream, self.text = stream, ''

    def run(self):
        for chunk in iter(lambda: self.stream.read1(256), b''):
            self.text += chunk.decode(errors='replace')


@pytest.mark.ros
def test_run_shows_progress_and_ctrl_c_cancels(rig, tmp_path):
    peer = rig.add(ControllerPeer(rig.ctx))
    peer.SPEED = 0.5                     # slow enough that Ctrl-C lands mid-mission
    rig.start()
    mission = tmp_path / 'long.yaml'
    mission.write_text("""\
mission: cli-test
vehicle: hover_auv
limits: {max_depth: 25, min_altitude: 1, max_duration: 3600, battery_reserve: 0.2,
         geofence: [{x: -200, y: -200}, {x: 200, y: -200}, {x: 200, y: 200}, {x: -200, y: 200}]}
steps:
  - goto: {x: 150, y: 0, depth: 2}
  - surface: {}
""")
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    # the odometry watchdog widened: this test is about the CLI, and on a loaded CI host the
    # in-process peer's odometry can pause past the default 2 s and fail the mission early
    executor = subprocess.Popen([str(VENV / 'lib' / 'kaiyo_mission' / 'mission_executor'),
                                 '--ros-args', '-r', '__ns:=/hover_auv',
                                 '-p', 'odometry_timeout_s:=10.0'], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    cli = None
    try:
        deadline = time.monotonic() + 30
        while peer.count_subscribers('/hover_auv/odometry') < 1:   # the executor is up
            assert executor.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        cli = subprocess.Popen([sys.executable, '-m', 'kaiyo_mission.cli', 'mission', 'run',
                                str(mission), '--vehicle', 'hover_auv', '--wait', '30'],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        reader = _Reader(cli.stdout)
        reader.start()
        deadline = time.monotonic() + 60
        while '[running' not in reader.text or peer.x < 1.0:
            if cli.poll() is not None:
                reader.join(timeout=5)       # all it printed, with the reason it ended
                pytest.fail(f'the CLI exited {cli.returncode} before Ctrl-C:\n{reader.text}')
            assert time.monotonic() < deadline, reader.text
            time.sleep(0.05)             # polling a subprocess's output, not waiting blind
        assert 'step 1/2 goto' in reader.text and '%' in reader.text and 'ETA' in reader.text
        cli.send_signal(signal.SIGINT)
        try:
            code = cli.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pytest.fail('the CLI did not exit within 30 s of Ctrl-C; it printed:\n'
                        + reader.text)
        assert code == 130, reader.text
        reader.join(timeout=5)
        assert 'canceling' in reader.text and 'CANCELED' in reader.text, reader.text
        assert peer.mode_requests[0] == VehicleStatus.MODE_AUTO
        deadline = time.monotonic() + 10
        while peer.mode_requests[-1] != VehicleStatus.MODE_HOLD:
            assert time.monotonic() < deadline, peer.mode_requests
            time.sleep(0.05)
        assert executor.poll() is None   # the executor keeps serving after a cancel
    finally:
        for proc in (cli, executor):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
    assert executor.returncode == 0, executor.stderr.read().decode()
