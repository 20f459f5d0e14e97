"""`kaiyo mission ...`: validate, plan, run, pause/resume, acknowledge safety events.

    kaiyo mission validate FILE...          exit 0 if every file is valid, else 1
    kaiyo mission plan FILE --out plan.geojson
    kaiyo mission run FILE --vehicle hover_auv     progress; Ctrl-C cancels cleanly
    kaiyo mission pause|resume --vehicle hover_auv
    kaiyo mission ack --vehicle hover_auv [--rule leak] --operator NAME
    kaiyo mission rules                     what each validator rule checks
    kaiyo scenarios [--json] [--only NAME..] seeded fault scenarios, scored pass/fail
"""
from __future__ import annotations

import json
import os
import signal
import sys
import threading
from pathlib import Path

from kaiyo_mission.validator import RULES, validate_file


def _summary(report) -> str:
    p, m = report.plan, report.mission
    lines = len(p.lines())
    parts = [f'{len(m.steps)} steps', f'{len(p.legs)} legs']
    if lines:
        spacing = ', '.join(f'{v:.2f}' for v in p.spacing_m.values())
        parts.append(f'{lines} survey lines at {spacing} m')
    parts += [f'{p.distance_m:.0f} m', f'~{p.duration_s / 60:.1f} min '
              f'(limit {m.limits.max_duration / 60:.0f})',
              f'~{p.energy_wh:.0f} Wh of {report.vehicle.battery.capacity_wh:.0f}']
    return ', '.join(parts)


def cmd_validate(args) -> int:
    bad = 0
    out = []
    for f in args.files:
        r = validate_file(f)
        bad += not r.ok
        if args.json:
            out.append({'file': f, 'valid': r.ok, 'errors': [str(e) for e in r.errors],
                        'warnings': [str(w) for w in r.warnings],
                        'estimated_duration_s': r.estimated_duration_s if r.ok else None,
                        'estimated_energy_wh': r.estimated_energy_wh if r.ok else None})
            continue
        for line in r.lines():
            print(line)
        if r.ok:
            print(f'{f}: OK: {_summary(r)}')
        else:
            print(f'{f}: {len(r.errors)} error(s)', file=sys.stderr)
    if args.json:
        print(json.dumps(out, indent=2))
    return 1 if bad else 0


def cmd_plan(args) -> int:
    from kaiyo_mission.planner import plan_to_geojson
    r = validate_file(args.file)
    for line in r.lines():
        print(line, file=sys.stderr if not r.ok else sys.stdout)
    if not r.ok:
        print(f'{args.file}: not planned: {len(r.errors)} error(s)', file=sys.stderr)
        return 1
    gj = plan_to_geojson(r.mission, r.plan)
    out = Path(args.out)
    try:
        out.write_text(json.dumps(gj, indent=1) + '\n')
    except OSError as err:
        print(f'cannot write {out}: {err.strerror}', file=sys.stderr)
        return 1
    print(f'{args.file}: {_summary(r)}')
    for idx, spacing in r.plan.spacing_m.items():
        print(f'  steps[{idx}] survey: {len(r.plan.lines(idx))} lines, spacing {spacing:.2f} m, '
              f'heading {r.plan.heading_deg[idx]:.0f} deg')
    print(f'wrote {out} ({len(gj["features"])} features)')
    return 0


def _ros_client(vehicle: str):
    import rclpy
    from rclpy.signals import SignalHandlerOptions

    from kaiyo_mission.client import MissionClient
    os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    # rclpy's own SIGINT handler would shut the context down under us; with it off, Ctrl-C
    # raises KeyboardInterrupt and the context stays valid to cancel the goal cleanly
    rclpy.init(signal_handler_options=SignalHandlerOptions.NO)
    return MissionClient(vehicle, node_name='kaiyo_mission_cli')


def _shutdown(client) -> None:
    import rclpy
    client.destroy()
    if rclpy.ok():
        rclpy.shutdown()


