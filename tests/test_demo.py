"""`kaiyo demo`: the pure figures (kaiyo_bringup.demo_core), the demo's files (bringup,
missions, data overlay), and one short end-to-end run of the whole stack (slow)."""
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from kaiyo_bringup.bringup_file import load_bringup
from kaiyo_bringup.demo import (
    DEFAULT_MISSIONS,
    DEMO_SENSOR_RATES_HZ,
    DEMO_SIM_ARGS,
    SHORT_MISSIONS,
    make_overlay_root,
)
from kaiyo_bringup.demo_core import (
    DemoError,
    Lattice,
    MapError,
    StageLog,
    StageStatus,
    Summary,
    VehicleRun,
    area_mask,
    goals,
    map_error,
    progress_line,
    samples_per_cell,
    truth_cover_per_cell,
    urchins_per_cell,
)
from kaiyo_common.testing import stop_process

ROOT = Path(__file__).resolve().parent.parent


# -- stage bookkeeping ----------------------------------------------------------------------

def test_stage_log_records_order_status_and_time():
    t = iter([0.0, 1.5, 2.0, 2.25, 3.0, 3.0])
    log = StageLog(clock=lambda: next(t))
    log.begin('prepare')
    log.ok('prepare', 'fine')
    log.begin('run')
    log.fail('run', 'hover_auv: ABORTED_SAFETY')
    log.skip('report', 'nothing recorded')
    assert [r.name for r in log.results] == ['prepare', 'run', 'report']
    assert log.results[0].wall_s == 1.5 and log.results[1].wall_s == 0.25
    assert log.results[1].status is StageStatus.FAILED
    assert [r.name for r in log.failed] == ['run']
    assert not log.succeeded


def test_stage_log_refuses_nested_stages():
    log = StageLog()
    log.begin('a')
    with pytest.raises(RuntimeError, match="'a' is still open"):
        log.begin('b')


# -- ground truth per cell --------------------------------------------------------------------

def test_truth_cover_per_cell_is_south_up_and_counts_seabed_only():
    k = 10
    raster = np.full((2 * k, 3 * k), 4, np.uint8)      # north-up: row 0 is the north edge
    raster[:k, :k] = 2                                  # north-west cell: all seaweed
    raster[k:, 2 * k:] = 3                              # south-east cell: all coralline
    raster[k:, k:2 * k][:, :5] = 1                      # south-middle: half water (not seabed)
    raster[k:, k:2 * k][:, 5:] = 2                      # ... and half seaweed
    t = truth_cover_per_cell(raster, k)
    assert t['seaweed'].shape == (2, 3)
    assert t['seaweed'][1, 0] == 1.0                    # row 1 = north in the SurveyMap layout
    assert t['seaweed'][0, 0] == 0.0 and t['bare'][0, 0] == 1.0
    assert t['coralline'][0, 2] == 1.0
    assert t['seaweed'][0, 1] == 1.0                    # water is not seabed
    assert t['seabed'][0, 1] == 50


def test_truth_raster_must_be_whole_cells():
    with pytest.raises(DemoError, match='whole number'):
        truth_cover_per_cell(np.zeros((15, 20), np.uint8), 10)
    with pytest.raises(DemoError, match='divide'):
        samples_per_cell(1.0, 0.3)
    assert samples_per_cell(1.0, 0.1) == 10


def test_urchins_per_cell_counts_centres_and_ignores_outside():
    lat = Lattice(-2.0, 3.0, 1.0, 2, 2)                 # cells x -2..0, y 3..5
    pts = [(-1.5, 3.5), (-1.2, 3.9), (-0.5, 4.5), (5.0, 5.0), (-2.5, 3.5)]
    counts = urchins_per_cell(np.array(pts), lat)
    assert counts.tolist() == [[2, 0], [0, 1]]


def test_area_mask_takes_cells_whose_centre_is_inside():
    lat = Lattice(0.0, 0.0, 1.0, 4, 3)
    m = area_mask(lat, [(0, 0), (2, 0), (2, 3), (0, 3)])
    assert m[:, :2].all() and not m[:, 2:].any()
    with pytest.raises(DemoError):
        area_mask(lat, [(0, 0), (1, 1)])


# -- map error ------------------------------------------------------------------------------

def _survey(lat, sw, co, ba, ur, frames):
    return {'frame_count': frames.ravel().tolist(), 'seaweed_mean': sw.ravel().tolist(),
            'coralline_mean': co.ravel().tolist(), 'bare_mean': ba.ravel().tolist(),
            'urchin_density_per_m2': ur.ravel().tolist()}


