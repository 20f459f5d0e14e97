"""`kaiyo eval ...` (entry point kaiyo.cli) and its `control` check (entry point kaiyo.eval).

`kaiyo eval` is a command group: its subcommands come from the `kaiyo.eval` entry-point
group, each a `register(eval_subparsers)` function, so other packages add e.g.
`kaiyo eval mission` without touching this file.

    kaiyo eval control            # every closed-loop check, one line each, PASS/FAIL
    kaiyo eval control --json     # the same as JSON
    kaiyo eval control --only depth_step --only ekf_dead_reckoning
Exit status: 0 when every check met its goal, 1 otherwise.
"""
from __future__ import annotations

import json
import sys
from importlib.metadata import entry_points


def register(subparsers) -> None:
    p = subparsers.add_parser('eval', help='closed-loop evaluations in the simulator, each '
                                           'figure printed beside its goal')
    sub = p.add_subparsers(dest='eval_command', metavar='WHAT')
    sub.required = True
    seen = set()
    for ep in sorted(entry_points(group='kaiyo.eval'), key=lambda e: e.name):
        if ep.name not in seen:
            seen.add(ep.name)
            ep.load()(sub)


def _check_names() -> list[str]:
    from kaiyo_control.evaluation import ALL_CHECKS
    return list(ALL_CHECKS) + ['ekf_dead_reckoning', 'ekf_dvl_dropout']


def register_eval_control(sub) -> None:
    p = sub.add_parser('control', help='navigation and control checks of issue 5: depth, '
                                       'heading, altitude, wave-boat LOS and station keeping, '
                                       'EKF dead reckoning')
    p.add_argument('--json', action='store_true', help='print the checks as JSON')
    p.add_argument('--only', action='append', default=[], metavar='CHECK',
                   help='run only this check (repeatable): ' + ', '.join(_check_names()))
    p.set_defaults(func=_eval_control)


def ekf_checks(names) -> list:
    from kaiyo_control.evaluation import Check
    from kaiyo_navigation.dead_reckoning import Scenario, run_dead_reckoning
    out = []
    if not names or 'ekf_dead_reckoning' in names:
        r = run_dead_reckoning(Scenario())
        out += [
            Check('EKF 300 s DVL + IMU dead reckoning at 10 m: horizontal error',
                  r.horizontal_error_pct, '% of distance', '< 1 %', r.horizontal_error_pct < 1.0,
                  f'{r.horizontal_error_m:.2f} m after {r.distance_m:.0f} m (FOG-class heading '
                  '0.2 deg bias, DVL 0.3 % scale error)'),
            Check('EKF dead reckoning: depth error', r.max_depth_error_m * 100.0, 'cm',
                  '< 10 cm', r.max_depth_error_m < 0.10, 'largest over 300 s'),
            Check('EKF dead reckoning: vertical drift', r.vertical_drift_m * 100.0, 'cm',
                  'no drift (< 1 cm)', r.vertical_drift_m < 0.01,
                  'mean z error, last 10 s minus first 10 s'),
        ]
    if not names or 'ekf_dvl_dropout' in names:
        r = run_dead_reckoning(Scenario(dropout_start_s=120.0, dropout_length_s=20.0))
        out += [
            Check('EKF 20 s DVL dropout: largest jump', r.max_jump_m, 'm', '< 0.5 m',
                  r.max_jump_m < 0.5, 'largest change of the position error between 0.1 s '
                  'samples'),
            Check('EKF 20 s DVL dropout: horizontal error after recovery',
                  r.horizontal_error_pct, '% of distance', '< 1 %', r.horizontal_error_pct < 1.0,
                  f'{r.horizontal_error_m:.2f} m after {r.distance_m:.0f} m'),
        ]
    return out


def _eval_control(args) -> int:
    from kaiyo_control.evaluation import run_all
    unknown = [n for n in args.only if n not in _check_names()]
    if unknown:
        print(f'kaiyo eval control: unknown check {unknown[0]!r}; known: '
              + ', '.join(_check_names()), file=sys.stderr)
        return 2
    checks = []
    control_names = [n for n in args.only if not n.startswith('ekf_')]
    if not args.only or control_names:
        checks += run_all(control_names or None)
    ekf_names = [n for n in args.only if n.startswith('ekf_')]
    if not args.only or ekf_names:
        checks += ekf_checks(ekf_names)
    if args.json:
        print(json.dumps([c.to_dict() for c in checks], indent=2))
    else:
        for c in checks:
            print(c.line())
        met = sum(c.met for c in checks)
        print(f'{met}/{len(checks)} checks met their goal')
    return 0 if all(c.met for c in checks) else 1