class _CtrlC:
    """The first Ctrl-C only sets an event that the progress loop checks, so the goal is
    canceled from a known place: a KeyboardInterrupt raised wherever the main thread happens
    to be (usually inside rclpy's spin_once) can leave the executor unable to deliver the
    cancel's answer and the result. A second Ctrl-C interrupts at once."""

    def __enter__(self) -> threading.Event:
        self.event = threading.Event()
        self.previous = signal.signal(signal.SIGINT, self._on_sigint)
        return self.event

    def _on_sigint(self, signum, frame) -> None:
        if self.event.is_set():
            raise KeyboardInterrupt
        self.event.set()

    def __exit__(self, *exc) -> None:
        signal.signal(signal.SIGINT, self.previous)


def cmd_run(args) -> int:
    r = validate_file(args.file)
    if not r.ok:
        for line in r.lines():
            print(line, file=sys.stderr)
        return 1
    text = Path(args.file).read_text(encoding='utf-8')
    client = _ros_client(args.vehicle)
    try:
        if not client.start(text, args.file, timeout=args.wait):
            print(f'not started: {client.result.reason}', file=sys.stderr)
            return 1
        print(f'{r.mission.name} on /{client.vehicle}: {_summary(r)}  (Ctrl-C cancels)')
        last = None
        with _CtrlC() as stop:
            while not client.is_done():
                if stop.is_set():
                    print('\ncanceling ...', flush=True)
                    if not client.cancel(timeout=10.0):
                        print('the executor did not confirm the cancel in 10 s',
                              file=sys.stderr)
                    break
                fb = client.feedback
                if fb is not None:
                    line = (f'[{fb.state:8s}] step {fb.step_index + 1}/{fb.step_count} '
                            f'{fb.step_name:28s} {fb.progress * 100:5.1f} %  '
                            f'ETA {fb.eta_s / 60:5.1f} min')
                    if line != last:
                        print('\r' + line, end='', flush=True)
                        last = line
        print()
        res = client.result
        if res is None:
            print('no result', file=sys.stderr)
            return 1
        print(f'{res.outcome.name}: {res.reason} ({res.steps_completed} steps, '
              f'{res.duration_s:.0f} s)')
        return 0 if res.outcome.name == 'SUCCEEDED' else (130 if res.outcome.name == 'CANCELED'
                                                          else 1)
    finally:
        _shutdown(client)


def cmd_pause(args, paused: bool) -> int:
    client = _ros_client(args.vehicle)
    try:
        ok, msg = client.pause(paused)
        print(msg, file=sys.stdout if ok else sys.stderr)
        return 0 if ok else 1
    finally:
        _shutdown(client)


def cmd_ack(args) -> int:
    client = _ros_client(args.vehicle)
    try:
        ok, msg = client.acknowledge(args.rule, args.operator)
        print(msg, file=sys.stdout if ok else sys.stderr)
        return 0 if ok else 1
    finally:
        _shutdown(client)


def cmd_rules(args) -> int:
    from kaiyo_mission.safety import DEFAULT_ACTIONS
    print('validator rules (kaiyo mission validate):')
    for rule, what in RULES.items():
        print(f'  {rule:18s} {what}')
    print('safety supervisor rules (default action):')
    for rule, action in DEFAULT_ACTIONS.items():
        print(f'  {rule:18s} {action.name.lower()}')
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser('mission', help='validate, plan and run mission files',
                              description=__doc__,
                              formatter_class=__import__('argparse').RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest='mission_command', metavar='ACTION')
    sub.required = True
    v = sub.add_parser('validate', help='check mission files; exit 0 if all valid')
    v.add_argument('files', nargs='+', metavar='FILE')
    v.add_argument('--json', action='store_true', help='machine-readable output')
    v.set_defaults(func=cmd_validate)
    pl = sub.add_parser('plan', help='plan survey lines and write GeoJSON for a map')
    pl.add_argument('file', metavar='FILE')
    pl.add_argument('--out', required=True, help='GeoJSON file to write')
    pl.set_defaults(func=cmd_plan)
    r = sub.add_parser('run', help='run a mission on a vehicle (Ctrl-C cancels)')
    r.add_argument('file', metavar='FILE')
    r.add_argument('--vehicle', required=True, help='vehicle namespace, e.g. hover_auv')
    r.add_argument('--wait', type=float, default=10.0,
                   help='seconds to wait for the executor (default 10)')
    r.set_defaults(func=cmd_run)
    for name, paused in (('pause', True), ('resume', False)):
        q = sub.add_parser(name, help=f'{name} the running mission')
        q.add_argument('--vehicle', required=True)
        q.set_defaults(func=lambda a, _p=paused: cmd_pause(a, _p))
    a = sub.add_parser('ack', help='acknowledge latched safety events')
    a.add_argument('--vehicle', required=True)
    a.add_argument('--rule', default='', help='rule id (default: all)')
    a.add_argument('--operator', required=True, help='your name, for the event log')
    a.set_defaults(func=cmd_ack)
    ru = sub.add_parser('rules', help='list validator and supervisor rules')
    ru.set_defaults(func=cmd_rules)


