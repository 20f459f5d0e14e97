"""`make bench` figures for kaiyo_mission.

- validating the example mission (schema + rules + plan + estimate), beside plain
  `yaml.safe_load` of the same text (the floor any validator pays);
- executor state machine updates per second on the example, beside a bare loop of
  `math.dist` calls (the arithmetic floor of one update);
- mission success rate over the scenario suite (kaiyo_mission.scenarios: one nominal survey
  per vehicle, one fault scenario per safety rule), beside the number of scenarios run;
  quick mode runs the five shortest fault scenarios only;
- the suite's speed in simulated seconds per wall second, beside the bare simulator's.
"""
from __future__ import annotations

import math
import time

import yaml

from kaiyo_common.bench import Figure, time_call
from kaiyo_common.paths import data_path
from kaiyo_mission.execution import MissionExecution, VehicleState
from kaiyo_mission.validator import validate_text


def run(quick: bool) -> list:
    text = data_path('missions', 'isoyake_survey.yaml').read_text()
    repeat = 3 if quick else 10
    t_val = time_call(lambda: validate_text(text, 'isoyake_survey.yaml'), repeat=repeat)
    t_yaml = time_call(lambda: yaml.safe_load(text), repeat=repeat)
    figs = [Figure('mission: validate + plan the example', t_val * 1e3, 'ms',
                   'yaml.safe_load of the same file', t_yaml * 1e3,
                   goal='< 500 ms (interactive)', met=t_val < 0.5)]

    report = validate_text(text, 'isoyake_survey.yaml')
    run_ = MissionExecution(report.mission, report.plan)
    run_.start(0.0, VehicleState(0.0, 0.0, 0.0, 0.0))
    n = 2000 if quick else 20000
    t0 = time.perf_counter()
    for k in range(n):
        run_.update(k * 1e-3, VehicleState(k * 1e-3, 0.0, 0.0, 0.0))
    t_upd = (time.perf_counter() - t0) / n
    t0 = time.perf_counter()
    for k in range(n):
        math.dist((0.0, 0.0), (k, 1.0))
    t_floor = (time.perf_counter() - t0) / n
    figs.append(Figure('mission: executor updates', 1.0 / t_upd, 'updates/s',
                       'math.dist calls/s', 1.0 / t_floor, goal='>= 1000 updates/s (10 Hz x 100)',
                       met=1.0 / t_upd >= 1000))
    figs.extend(_suite_figures(quick))
    return figs


QUICK = ['leak', 'thruster_fault', 'stale_sensor', 'frozen_sensor', 'heartbeat_loss']


def _suite_figures(quick: bool) -> list:
    from kaiyo_mission.scenarios import ScenarioError, run_suite
    try:
        from kaiyo_sim.simulation import Simulation
        from kaiyo_sim.world import load_world
    except ImportError as err:
        raise ScenarioError(f'simulator core not importable: {err}') from None
    t0 = time.perf_counter()
    results = run_suite(QUICK if quick else None)
    wall = time.perf_counter() - t0
    passed = sum(r.passed for r in results)
    sim_s = sum(r.sim_time_s for r in results)
    failed = [r.name for r in results if not r.passed]
    figs = [Figure('mission: scenario success rate' + (' (quick subset)' if quick else ''),
                   100.0 * passed / len(results), '%', 'scenarios run', float(len(results)),
                   goal='100 % (every rule reacts <= 1 s, safe final state; surveys >= 95 % '
                   'of lines)' + (f'; failed: {", ".join(failed)}' if failed else ''),
                   met=passed == len(results))]
    sim = Simulation(load_world('hiratsuka_tower'), ['hover_auv'], seed=1, camera=False,
                     backend='numpy')
    n = 500
    t1 = time.perf_counter()
    for _ in range(n):
        sim.step()
    bare = n * sim.dt / (time.perf_counter() - t1)
    figs.append(Figure('mission: scenario suite speed', sim_s / wall, 'x real time',
                       'bare simulator (hover_auv, numpy, no camera)', bare))
    return figs
