"""`kaiyo demo`: a simulated isoyake survey off the Hiratsuka tower, end to end.

Thin orchestration; the figures are computed in kaiyo_bringup.demo_core (pure, tested).
Stages, each reported on the terminal and in summary.json:
  prepare   run folder, demo data overlay (KAIYO_ROOT: vehicle camera rates, scene seed)
  missions  validate the three mission files (kaiyo_mission.validator)
  bringup   bringup/sim.yaml + bringup/demo.yaml as supervised processes (kaiyo_bringup)
  ready     simulator clock running, every mission executor answering
  run       the three missions at once, progress on the terminal
  map       the seabed node's final survey map
  shutdown  every process stopped (SIGINT -> SIGTERM -> SIGKILL), recording closed
  evaluate  survey-map and urchin errors against the simulator's ground truth
  report    kaiyo_report survey report (ja/en) from the MCAP recording
The exit code is 0 only when every stage succeeded and every vehicle did its job; otherwise
the failing stage is named with its reason. Node output goes to <run>/logs/nodes.log.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import signal
import socket
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import yaml
from rclpy._rclpy_pybind11 import InvalidHandle, RCLError

from kaiyo_bringup.demo_core import (
    DemoError,
    Lattice,
    StageLog,
    Summary,
    VehicleRun,
    area_mask,
    map_error,
    progress_line,
    samples_per_cell,
    truth_cover_per_cell,
    urchins_per_cell,
)

SURVEY_VEHICLE = 'hover_auv'
VEHICLES = ('hover_auv', 'camera_robot', 'wave_boat')
DEFAULT_MISSIONS = {
    'hover_auv': 'missions/demo/hover_auv_survey.yaml',
    'camera_robot': 'missions/demo/camera_robot_stations.yaml',
    'wave_boat': 'missions/demo/wave_boat_relay.yaml',
}
# `--short` (CI, a first look): a 10 m x 4 m survey and one camera station
SHORT_MISSIONS = {
    'hover_auv': 'missions/demo/hover_auv_survey_short.yaml',
    'camera_robot': 'missions/demo/camera_robot_stations_short.yaml',
    'wave_boat': 'missions/demo/wave_boat_relay.yaml',
}
# What counts as the vehicle having done its job: the relay's hold is released by the demo.
EXPECTED = {'hover_auv': ('SUCCEEDED',), 'camera_robot': ('SUCCEEDED',),
            'wave_boat': ('SUCCEEDED', 'CANCELED')}
TRUTH_RESOLUTION_M = 0.1      # m, ground-truth raster (100 samples per 1 m cell)
READY_TIMEOUT_S = 120.0       # s wall: 11 Python processes (19 nodes) start on 2 cores
MAP_TIMEOUT_S = 60.0          # s wall: the final map after the survey ends
# CPU budget. Every rclpy node pays ~0.3-0.8 ms per wake-up on these machines, and 17 of them
# run beside the simulator, so what costs is not physics but messages (bringup/sim.yaml
# shares processes and uses rclpy's EventsExecutor to cut that, see docs/demo.md). Measured
# on the short survey: with the at-sea rates (IMU 50 Hz, control 50 Hz, odometry 50 Hz) the
# stack needs ~0.8 CPU-s per simulated second, i.e. at most ~2.5x real time on 2 cores. The
# demo's simulated sensors therefore report at the rates below (the shipped vehicle files keep
# theirs; `kaiyo bringup sim` uses them). In lockstep the simulator steps a whole round before
# it reads new commands, so the thrust changes once per round: with rounds of 0.1 s, control
# faster than 10 Hz is computed and thrown away, so clock, control and odometry run at 10 Hz
# of sim time (the anchor: MVP controls at 10 Hz). Rounds of 0.2 s (5 Hz effective)
# were tried: the camera robot then wanders off its station.
CAMERA_ROBOT_RATE_HZ = 0.2
DEMO_SENSOR_RATES_HZ = {'imu': 20.0, 'pressure': 5.0, 'altimeter': 5.0, 'thrusters': 2.0}
DEMO_SIM_ARGS = {'clock_rate_hz': '10.0', 'control_rate_hz': '10.0', 'odometry_rate_hz': '10.0',
                 'supervisor_rate_hz': '5.0', 'executor_rate_hz': '5.0',
                 'lockstep_period_s': '0.1',
                 # Watchdogs count sim seconds; at ~4x real time a process that the shared
                 # machine leaves unscheduled for 1 s of wall time is 4 s late. These windows
                 # still catch a real dropout within seconds; the at-sea values are in the
                 # packages' config files.
                 'stale_min_s': '6.0', 'odometry_timeout_s': '6.0', 'status_timeout_s': '8.0',
                 'heartbeat_timeout_s': '10.0'}
# The simulator runs at a lower CPU priority: in lockstep it only waits for the controllers,
# so when the 2 cores are saturated it must yield to the estimators, supervisors and the
# seabed node, or they fall behind the sim clock and see "stale" data that is only late.
SIM_NICE = 10


def register(sub) -> None:
    p = sub.add_parser('demo', help='run the simulated isoyake survey off the tower, end to end '
                                    '(report + summary.json in runs/<timestamp>/)')
    p.add_argument('--duration', type=float, default=0.0, metavar='S',
                   help='stop the missions after this much simulated time, s (0: run until '
                        'the survey and the camera stations are done)')
    p.add_argument('--seed', type=int, default=42,
                   help='seed of the seabed scene and of the simulator (42: the shipped scene)')
    p.add_argument('--lang', choices=('ja', 'en', 'both'), default='both',
                   help='report language (both: Japanese first, with a switch)')
    p.add_argument('--out', default='runs', help='folder for runs/<timestamp>/ (default runs)')
    p.add_argument('--headless', dest='headless', action='store_true', default=None,
                   help='do not open the report in a browser (default on without a display)')
    p.add_argument('--no-headless', dest='headless', action='store_false',
                   help='open the report in a browser at the end')
    p.add_argument('--realtime', action='store_true',
                   help='run at wall-clock speed (for watching with `kaiyo web`) instead of '
                        'lockstep as fast as the machine allows')
    p.add_argument('--short', action='store_true',
                   help='the short form: a 10 m x 4 m survey and one camera station (~1.5 min)')
    p.add_argument('--survey-mission', default='', metavar='FILE',
                   help=f"hover_auv survey mission (default {DEFAULT_MISSIONS['hover_auv']}, "
                        f"with --short {SHORT_MISSIONS['hover_auv']})")
    p.add_argument('--camera-rate', type=float, default=0.5, metavar='HZ',
                   help='survey camera frame rate, Hz of sim time (default 0.5: a frame every '
                        '~1.2 m at 0.6 m/s, the footprint is ~2 m long at 2 m altitude)')
    p.add_argument('--max-wall', type=float, default=900.0, metavar='S',
                   help='give up after this much wall time in the run stage, s')
    p.set_defaults(func=_run)


def _run(args) -> int:
    return DemoRun(args).run()


def _utc_stamp() -> str:
    return datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def make_overlay_root(repo: Path, dest: Path, seed: int, camera_rates: dict[str, float],
                      sensor_rates: dict[str, float] | None = None) -> Path:
    """A KAIYO_ROOT for this run: the clone's folders linked, plus copies of sim/vehicles
    (camera rate, and sensor rates capped at `sensor_rates`) and sim/worlds/*.yaml (scene
    seed)."""
    sensor_rates = DEMO_SENSOR_RATES_HZ if sensor_rates is None else sensor_rates
    dest.mkdir(parents=True)
    for name in ('hardware', 'ros2_ws', 'missions', 'bringup', 'launch'):
        if (repo / name).exists():
            (dest / name).symlink_to(repo / name)
    vdir, wdir = dest / 'sim' / 'vehicles', dest / 'sim' / 'worlds'
    vdir.mkdir(parents=True)
    wdir.mkdir(parents=True)
    for f in sorted((repo / 'sim' / 'vehicles').glob('*.yaml')):
        data = yaml.safe_load(f.read_text())
        if f.stem in camera_rates and isinstance(data.get('camera'), dict):
            data['camera']['rate_hz'] = float(camera_rates[f.stem])
        for sensor, rate in sensor_rates.items():
            spec = (data.get('sensors') or {}).get(sensor)
            if isinstance(spec, dict) and spec.get('rate_hz', 0) > rate:
                spec['rate_hz'] = float(rate)
        header = f'# kaiyo demo copy of {f} (camera and sensor rate_hz set by `kaiyo demo`)\n'
        (vdir / f.name).write_text(header + yaml.safe_dump(data, sort_keys=False))
    for f in sorted((repo / 'sim' / 'worlds').glob('*.yaml')):
        data = yaml.safe_load(f.read_text())
        data.setdefault('scene', {})['seed'] = int(seed)
        (wdir / f.name).write_text(f'# kaiyo demo copy of {f} (scene seed {seed})\n'
                                   + yaml.safe_dump(data, sort_keys=False))
    for extra in (repo / 'sim').iterdir():
        if extra.name not in ('vehicles', 'worlds'):
            (dest / 'sim' / extra.name).symlink_to(extra)
    return dest


class NodeLog:
    """The supervisor's output stream: every line to the log file, and the last lines of each
    node kept so a stage that fails because of a node can quote it."""

    def __init__(self, path: Path, keep: int = 4):
        self.file = open(path, 'w', buffering=1, encoding='utf-8')
        self.name = str(path)
        self.keep = keep
        self.tails: dict[str, list[str]] = {}

    def write(self, text: str) -> None:
        self.file.write(text)
        for line in text.splitlines():
            if line.startswith('[') and '] ' in line:
                node, msg = line[1:].split('] ', 1)
                tail = self.tails.setdefault(node.strip(), [])
                if msg.strip():
                    tail.append(msg.strip())
                    del tail[:-self.keep]

    def flush(self) -> None:
        self.file.flush()

    def close(self) -> None:
        self.file.close()

    def last_words(self, node: str) -> str:
        return ' / '.join(self.tails.get(node, [])[-2:])


class Terminal:
    """Progress on the terminal: one updating line on a tty, a line every 10 s otherwise."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty()
        self.last = 0.0
        self.width = 0

    def say(self, text: str) -> None:
        if self.tty and self.width:
            self.stream.write('\r' + ' ' * self.width + '\r')
            self.width = 0
        self.stream.write(text + '\n')
        self.stream.flush()

    def progress(self, text: str) -> None:
        now = time.monotonic()
        if self.tty:
            if now - self.last < 0.5:
                return
            self.stream.write('\r' + text[:160].ljust(self.width))
            self.width = len(text[:160])
        else:
            if now - self.last < 10.0:
                return
            self.stream.write(text + '\n')
        self.last = now
        self.stream.flush()


class DemoRun:
    def __init__(self, args):
        from kaiyo_common.paths import repo_root
        self.args = args
        self.repo = repo_root()
        self.term = Terminal()
        self.stages = StageLog()
        self.wall0 = time.monotonic()
        self.run_dir = Path(args.out).resolve() / _utc_stamp()
        missions = dict(SHORT_MISSIONS if args.short else DEFAULT_MISSIONS)
        if args.survey_mission:
            missions[SURVEY_VEHICLE] = args.survey_mission
        self.vehicles = {v: VehicleRun(v, missions[v], EXPECTED[v]) for v in VEHICLES}
        self.summary = Summary(run_dir=str(self.run_dir), seed=args.seed, world='hiratsuka_tower',
                               survey_mission=missions[SURVEY_VEHICLE],
                               mode='realtime' if args.realtime else 'lockstep',
                               camera_rate_hz=args.camera_rate, vehicles=self.vehicles)
        self.sup = None
        self.sup_result = None
        self.stop_event = threading.Event()
        self.ros = None
        self.interrupted = False
        self.map_msg = None
        self.bag_dir = self.run_dir / 'bag'

    # -- stage helpers ------------------------------------------------------------------
    def stage(self, name: str, fn):
        self.stages.begin(name)
        self.term.say(f'[demo] {name} ...')
        try:
            detail = fn() or ''
        except KeyboardInterrupt:
            self.interrupted = True
            self.stages.fail(name, 'interrupted (Ctrl-C)')
            self.term.say(f'[demo] {name}: FAILED: interrupted (Ctrl-C)')
            return False
        except DemoError as err:
            self.stages.fail(name, str(err))
            self.term.say(f'[demo] {name}: FAILED: {err}')
            return False
        except Exception as err:   # noqa: BLE001 - any other crash is named, not hidden
            self.stages.fail(name, f'{type(err).__name__}: {err}')
            self.term.say(f'[demo] {name}: FAILED: {type(err).__name__}: {err}')
            return False
        r = self.stages.ok(name, detail)
        self.term.say(f'[demo] {name}: ok ({r.wall_s:.1f} s){": " + detail if detail else ""}')
        return True

    # -- the run --------------------------------------------------------------------------
    def run(self) -> int:
        self.term.say(f'[demo] kaiyo isoyake survey demo -> {self.run_dir}')
        ok = self.stage('prepare', self.prepare) and self.stage('missions', self.validate) \
            and self.stage('bringup', self.bringup)
        if ok:
            # The supervisor runs in this (main) thread: it forks the nodes, and a fork from a
            # second thread while this one holds a lock can deadlock the child; PDEATHSIG also
            # follows the forking thread. The ROS side of the demo runs in a worker thread and
            # stops the supervisor when it is done; Ctrl-C / SIGTERM stop both.
            worker = threading.Thread(target=self._orchestrate, name='demo', daemon=True)
            old = {sig: signal.signal(sig, self._on_signal)
                   for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                worker.start()
                self.sup_result = self.sup.run()
            finally:
                for sig, handler in old.items():
                    signal.signal(sig, handler)
                self.stop_event.set()
            worker.join(timeout=60.0)
            if worker.is_alive():
                self.stages.fail('shutdown', 'the demo worker did not end within 60 s of the '
                                             'processes stopping')
            else:
                self.stage('shutdown', self.shutdown)
            if self.map_msg is not None and not self.interrupted:
                self.stage('evaluate', self.evaluate)
            if not self.interrupted and self.bag_dir.exists():
                self.stage('report', self.report)
        self.summary.wall_time_s = time.monotonic() - self.wall0
        return self.finish()

    def _on_signal(self, signum, _frame) -> None:
        self.interrupted = True
        self.stop_event.set()
        self.sup.stop()

    def _orchestrate(self) -> None:
        """ready -> run -> map, plant, record; then stop the processes."""
        try:
            if self.stage('ready', self.ready):
                self.stage('run', self.run_missions)
                # the map is worth fetching even after a failed mission: say what exists
                if not self.interrupted:
                    self.stage('map', self.final_map)
                    self.stage('plant', self.check_plant)
                    self.stage('record', self.check_recording)
        finally:
            if self.ros is not None:
                self.summary.frames_received = self.ros.frames
                self.summary.frames_analysed = self.ros.observations
                self.summary.frames_mapped = self.ros.mapped
                try:
                    self.ros.destroy()
                except (InvalidHandle, RCLError) as err:
                    self.term.say(f'[demo] closing the demo node: {type(err).__name__}: {err}')
                self.ros = None
            self.summary.cpu_s = self.child_cpu_s()
            self.sup.stop()

    def check_stop(self) -> None:
        """Raise KeyboardInterrupt in the worker when the demo is being stopped."""
        if self.stop_event.is_set():
            raise KeyboardInterrupt

    # prepare ---------------------------------------------------------------------------
    def prepare(self) -> str:
        a = self.args
        if a.camera_rate <= 0 or not math.isfinite(a.camera_rate):
            raise DemoError(f'--camera-rate {a.camera_rate} Hz must be > 0')
        if a.duration < 0:
            raise DemoError(f'--duration {a.duration} s must be >= 0')
        if a.seed < 0:
            raise DemoError(f'--seed {a.seed} must be >= 0')
        self.run_dir.mkdir(parents=True, exist_ok=False)
        (self.run_dir / 'logs').mkdir()
        self.root = make_overlay_root(self.repo, self.run_dir / 'root', a.seed,
                                      {SURVEY_VEHICLE: a.camera_rate,
                                       # the camera robot's photos at its stations:
                                       # a few per 20 s station are enough
                                       'camera_robot': CAMERA_ROBOT_RATE_HZ})
        self.world_file = self.root / 'sim' / 'worlds' / 'hiratsuka_tower.yaml'
        self.bag_dir = self.run_dir / 'bag'
        self.map_dir = self.run_dir / 'map'
        self.map_dir.mkdir()
        os.environ['KAIYO_ROOT'] = str(self.root)
        os.environ['KAIYO_LOG_DIR'] = str(self.run_dir / 'logs')
        os.environ['KAIYO_DATA_DIR'] = str(self.run_dir / 'data')
        os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
        os.environ.setdefault('MUJOCO_GL', 'egl')
        self.map_msg = None
        self.summary.paths = {'run_dir': str(self.run_dir), 'bag': str(self.bag_dir),
                              'map': str(self.map_dir), 'logs': str(self.run_dir / 'logs'),
                              'summary': str(self.run_dir / 'summary.json')}
        return f'scene seed {a.seed}, camera {a.camera_rate:g} Hz'

    def validate(self) -> str:
        from kaiyo_mission.validator import validate_text
        self.mission_text = {}
        notes = []
        for v, run in self.vehicles.items():
            path = Path(run.mission_file)
            if not path.is_absolute():
                path = self.repo / path
            try:
                text = path.read_text(encoding='utf-8')
            except OSError as err:
                raise DemoError(f'{path}: cannot read ({err.strerror})') from None
            report = validate_text(text, str(path))
            if not report.ok:
                raise DemoError('; '.join(str(e) for e in report.errors[:5]))
            if report.mission.vehicle != v:
                raise DemoError(f'{path}: mission is for {report.mission.vehicle!r}, the demo '
                                f'runs it on {v!r}')
            self.mission_text[v] = (text, str(path))
            if v == SURVEY_VEHICLE:
                self.survey_estimate_s = report.estimated_duration_s
                surveys = [st for st in report.mission.steps if st.kind == 'survey']
                if not surveys:
                    raise DemoError(f'{path}: the survey mission has no survey step')
                self.survey_polygon = [p.xy for p in surveys[0].polygon]
            notes.append(f'{v} ~{report.estimated_duration_s / 60:.0f} min')
        return ', '.join(notes)

    # bringup ---------------------------------------------------------------------------
    def bringup(self) -> str:
        from kaiyo_bringup.bringup_file import Bringup, load_bringup
        from kaiyo_bringup.supervisor import ExecutableNotFoundError, Supervisor
        a = self.args
        sim_args = {'vehicles': ','.join(VEHICLES), 'world': str(self.world_file),
                    'seed': str(a.seed), 'mode': 'realtime' if a.realtime else 'lockstep',
                    **DEMO_SIM_ARGS}
        demo_args = {'survey_vehicle': SURVEY_VEHICLE, 'bag_dir': str(self.bag_dir),
                     'map_dir': str(self.map_dir), 'modbus_port': str(_free_port())}
        sim = load_bringup(self.repo / 'bringup' / 'sim.yaml', sim_args, self.repo)
        extra = load_bringup(self.repo / 'bringup' / 'demo.yaml', demo_args, self.repo)
        nodes = sim.nodes + extra.nodes
        # record which classifier makes the survey map (summary.json `seabed_model`)
        from kaiyo_seabed.model import model_file
        for spec in (m for n in extra.nodes for m in (n.members or [n])):   # containers too
            if spec.package == 'kaiyo_seabed':
                name = str(spec.parameters.get('model_path', ''))
                self.summary.seabed_model = {
                    'model_path': name,
                    'file': str(model_file(name)) if name else 'shipped (real-photo) model'}
        # every executable must exist before anything starts: name what is missing
        from kaiyo_bringup.supervisor import find_executable
        missing = []
        for spec in nodes:
            try:
                find_executable(spec)
            except ExecutableNotFoundError as err:
                missing.append(str(err))
        if missing:
            raise DemoError('not installed: ' + ' | '.join(missing))
        self.log_file = NodeLog(self.run_dir / 'logs' / 'nodes.log')
        # the vehicles' stack must live through the run; the seabed node, the recorder and
        # the plant are judged by their own stages (map, report, plant)
        self.essential = {spec.full_name for spec in sim.nodes}
        combined = Bringup(sim.file, 'kaiyo demo', {**sim.arguments, **extra.arguments}, nodes)
        # the nodes that stop cleanly do so within a second of SIGINT; the controllers ignore
        # SIGINT and SIGTERM once the sim clock has stopped (reported), so keep the wait short
        self.sup = Supervisor(combined, out=self.log_file, sigint_timeout_s=4.0,
                              sigterm_timeout_s=2.0)
        n_nodes = sum(len(spec.members) or 1 for spec in nodes)
        return f'{n_nodes} nodes in {len(nodes)} processes (log: {self.log_file.name})'

    def dead_children(self, names=None) -> list[str]:
        """Processes (by default the essential ones) that ended while the demo needs them,
        each with its last words from the log."""
        if self.sup is None:
            return []
        names = self.essential if names is None else set(names)
        out = []
        for c in self.sup.children:
            if c.spec.full_name in names and c.exit_code is not None and c.proc is None:
                last = self.log_file.last_words(c.spec.name)
                hosting = (f" (hosting {', '.join(m.full_name for m in c.spec.members)})"
                           if c.spec.is_container else '')
                out.append(f'{c.spec.full_name}{hosting} exited with code {c.exit_code}'
                           + (f': {last}' if last else '') + f' (log: {self.log_file.name})')
        return out

    def node_names(self, package: str) -> set[str]:
        """The processes running nodes of this package (a container counts for its members)."""
        return {c.spec.full_name for c in self.sup.children
                if package in {c.spec.package, *(m.package for m in c.spec.members)}} \
            if self.sup else set()

    # ready -----------------------------------------------------------------------------
    def ready(self) -> str:
        self.ros = DemoRos(SURVEY_VEHICLE, VEHICLES)
        deadline = time.monotonic() + READY_TIMEOUT_S
        pending = set(VEHICLES)
        niced = False
        while True:
            self.check_stop()
            dead = self.dead_children()
            if dead:
                raise DemoError('; '.join(dead))
            if not niced:
                niced = self.renice_sim()
            self.ros.spin(0.1)
            for v in list(pending):
                if self.ros.clients[v].action.server_is_ready():
                    pending.discard(v)
            clock_ok = self.ros.sim_time() > 0.0
            if not pending and clock_ok and self.ros.odometry_seen >= set(VEHICLES):
                break
            if time.monotonic() > deadline:
                what = []
                if not clock_ok:
                    what.append('no /clock from the simulator')
                if pending:
                    what.append('no mission executor on ' + ', '.join(
                        f'/{v}/run_mission' for v in sorted(pending)))
                missing = set(VEHICLES) - self.ros.odometry_seen
                if missing:
                    what.append('no odometry from ' + ', '.join(sorted(missing)))
                raise DemoError(f'not ready after {READY_TIMEOUT_S:g} s: ' + '; '.join(what))
            self.term.progress(f'[demo] waiting for the stack: sim {self.ros.sim_time():.1f} s, '
                               f'executors {len(VEHICLES) - len(pending)}/{len(VEHICLES)}')
        self.ros.stop_watching_odometry()
        # Two simulators on one domain (a second demo, a `kaiyo sim run`) drive each other's
        # vehicles and clocks: the run would fail later in confusing ways, so stop here.
        clocks = self.ros.node.count_publishers('/clock')
        if clocks > 1:
            domain = os.environ.get('ROS_DOMAIN_ID', '0') or '0'
            raise DemoError(f'{clocks} publishers of /clock on ROS_DOMAIN_ID={domain}: another '
                            'simulator (a second kaiyo demo or kaiyo sim run) is running on '
                            'this domain; stop it or run the demo with another ROS_DOMAIN_ID')
        return f'sim clock at {self.ros.sim_time():.1f} s'

    def renice_sim(self) -> bool:
        for c in self.sup.children:
            if c.spec.package == 'kaiyo_sim' and c.proc is not None:
                try:
                    os.setpriority(os.PRIO_PROCESS, c.proc.pid, SIM_NICE)
                except OSError:
                    pass     # not allowed here: the demo still runs, only less robustly
                return True
        return False

    # run -------------------------------------------------------------------------------
    def run_missions(self) -> str:
        ros, a = self.ros, self.args
        for v in VEHICLES:
            text, name = self.mission_text[v]
            if not ros.clients[v].start(text, name):
                r = ros.clients[v].result
                self.vehicles[v].outcome = r.outcome.name
                self.vehicles[v].reason = r.reason
                raise DemoError(f'{v}: mission not started: {r.reason}')
            self.vehicles[v].outcome = 'RUNNING'
        sim0, wall0 = ros.sim_time(), time.monotonic()
        self.sim_start = sim0
        released = False
        note = ''
        try:
            while True:
                self.check_stop()
                ros.spin(0.02)
                done = {v: ros.clients[v].is_done(spin_s=0.0) for v in VEHICLES}
                for v in VEHICLES:
                    self._update_vehicle(v, done[v])
                sim_s, wall_s = ros.sim_time() - sim0, time.monotonic() - wall0
                self.term.progress('[demo] ' + progress_line(sim_s, wall_s, self.vehicles,
                                                             ros.observations))
                if all(done.values()):
                    break
                dead = self.dead_children()
                if dead:
                    raise DemoError('; '.join(dead))
                if done[SURVEY_VEHICLE] and done['camera_robot'] and not released:
                    released = True          # survey over: release the relay boat
                    ros.clients['wave_boat'].cancel(timeout=30.0)
                if a.duration and sim_s >= a.duration:
                    # asked for: a mission stopped by --duration has done what was wanted
                    note = f'--duration {a.duration:g} s reached: missions canceled'
                    for v in VEHICLES:
                        if not done[v]:
                            self.vehicles[v].expected += ('CANCELED',)
                            ros.clients[v].cancel(timeout=30.0)
                    a.duration = 0.0
                if wall_s > a.max_wall:
                    for v in VEHICLES:
                        if not done[v]:
                            ros.clients[v].cancel(timeout=30.0)
                    raise DemoError(f'the missions did not end within --max-wall '
                                    f'{a.max_wall:g} s (sim time {sim_s:.0f} s)')
        finally:
            self.summary.sim_time_s = ros.sim_time() - sim0
            self.summary.survey_wall_time_s = time.monotonic() - wall0
            for v in VEHICLES:
                self._update_vehicle(v, ros.clients[v].result is not None)
        bad = [f'{v}: {r.outcome} ({r.reason})' for v, r in self.vehicles.items() if not r.ok]
        if bad:
            raise DemoError('; '.join(bad))
        return note or ', '.join(f'{v} {r.outcome}' for v, r in self.vehicles.items())

    def _update_vehicle(self, v: str, done: bool) -> None:
        c, run = self.ros.clients[v], self.vehicles[v]
        fb = c.feedback
        if fb is not None:
            run.progress, run.step_name = float(fb.progress), fb.step_name
        if done and c.result is not None:
            run.outcome, run.reason = c.result.outcome.name, c.result.reason
            run.steps_completed, run.duration_s = c.result.steps_completed, c.result.duration_s
            run.step_name = ''

    # map -------------------------------------------------------------------------------
    def final_map(self) -> str:
        ros = self.ros
        ros.spin(0.1)
        dead = self.dead_children(self.node_names('kaiyo_seabed'))
        if dead and ros.map_msg is None:
            raise DemoError('; '.join(dead))
        deadline = time.monotonic() + MAP_TIMEOUT_S
        # the node publishes its map every few sim seconds once new frames are mapped: wait
        # for one at least as new as the last observation
        while not ros.map_is_current():
            self.check_stop()
            if time.monotonic() > deadline:
                if ros.map_msg is None:
                    raise DemoError(f'no survey map on /{SURVEY_VEHICLE}/seabed/map within '
                                    f'{MAP_TIMEOUT_S:g} s ({ros.observations} observations)')
                break
            ros.spin(0.05)
        self.map_msg = ros.map_msg
        if self.map_msg is None:
            raise DemoError(f'no survey map on /{SURVEY_VEHICLE}/seabed/map')
        self.summary.frames_received = ros.frames
        self.summary.frames_analysed = ros.observations
        self.summary.frames_mapped = ros.mapped
        m = self.map_msg
        cells = sum(1 for n in m.frame_count if n > 0)
        return f'{ros.observations} frames analysed, {cells} cells mapped'

    # plant -------------------------------------------------------------------------------
    def check_plant(self) -> str:
        names = self.node_names('kaiyo_plant') | self.node_names('kaiyo_drivers')
        dead = self.dead_children(names)
        if dead:
            raise DemoError('; '.join(dead))
        st = self.ros.plant_status
        if st is None:
            raise DemoError('no /plant/status from the plant monitor during the run')
        if st.data_stale:
            raise DemoError('the plant monitor reports stale data (Modbus driver -> monitor)')
        self.summary.plant = {'status_messages': self.ros.plant_messages,
                              'power_kw': round(float(st.power_kw), 3),
                              'energy_total_kwh': round(float(st.energy_total_kwh), 4),
                              'generator_state': int(st.generator_state),
                              'active_alarms': list(st.active_alarms)}
        return (f'{self.ros.plant_messages} status messages, {st.power_kw:.1f} kW, '
                f'alarms: {", ".join(st.active_alarms) or "none"}')

    # record ------------------------------------------------------------------------------
    def check_recording(self) -> str:
        dead = self.dead_children(self.node_names('kaiyo_report'))
        if dead:
            raise DemoError('; '.join(dead))
        files = sorted(self.bag_dir.glob('*.mcap'))
        size = sum(f.stat().st_size for f in files)
        if not files or size == 0:
            raise DemoError(f'no MCAP data in {self.bag_dir}')
        return f'{len(files)} MCAP file(s), {size / 1e6:.1f} MB so far'

    # shutdown ----------------------------------------------------------------------------
    def shutdown(self) -> str:
        self.log_file.close()
        codes = {c.spec.full_name: c.exit_code for c in self.sup.children
                 if c.exit_code not in (0, None, -2, 130)}
        detail = f'{len(self.sup.children)} processes stopped'
        if codes:
            detail += '; non-zero exits: ' + ', '.join(f'{k} ({v})' for k, v in codes.items())
        return detail

    def child_cpu_s(self) -> dict[str, float]:
        """CPU seconds (user + system) each node has used so far, from /proc."""
        tick = os.sysconf('SC_CLK_TCK')
        out = {}
        for c in self.sup.children:
            if c.proc is None:
                continue
            try:
                fields = Path(f'/proc/{c.proc.pid}/stat').read_text().rsplit(')', 1)[1].split()
            except OSError:
                continue
            out[c.spec.full_name] = round((int(fields[11]) + int(fields[12])) / tick, 1)
        return out

    # evaluate ----------------------------------------------------------------------------
    def evaluate(self) -> str:
        from kaiyo_sim.world import load_world
        m = self.map_msg
        lat = Lattice(float(m.origin.x), float(m.origin.y), float(m.cell_size_m),
                      int(m.width), int(m.height))
        if lat.width * lat.height == 0:
            raise DemoError('the survey map is empty (no frame was georeferenced)')
        world = load_world(self.world_file)
        scene = world.build_scene()
        k = samples_per_cell(lat.cell_size_m, TRUTH_RESOLUTION_M)
        raster, _ = scene.class_grid(TRUTH_RESOLUTION_M, lat.extent_m)
        truth = truth_cover_per_cell(raster, k)
        urchins = urchins_per_cell(scene.urchins, lat)
        survey = {'frame_count': list(m.frame_count), 'seaweed_mean': list(m.seaweed_mean),
                  'coralline_mean': list(m.coralline_mean), 'bare_mean': list(m.bare_mean),
                  'urchin_density_per_m2': list(m.urchin_density_per_m2)}
        err = map_error(lat, survey, truth, urchins, area_mask(lat, self.survey_polygon))
        self.summary.map = err
        # the truth of the surveyed area, for anyone checking the figures by hand
        truth_dir = self.run_dir / 'truth'
        scene.export_ground_truth(truth_dir, world.datum, TRUTH_RESOLUTION_M, lat.extent_m)
        self.summary.paths['truth'] = str(truth_dir)
        return (f'{err.cells_compared} of {err.cells_in_area} survey cells: seaweed MAE '
                f'{err.seaweed_mae_pts:.1f} pts, barren MAE {err.barren_mae_pts:.1f} pts, urchins '
                f'{err.urchin_estimate_per_m2:.2f} vs {err.urchin_truth_per_m2:.2f} /m2')

    # report ------------------------------------------------------------------------------
    def report(self) -> str:
        from kaiyo_report.progress import Progress
        from kaiyo_report.report import build_report
        res = build_report([str(self.bag_dir)], self.run_dir / 'report', lang=self.args.lang,
                           site='Hiratsuka offshore tower (simulated)',
                           progress=Progress.for_stderr())
        self.summary.paths['report'] = str(res.html)
        return f'{res.html} ({res.frames_used} frames used, {res.frames_rejected} rejected)'

    # end ---------------------------------------------------------------------------------
    def finish(self) -> int:
        out = self.summary.to_dict(self.stages)
        if self.run_dir.exists():
            path = self.run_dir / 'summary.json'
            path.write_text(json.dumps(out, indent=2, ensure_ascii=False) + '\n')
        mp, g = out['map'], out['goals']

        def fig(v, fmt):
            return 'n/a' if v is None else format(v, fmt)
        self.term.say('')
        self.term.say('== kaiyo demo summary ==')
        for v, r in out['vehicles'].items():
            self.term.say(f'  {v:13s} {r["outcome"]:15s} {"ok" if r["ok"] else "NOT OK"}  '
                          f'{r["reason"]}')
        self.term.say(f'  frames analysed {out["frames_analysed"]} (of {out["frames_received"]}'
                      f' received), mapped {out["frames_mapped"]}, cells compared '
                      f'{mp["cells_compared"]}')
        self.term.say(f'  seaweed MAE {fig(mp["seaweed_mae_pts"], ".1f")} pts, barren '
                      f'(coralline) MAE {fig(mp["barren_mae_pts"], ".1f")} pts (goal <= 5)')
        uerr = g['urchin_error_fraction']['value']
        self.term.say(f'  urchins {fig(mp["urchin_estimate_per_m2"], ".2f")} /m2 vs truth '
                      f'{fig(mp["urchin_truth_per_m2"], ".2f")} /m2: '
                      f'{fig(None if uerr is None else 100 * uerr, "+.0f")} % (goal within 15 %)')
        self.term.say(f'  sim {fig(out["sim_time_s"], ".0f")} s in '
                      f'{fig(out["simulated_wall_time_s"], ".0f")} s wall '
                      f'(x{fig(out["real_time_factor"], ".1f")}), whole demo '
                      f'{fig(out["wall_time_s"], ".0f")} s')
        if 'report' in self.summary.paths:
            self.term.say(f'  report:  {self.summary.paths["report"]}')
        self.term.say(f'  summary: {self.run_dir / "summary.json"}')
        if out['failed_stage']:
            self.term.say(f'[demo] FAILED at stage {out["failed_stage"]}: {out["failure"]}')
            return 1
        if not out['ok']:
            self.term.say('[demo] FAILED: a vehicle did not do its job (see above)')
            return 1
        headless = self.args.headless
        if headless is None:
            headless = not os.environ.get('DISPLAY') and not os.environ.get('WAYLAND_DISPLAY')
        if not headless and 'report' in self.summary.paths:
            import webbrowser
            webbrowser.open(Path(self.summary.paths['report']).as_uri())
        return 0


class DemoRos:
    """The demo's own ROS side: sim clock, mission clients, seabed observations and map."""

    def __init__(self, survey_vehicle: str, vehicles):
        import rclpy
        from nav_msgs.msg import Odometry
        from rclpy.context import Context
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.node import Node
        from rclpy.parameter import Parameter
        from rclpy.signals import SignalHandlerOptions
        from sensor_msgs.msg import Image

        from kaiyo_common import qos
        from kaiyo_interfaces.msg import PlantStatus, SeabedObservation, SurveyMap
        from kaiyo_mission.client import MissionClient
        self.context = Context()
        # the demo owns SIGINT: Ctrl-C ends the stage, then everything is stopped in order
        rclpy.init(context=self.context, signal_handler_options=SignalHandlerOptions.NO)
        self.node = Node('kaiyo_demo', context=self.context, parameter_overrides=[
            Parameter('use_sim_time', Parameter.Type.BOOL, True)])
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.clients = {v: MissionClient(v, context=self.context, node_name='kaiyo_demo_client')
                        for v in vehicles}
        self.frames = self.observations = self.mapped = 0
        self.last_obs_s = -math.inf
        self.map_msg = None
        self.odometry_seen: set[str] = set()
        ns = f'/{survey_vehicle}'
        self.node.create_subscription(SeabedObservation, f'{ns}/seabed/observations',
                                      self.on_observation, qos.RELIABLE)
        self.node.create_subscription(SurveyMap, f'{ns}/seabed/map', self.on_map, qos.LATCHED)
        self.node.create_subscription(Image, f'{ns}/camera/image_raw', self.on_image, qos.SENSOR)
        self.plant_status = None
        self.plant_messages = 0
        self.node.create_subscription(PlantStatus, '/plant/status', self.on_plant, qos.SENSOR)
        self.odom_subs = [
            self.node.create_subscription(Odometry, f'/{v}/odometry',
                                          lambda _m, v=v: self.odometry_seen.add(v), qos.SENSOR)
            for v in vehicles]

    def stop_watching_odometry(self) -> None:
        """Odometry was only needed to know the estimators run; it is the busiest topic."""
        for sub in self.odom_subs:
            self.node.destroy_subscription(sub)
        self.odom_subs = []

    def sim_time(self) -> float:
        return self.node.get_clock().now().nanoseconds * 1e-9

    def spin(self, timeout_s: float) -> None:
        self.executor.spin_once(timeout_sec=timeout_s)
        # drain what else is ready without waiting
        for _ in range(50):
            before = (self.frames, self.observations)
            self.executor.spin_once(timeout_sec=0.0)
            if (self.frames, self.observations) == before:
                break

    def on_image(self, _msg) -> None:
        self.frames += 1

    def on_observation(self, msg) -> None:
        self.observations += 1
        self.last_obs_s = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
        if math.isfinite(msg.footprint_area_m2) and msg.quality.usable:
            self.mapped += 1

    def on_plant(self, msg) -> None:
        self.plant_status = msg
        self.plant_messages += 1

    def on_map(self, msg) -> None:
        self.map_msg = msg

    def map_is_current(self) -> bool:
        m = self.map_msg
        if m is None:
            return False
        return m.header.stamp.sec + m.header.stamp.nanosec * 1e-9 >= self.last_obs_s

    def destroy(self) -> None:
        import rclpy
        for c in self.clients.values():
            try:
                c.destroy()
            except InvalidHandle:
                pass   # already destroyed with its node; nothing left to release
        self.node.destroy_node()
        rclpy.shutdown(context=self.context)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog='kaiyo')
    register(parser.add_subparsers())
    args = parser.parse_args(['demo', *(argv or sys.argv[1:])])
    return args.func(args)


if __name__ == '__main__':
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    sys.exit(main())