def main(argv: list[str] | None = None) -> int:
    """`python -m kaiyo_mission.cli mission ...`: the same commands without the `kaiyo` front."""
    import argparse
    parser = argparse.ArgumentParser(prog='kaiyo')
    sub = parser.add_subparsers(dest='command', required=True)
    register(sub)
    register_scenarios(sub)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130



# -- kaiyo scenarios --------------------------------------------------------------------

def add_scenario_arguments(parser) -> None:
    """Arguments of the scenario suite; also a hook for `kaiyo sim scenarios`
    (parser.set_defaults(func=kaiyo_mission.cli.cmd_scenarios))."""
    parser.add_argument('--json', action='store_true', help='machine-readable results')
    parser.add_argument('--only', nargs='+', metavar='NAME', help='run only these scenarios')
    parser.add_argument('--list', action='store_true', help='list the scenarios and exit')


def cmd_scenarios(args) -> int:
    from kaiyo_mission.scenarios import REACTION_GOAL_S, default_suite, run_suite
    if args.list:
        for sc in default_suite():
            print(f'{sc.name:22s} {sc.vehicle:13s} rule {sc.expect_rule or "-":16s} '
                  f'-> {sc.expect_final}')
        return 0
    known = {sc.name for sc in default_suite()}
    unknown = sorted(set(args.only or ()) - known)
    if unknown:
        print(f'unknown scenario(s): {", ".join(unknown)}; known: {", ".join(sorted(known))}',
              file=sys.stderr)
        return 2
    results = []
    for sc in default_suite():
        if args.only and sc.name not in args.only:
            continue
        r = run_suite([sc.name])[0]
        results.append(r)
        if not args.json:
            react = '-' if r.reaction_s is None else f'{r.reaction_s:.2f} s'
            cov = '' if r.coverage is None else f' coverage {r.coverage * 100:.1f} %'
            print(f'{"PASS" if r.passed else "FAIL"}  {r.name:22s} {r.vehicle:13s} '
                  f'rule {r.rule or "-":16s} reaction {react:8s} final {r.final_state}'
                  f'{cov}  ({r.sim_time_s:.0f} s sim){"  " + r.notes if r.notes else ""}',
                  flush=True)
    passed = sum(r.passed for r in results)
    if args.json:
        print(json.dumps({'passed': passed, 'total': len(results),
                          'reaction_goal_s': REACTION_GOAL_S,
                          'results': [r.to_dict() for r in results]}, indent=2))
    else:
        print(f'{passed}/{len(results)} scenarios passed')
    return 0 if passed == len(results) else 1


def register_scenarios(subparsers) -> None:
    p = subparsers.add_parser(
        'scenarios', help='seeded fault scenarios: simulator + controller + executor + '
        'supervisor, scored pass/fail',
        description='One nominal survey per vehicle and one scenario per safety rule with '
        'its fault injected; each scored on reaction time (<= 1 s of sim time) and the '
        "vehicle's final state. Runs the cores in lockstep (see kaiyo_mission.scenarios).")
    add_scenario_arguments(p)
    p.set_defaults(func=cmd_scenarios)


if __name__ == '__main__':
    sys.exit(main())