def test_map_error_zero_for_a_perfect_map_and_points_for_a_bias():
    lat = Lattice(0.0, 0.0, 1.0, 3, 2)
    truth = {'seaweed': np.array([[1.0, 0.0, 0.5], [0.2, 0.0, 1.0]]),
             'coralline': np.array([[0.0, 1.0, 0.5], [0.8, 0.0, 0.0]]),
             'bare': np.array([[0.0, 0.0, 0.0], [0.0, 1.0, 0.0]])}
    urchins = np.array([[0, 4, 1], [2, 0, 0]])
    frames = np.array([[3, 3, 3], [3, 3, 0]])           # one cell never observed
    ur = urchins.astype(float)
    e = map_error(lat, _survey(lat, truth['seaweed'], truth['coralline'], truth['bare'], ur,
                               frames), truth, urchins)
    assert e.cells_compared == 5 and e.cells_observed == 5
    assert e.seaweed_mae_pts == pytest.approx(0.0) and e.barren_mae_pts == pytest.approx(0.0)
    assert e.urchin_error_fraction == pytest.approx(0.0)
    # +10 points of seaweed everywhere, urchins over-counted by half
    e = map_error(lat, _survey(lat, truth['seaweed'] + 0.1, truth['coralline'], truth['bare'],
                               ur * 1.5, frames), truth, urchins)
    assert e.seaweed_mae_pts == pytest.approx(10.0)
    assert e.seaweed_bias_pts == pytest.approx(10.0)
    assert e.urchin_error_fraction == pytest.approx(0.5)
    assert e.urchin_truth_per_m2 == pytest.approx(7 / 5)


def test_map_error_only_counts_the_survey_area():
    lat = Lattice(0.0, 0.0, 1.0, 2, 1)
    truth = {'seaweed': np.array([[1.0, 1.0]]), 'coralline': np.zeros((1, 2)),
             'bare': np.zeros((1, 2))}
    sw = np.array([[1.0, 0.0]])                          # the cell outside the area is wrong
    e = map_error(lat, _survey(lat, sw, np.zeros((1, 2)), np.zeros((1, 2)),
                               np.zeros((1, 2)), np.ones((1, 2))), truth,
                  np.zeros((1, 2)), area=np.array([[True, False]]))
    assert e.cells_compared == 1 and e.cells_in_area == 1 and e.cells_observed == 2
    assert e.seaweed_mae_pts == 0.0
    assert math.isnan(e.urchin_error_fraction)           # no urchins in truth: no ratio


def test_map_error_names_a_size_mismatch():
    lat = Lattice(0.0, 0.0, 1.0, 2, 2)
    truth = {k: np.zeros((2, 2)) for k in ('seaweed', 'coralline', 'bare')}
    bad = {'frame_count': [1, 1, 1], 'seaweed_mean': [0] * 4, 'coralline_mean': [0] * 4,
           'bare_mean': [0] * 4, 'urchin_density_per_m2': [0] * 4}
    with pytest.raises(DemoError, match='frame_count has 3 values'):
        map_error(lat, bad, truth, np.zeros((2, 2)))


def test_summary_is_strict_json_and_names_the_failed_stage():
    log = StageLog()
    log.begin('prepare')
    log.ok('prepare')
    log.begin('map')
    log.fail('map', 'no survey map')
    runs = {'hover_auv': VehicleRun('hover_auv', 'm.yaml', outcome='SUCCEEDED'),
            'wave_boat': VehicleRun('wave_boat', 'w.yaml', ('SUCCEEDED', 'CANCELED'),
                                    outcome='CANCELED')}
    s = Summary('runs/x', 42, 'hiratsuka_tower', 'm.yaml', 'lockstep', 0.5, vehicles=runs,
                map=MapError(seaweed_mae_pts=3.0), sim_time_s=100.0, survey_wall_time_s=25.0,
                wall_time_s=40.0)
    d = s.to_dict(log)
    text = json.dumps(d, allow_nan=False)                # NaN figures become null
    assert json.loads(text)['map']['barren_mae_pts'] is None
    assert d['failed_stage'] == 'map' and d['failure'] == 'no survey map' and not d['ok']
    assert d['real_time_factor'] == 4.0
    assert d['vehicles']['wave_boat']['ok'] and d['vehicles']['hover_auv']['ok']
    g = goals(s.map)
    assert g['seaweed_mae_pts']['met'] is True and g['barren_mae_pts']['met'] is None
    assert 'hover_auv' in progress_line(10.0, 2.0, runs, 3)


# -- the demo's files -----------------------------------------------------------------------

