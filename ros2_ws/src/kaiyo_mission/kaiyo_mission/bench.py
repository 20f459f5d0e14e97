"""`make bench` figures for kaiyo_mission.

- validating the example mission (schema + rules + plan + estimate), beside plain
  `yaml.safe_load` of the same text (the floor any validator pays);
- executor state machine updates per second on the example, beside a bare loop of
  `math.dist` calls (the arithmetic floor of one update).
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
    return figs
