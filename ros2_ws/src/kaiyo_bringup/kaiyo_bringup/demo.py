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
from datetime import datetime, timezone
from pathlib import Path

import yaml

from kaiyo_bringup.demo_core import (DemoError, Lattice, StageLog, Summary, VehicleRun,
                                     map_error, progress_line, samples_per_cell,
                                     truth_cover_per_cell, urchins_per_cell)

SURVEY_VEHICLE = 'hover_auv'
VEHICLES = ('hover_auv', 'camera_robot', 'wave_boat')
DEFAULT_MISSIONS = {
    'hover_auv': 'missions/demo/hover_auv_survey.yaml',
    'camera_robot': 'missions/demo/camera_robot_stations.yaml',
    'wave_boat': 'missions/demo/wave_boat_relay.yaml',
}
# What counts as the vehicle having done its job: the relay's hold is released by the demo.
EXPECTED = {'hover_auv': ('SUCCEEDED',), 'camera_robot': ('SUCCEEDED',),
            'wave_boat': ('SUCCEEDED', 'CANCELED')}
TRUTH_RESOLUTION_M = 0.1      # m, ground-truth raster (100 samples per 1 m cell)
READY_TIMEOUT_S = 120.0       # s wall: 17 Python processes start on 2 cores
MAP_TIMEOUT_S = 60.0          # s wall: the final map after the survey ends


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
    p.add_argument('--survey-mission', default=DEFAULT_MISSIONS['hover_auv'], metavar='FILE',
                   help='hover_auv survey mission (default %(default)s)')
    p.add_argument('--camera-rate', type=float, default=0.5, metavar='HZ',
                   help='survey camera frame rate, Hz of sim time (default 0.5: a frame every '
                        '~1.2 m at 0.6 m/s, the footprint is ~2 m long at 2 m altitude)')
    p.add_argument('--max-wall', type=float, default=900.0, metavar='S',
                   help='give up after this much wall time in the run stage, s')
    p.set_defaults(func=_run)


def _run(args) -> int:
    return DemoRun(args).run()