def test_demo_missions_validate():
    from kaiyo_mission.validator import validate_text
    for rel in {*DEFAULT_MISSIONS.values(), *SHORT_MISSIONS.values()}:
        path = ROOT / rel
        report = validate_text(path.read_text(), str(path))
        assert report.ok, '\n'.join(report.lines())


def test_sim_bringup_start_estimates_match_the_world():
    """bringup/sim/<vehicle>.yaml must start each estimator where the world starts it."""
    world = yaml.safe_load((ROOT / 'sim' / 'worlds' / 'hiratsuka_tower.yaml').read_text())
    for vehicle, (east, north, depth, _heading) in world['start'].items():
        params = yaml.safe_load((ROOT / 'bringup' / 'sim' / f'{vehicle}.yaml').read_text())
        p = params[f'/{vehicle}/estimator']['ros__parameters']
        assert p['initial_position_m'] == pytest.approx([east, north, -depth]), vehicle
        assert p['vehicle'] == vehicle


def test_sim_and_demo_bringups_load_with_the_demo_arguments():
    sim = load_bringup(ROOT / 'bringup' / 'sim.yaml', dict(DEMO_SIM_ARGS), ROOT)
    names = {m.full_name for n in sim.nodes for m in (n.members or [n])}
    for v in ('hover_auv', 'camera_robot', 'wave_boat'):
        assert {f'/{v}/estimator', f'/{v}/controller', f'/{v}/mission_executor',
                f'/{v}/safety_supervisor'} <= names
        # one process for the vehicle's stack, the mission executor alone
        stack = next(n for n in sim.nodes if n.full_name == f'/{v}_stack')
        assert {m.name for m in stack.members} == {'estimator', 'controller',
                                                   'safety_supervisor'}
    assert len(sim.nodes) == 2 + 3 * 2
    assert {n.executor for n in sim.nodes if n.name != 'mission_executor'} == {'events'}
    assert {n.executor for n in sim.nodes if n.name == 'mission_executor'} == {'single'}
    simnode = next(n for n in sim.nodes if n.package == 'kaiyo_sim')
    assert simnode.parameters['vehicles'] == ['hover_auv', 'camera_robot', 'wave_boat']
    assert simnode.parameters['mode'] == 'lockstep'
    one = load_bringup(ROOT / 'bringup' / 'sim.yaml', {'vehicles': 'hover_auv'}, ROOT)
    assert next(n for n in one.nodes if n.package == 'kaiyo_sim').parameters['vehicles'] == \
        ['hover_auv']
    assert len(one.nodes) == 2 + 2
    assert len(load_bringup(ROOT / 'bringup' / 'sim.yaml', {'vehicles': 'hover_auv'}, ROOT,
                            containers=False).nodes) == 2 + 4
    demo = load_bringup(ROOT / 'bringup' / 'demo.yaml', {'bag_dir': '/tmp/x'}, ROOT)
    assert {m.package for n in demo.nodes for m in (n.members or [n])} == {
        'kaiyo_seabed', 'kaiyo_report', 'kaiyo_plant', 'kaiyo_drivers'}


def test_overlay_root_sets_rates_and_seed_and_links_the_rest(tmp_path):
    root = make_overlay_root(ROOT, tmp_path / 'root', 7, {'hover_auv': 0.5})
    auv = yaml.safe_load((root / 'sim' / 'vehicles' / 'hover_auv.yaml').read_text())
    assert auv['camera']['rate_hz'] == 0.5
    for sensor, rate in DEMO_SENSOR_RATES_HZ.items():
        if sensor in auv['sensors']:
            assert auv['sensors'][sensor]['rate_hz'] <= rate
    assert auv['sensors']['dvl']['rate_hz'] == 5.0       # not above the cap: unchanged
    world = yaml.safe_load((root / 'sim' / 'worlds' / 'hiratsuka_tower.yaml').read_text())
    assert world['scene']['seed'] == 7
    assert (root / 'hardware').resolve() == (ROOT / 'hardware').resolve()
    # the copies still load as vehicles and worlds
    env = dict(os.environ, KAIYO_ROOT=str(root))
    code = ('from kaiyo_common.vehicles import load_vehicle; from kaiyo_sim.world import '
            'load_world; print(load_vehicle("hover_auv").camera.rate_hz, '
            'load_world("hiratsuka_tower").scene_spec.seed)')
    r = subprocess.run([sys.executable, '-c', code], env=env, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ['0.5', '7']


# -- end to end -----------------------------------------------------------------------------

# Bounds for the short run (seed 42, 10 m x 4 m, 40 cells): what the stack achieves today
# with the simulator-domain classifier (measured seaweed 1.1-1.5 pts, barren 3.8-4.3 pts,
# urchins -3..+9 %, 36-40 cells; docs/demo.md), with margin, so that a broken link
# (georeferencing, navigation, analysis, recording) or a regressed classifier/urchin counter
# fails. The goals
# (5 points, 15 %) are reported in summary.json, not asserted: 40 cells are a small sample.
SHORT_RUN_BOUNDS = {'seaweed_mae_pts': 6.0, 'barren_mae_pts': 9.0, 'urchin_error': 0.35,
                    'min_cells_compared': 30}


@pytest.mark.slow
# 19 processes on 2 cores: one rerun (reported by pytest as RERUN, never hidden) keeps a
# scheduling hiccup on a loaded CI host from failing the suite; a real break fails twice.
@pytest.mark.flaky(reruns=1)
def test_short_demo_end_to_end(tmp_path):
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    r = subprocess.run([sys.executable, '-m', 'kaiyo_bringup.cli', 'demo', '--short',
                        '--seed', '42', '--out', str(tmp_path), '--headless',
                        '--max-wall', '240'],
                       capture_output=True, text=True, timeout=290, env=env, cwd=ROOT)
    runs = sorted(tmp_path.iterdir())
    assert len(runs) == 1, r.stdout + r.stderr
    summary = json.loads((runs[0] / 'summary.json').read_text())
    assert r.returncode == 0, f"stage {summary['failed_stage']}: {summary['failure']}\n" \
                              + r.stdout[-3000:]
    assert summary['ok'] and summary['failed_stage'] is None
    assert {s['name'] for s in summary['stages'] if s['status'] == 'ok'} >= {
        'prepare', 'missions', 'bringup', 'ready', 'run', 'map', 'plant', 'record',
        'shutdown', 'evaluate', 'report'}
    v = summary['vehicles']
    assert v['hover_auv']['outcome'] == 'SUCCEEDED'
    assert v['camera_robot']['outcome'] == 'SUCCEEDED'
    assert v['wave_boat']['outcome'] in ('SUCCEEDED', 'CANCELED')
    assert summary['frames_analysed'] > 0 and summary['frames_mapped'] > 0
    assert summary['seabed_model']['model_path'] == 'seabed_sim_rtrees.yml.gz'
    m = summary['map']
    assert m['cells_compared'] >= SHORT_RUN_BOUNDS['min_cells_compared']
    for key in ('seaweed_mae_pts', 'barren_mae_pts', 'urchin_error_fraction'):
        assert m[key] is not None and math.isfinite(m[key]), key
    assert m['seaweed_mae_pts'] <= SHORT_RUN_BOUNDS['seaweed_mae_pts']
    assert m['barren_mae_pts'] <= SHORT_RUN_BOUNDS['barren_mae_pts']
    assert abs(m['urchin_error_fraction']) <= SHORT_RUN_BOUNDS['urchin_error']
    assert summary['sim_time_s'] > 60 and summary['real_time_factor'] > 0
    assert summary['plant']['status_messages'] > 0
    report = Path(summary['paths']['report'])
    assert report.is_file() and report.stat().st_size > 10_000
    assert list((runs[0] / 'bag').glob('*.mcap'))
    assert 'report:' in r.stdout and str(report) in r.stdout


@pytest.mark.slow
def test_demo_refuses_to_share_its_domain_with_another_simulator(tmp_path):
    # A second simulator on the same ROS domain (here a real `kaiyo sim run`) would drive the
    # demo's vehicles with its own clock and physics: the demo must stop at `ready`, saying so.
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    other = subprocess.Popen([sys.executable, '-m', 'kaiyo_bringup.cli', 'sim', 'run',
                              '--vehicles', 'wave_boat', '--no-camera'],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    try:
        r = subprocess.run([sys.executable, '-m', 'kaiyo_bringup.cli', 'demo', '--short',
                            '--out', str(tmp_path), '--headless', '--max-wall', '120'],
                           capture_output=True, text=True, timeout=200, env=env, cwd=ROOT)
    finally:
        stop_process(other, timeout=20)
    assert r.returncode == 1, r.stdout[-3000:]
    summary = json.loads(next(tmp_path.glob('*/summary.json')).read_text())
    assert summary['failed_stage'] == 'ready', summary['failure']
    assert 'publishers of /clock' in summary['failure']
    assert f"ROS_DOMAIN_ID={os.environ.get('ROS_DOMAIN_ID', '0')}" in summary['failure']
    assert 'FAILED at stage ready' in r.stdout