def _utc_stamp() -> str:
    return datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%SZ')


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def make_overlay_root(repo: Path, dest: Path, seed: int, camera_rates: dict[str, float]) -> Path:
    """A KAIYO_ROOT for this run: the clone's folders linked, plus copies of sim/vehicles
    (camera rate for the demo) and sim/worlds/hiratsuka_tower.yaml (scene seed)."""
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
        (vdir / f.name).write_text(f'# kaiyo demo copy of {f} (camera rate_hz set by '
                                   f'`kaiyo demo`)\n' + yaml.safe_dump(data, sort_keys=False))
    for f in sorted((repo / 'sim' / 'worlds').glob('*.yaml')):
        data = yaml.safe_load(f.read_text())
        data.setdefault('scene', {})['seed'] = int(seed)
        (wdir / f.name).write_text(f'# kaiyo demo copy of {f} (scene seed {seed})\n'
                                   + yaml.safe_dump(data, sort_keys=False))
    for extra in (repo / 'sim').iterdir():
        if extra.name not in ('vehicles', 'worlds'):
            (dest / 'sim' / extra.name).symlink_to(extra)
    return dest


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
        self.vehicles = {v: VehicleRun(v, DEFAULT_MISSIONS[v], EXPECTED[v]) for v in VEHICLES}
        self.vehicles[SURVEY_VEHICLE].mission_file = args.survey_mission
        self.summary = Summary(run_dir=str(self.run_dir), seed=args.seed, world='hiratsuka_tower',
                               survey_mission=args.survey_mission,
                               mode='realtime' if args.realtime else 'lockstep',
                               camera_rate_hz=args.camera_rate, vehicles=self.vehicles)
        self.sup = None
        self.sup_thread = None
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
        ok = self.stage('prepare', self.prepare) and self.stage('missions', self.validate)
        if ok:
            try:
                ok = self.stage('bringup', self.bringup) and self.stage('ready', self.ready)
                if ok:
                    ok = self.stage('run', self.run_missions)
                    # the map is worth fetching even after a failed mission: say what exists
                    if not self.interrupted:
                        self.stage('map', self.final_map)
            finally:
                self.stage('shutdown', self.shutdown)
            if self.map_msg is not None and not self.interrupted:
                self.stage('evaluate', self.evaluate)
            if not self.interrupted and self.bag_dir.exists():
                self.stage('report', self.report)
        self.summary.wall_time_s = time.monotonic() - self.wall0
        return self.finish()

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
                                       # the camera robot's photos at its stations
                                       'camera_robot': min(a.camera_rate, 0.5)})
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
            notes.append(f'{v} ~{report.estimated_duration_s / 60:.0f} min')
        return ', '.join(notes)

    # bringup ---------------------------------------------------------------------------
    def bringup(self) -> str:
        from kaiyo_bringup.bringup_file import Bringup, load_bringup
        from kaiyo_bringup.supervisor import ExecutableNotFoundError, Supervisor
        a = self.args
        sim_args = {'vehicles': ','.join(VEHICLES), 'world': str(self.world_file),
                    'seed': str(a.seed), 'mode': 'realtime' if a.realtime else 'lockstep'}
        demo_args = {'survey_vehicle': SURVEY_VEHICLE, 'bag_dir': str(self.bag_dir),
                     'map_dir': str(self.map_dir), 'modbus_port': str(_free_port())}
        sim = load_bringup(self.repo / 'bringup' / 'sim.yaml', sim_args, self.repo)
        extra = load_bringup(self.repo / 'bringup' / 'demo.yaml', demo_args, self.repo)
        nodes = sim.nodes + extra.nodes
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
        self.log_file = open(self.run_dir / 'logs' / 'nodes.log', 'w', buffering=1,
                             encoding='utf-8')
        combined = Bringup(sim.file, 'kaiyo demo', {**sim.arguments, **extra.arguments}, nodes)
        self.sup = Supervisor(combined, out=self.log_file)
        # The supervisor's loop runs in its own thread (it spawns the children there, so their
        # PDEATHSIG follows that thread, which lives until it has stopped them all).
        self.sup_result = None
        self.sup_thread = threading.Thread(target=self._supervise, name='supervisor',
                                           daemon=True)
        self.sup_thread.start()
        return f'{len(nodes)} processes (log: {self.log_file.name})'

    def _supervise(self) -> None:
        try:
            self.sup_result = self.sup.run()
        except Exception as err:   # noqa: BLE001 - reported by the run stage
            self.sup_result = f'{type(err).__name__}: {err}'

    def dead_children(self) -> list[str]:
        """Processes that ended while the demo still needs them."""
        if self.sup is None:
            return []
        out = []
        for c in self.sup.children:
            if c.exit_code is not None and c.proc is None:
                out.append(f'{c.spec.full_name} exited with code {c.exit_code} '
                           f'(see {self.log_file.name})')
        return out

    # ready -----------------------------------------------------------------------------
    def ready(self) -> str:
        self.ros = DemoRos(SURVEY_VEHICLE, VEHICLES)
        deadline = time.monotonic() + READY_TIMEOUT_S
        pending = set(VEHICLES)
        while True:
            dead = self.dead_children()
            if dead:
                raise DemoError('; '.join(dead))
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
        return f'sim clock at {self.ros.sim_time():.1f} s'

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
                    note = f'--duration {a.duration:g} s reached: missions canceled'
                    for v in VEHICLES:
                        if not done[v]:
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
        deadline = time.monotonic() + MAP_TIMEOUT_S
        # the node publishes its map every few sim seconds once new frames are mapped: wait
        # for one at least as new as the last observation
        while not ros.map_is_current():
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

    # shutdown ----------------------------------------------------------------------------
    def shutdown(self) -> str:
        if self.ros is not None:
            self.summary.frames_received = self.ros.frames
            self.summary.frames_analysed = self.ros.observations
            self.summary.frames_mapped = self.ros.mapped
            self.ros.destroy()
            self.ros = None
        if self.sup is None:
            return 'nothing was running'
        self.sup.stop()
        self.sup_thread.join(timeout=60.0)
        if self.sup_thread.is_alive():
            raise DemoError('processes did not stop within 60 s')
        self.log_file.close()
        codes = {c.spec.full_name: c.exit_code for c in self.sup.children
                 if c.exit_code not in (0, None, -2, 130)}
        detail = f'{len(self.sup.children)} processes stopped'
        if codes:
            detail += '; non-zero exits: ' + ', '.join(f'{k} ({v})' for k, v in codes.items())
        return detail

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
        err = map_error(lat, survey, truth, urchins)
        self.summary.map = err
        # the truth of the surveyed area, for anyone checking the figures by hand
        truth_dir = self.run_dir / 'truth'
        scene.export_ground_truth(truth_dir, world.datum, TRUTH_RESOLUTION_M, lat.extent_m)
        self.summary.paths['truth'] = str(truth_dir)
        return (f'{err.cells_compared} cells: seaweed MAE {err.seaweed_mae_pts:.1f} pts, '
                f'barren MAE {err.barren_mae_pts:.1f} pts, urchins '
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
        from sensor_msgs.msg import Image

        from kaiyo_common import qos
        from kaiyo_interfaces.msg import SeabedObservation, SurveyMap
        from kaiyo_mission.client import MissionClient
        self.context = Context()
        rclpy.init(context=self.context, signal_handler_options=rclpy.signals.SignalHandlerOptions.NO)
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
        for v in vehicles:
            self.node.create_subscription(Odometry, f'/{v}/odometry',
                                          lambda _m, v=v: self.odometry_seen.add(v), qos.SENSOR)

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
            except Exception:   # noqa: BLE001 - best effort on the way out
                pass
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
