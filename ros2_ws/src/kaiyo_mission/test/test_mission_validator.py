"""Tier 1: the mission validator (no ROS).

Each file in test/data/bad/ breaks one rule; the lines where errors are expected carry a
`# <- rule` marker, and the test asserts the validator reports exactly those (line, rule)
pairs. Hypothesis then mutates the example mission and feeds random text: the validator must
never raise and every message must have the `FILE:LINE: rule: message` shape.
"""
import re
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kaiyo_mission.marked_yaml import MarkedYamlError, load_marked
from kaiyo_mission.validator import RULES, validate_file, validate_text

HERE = Path(__file__).resolve().parent
BAD = HERE / 'data' / 'bad'
REPO = HERE.parents[3]
EXAMPLE = REPO / 'missions' / 'isoyake_survey.yaml'
LINE_RE = re.compile(r'^(?P<file>[^:]+):(?P<line>\d+): (warning: )?(?P<rule>[a-z_]+): (?P<msg>.+)$')


def expected_markers(path: Path) -> set:
    out = set()
    for n, line in enumerate(path.read_text().splitlines(), start=1):
        m = re.search(r'# <- ([a-z_]+)', line)
        if m:
            out.add((n, m.group(1)))
    return out


BAD_FILES = sorted(BAD.glob('*.yaml'))


def test_every_rule_has_a_bad_file():
    assert {p.stem for p in BAD_FILES} == set(RULES)


@pytest.mark.parametrize('path', BAD_FILES, ids=[p.stem for p in BAD_FILES])
def test_bad_file_reports_rule_at_marked_lines(path):
    report = validate_file(path)
    assert not report.ok
    got = {(e.line, e.rule) for e in report.errors}
    assert got == expected_markers(path), '\n'.join(report.lines())
    assert path.stem in {e.rule for e in report.errors}
    for e in report.errors:
        assert str(e).startswith(f'{path}:{e.line}: {e.rule}: ')


def test_example_from_the_issue_validates_with_estimate():
    report = validate_file(EXAMPLE)
    assert report.ok, report.lines()
    assert 0 < report.estimated_duration_s < 3600
    assert 0 < report.estimated_energy_wh < 1500 * 0.75
    assert report.mission.vehicle == 'hover_auv'
    assert [s.kind for s in report.mission.steps] == ['goto', 'survey', 'hover_photo', 'surface']


def test_all_errors_are_reported_not_just_the_first():
    text = EXAMPLE.read_text().replace('speed: 0.5}', 'speed: -1}').replace(
        'duration: 30', 'duration: forever').replace('max_depth: 25.0', 'max_depth: deep')
    report = validate_text(text, 'm.yaml')
    rules = sorted(e.rule for e in report.errors)
    assert rules == ['range', 'type', 'type'], report.lines()


def test_local_xy_positions_and_datum_mapping():
    text = """
mission: xy
vehicle: hover_auv
datum: {lat: 35.3050, lon: 139.3450}
limits: {max_depth: 25, min_altitude: 1, max_duration: 3600, battery_reserve: 0.2,
         geofence: [{x: -100, y: -100}, {x: 100, y: -100}, {x: 100, y: 100}, {x: -100, y: 100}]}
steps:
  - goto: {x: 20, y: 10, depth: 3}
  - survey: {polygon: [{x: 0, y: 0}, {x: 30, y: 0}, {x: 30, y: 20}, {x: 0, y: 20}],
             altitude: 2, heading: 0}
"""
    report = validate_text(text, 'xy.yaml')
    assert report.ok, report.lines()
    goto = report.mission.steps[0]
    assert goto.target.x == pytest.approx(20.0) and goto.target.lat > 35.3050
    # heading 0 (north): lines run north-south, so all line legs have constant x
    for leg in report.plan.lines(1):
        assert leg.start[0] == pytest.approx(leg.end[0], abs=1e-6)


def test_straight_path_leaving_a_concave_geofence_is_an_error():
    text = """
mission: concave
vehicle: hover_auv
limits: {max_depth: 25, min_altitude: 1, max_duration: 3600, battery_reserve: 0.2,
         geofence: [{x: 0, y: 0}, {x: 100, y: 0}, {x: 100, y: 100}, {x: 60, y: 100},
                    {x: 60, y: 20}, {x: 40, y: 20}, {x: 40, y: 100}, {x: 0, y: 100}]}
steps:
  - goto: {x: 20, y: 80, depth: 3}
  - goto: {x: 80, y: 80, depth: 3}
"""
    report = validate_text(text, 'c.yaml')
    assert [(e.line, e.rule) for e in report.errors] == [(9, 'outside_geofence')], report.lines()


def test_surface_vessel_cannot_hold_altitude():
    text = EXAMPLE.read_text().replace('vehicle: hover_auv', 'vehicle: wave_boat')
    report = validate_text(text, 'boat.yaml')
    rules = {e.rule for e in report.errors}
    assert 'vehicle_rating' in rules
    assert any('surface vessel' in e.message for e in report.errors)


def test_closing_point_repeated_is_accepted():
    text = EXAMPLE.read_text().replace(
        '[35.30, 139.34]]  # lat, lon', '[35.30, 139.34], [35.31, 139.34]]')
    assert validate_text(text).ok


def test_unreadable_file_is_an_error_not_an_exception(tmp_path):
    report = validate_file(tmp_path / 'nope.yaml')
    assert [e.rule for e in report.errors] == ['yaml']
    (tmp_path / 'bin.yaml').write_bytes(b'\xff\xfe\x00bad')
    assert [e.rule for e in validate_file(tmp_path / 'bin.yaml').errors] == ['yaml']


def test_marked_yaml_refuses_alias_bombs_and_python_tags():
    bomb = 'a: &a [x, x, x, x, x, x, x, x, x, x]\n' + ''.join(
        f'{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n'
        for p, c in zip('abcdefg', 'bcdefgh', strict=True))
    with pytest.raises(MarkedYamlError, match='alias bomb'):
        load_marked(bomb)
    with pytest.raises(MarkedYamlError, match='constructor'):
        load_marked('x: !!python/object/apply:os.system ["true"]')


# -- property-based fuzzing -------------------------------------------------------------

def _check_shape(report, file='f.yaml'):
    for line in report.lines():
        m = LINE_RE.match(line)
        assert m, line
        assert m['file'] == file and int(m['line']) >= 1
        assert m['rule'] in RULES, line
        assert m['msg'].strip()
    if not report.ok:
        assert report.mission is None


leaf = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                 st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
                 st.sampled_from(['auto', 'tower', 'surface', 'hover_auv', 'nan', '.inf']))
values = st.recursive(leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12)


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, prefix + (i,))


BASE = yaml.safe_load(EXAMPLE.read_text())
BASE_PATHS = [p for p in _paths(BASE) if p]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(BASE_PATHS), values,
                          st.sampled_from(['replace', 'delete', 'add'])), min_size=1, max_size=4))
def test_fuzz_mutated_mission_never_crashes(mutations):
    import copy
    doc = copy.deepcopy(BASE)
    for path, value, op in mutations:
        parent = doc
        try:
            for k in path[:-1]:
                parent = parent[k]
            key = path[-1]
            if op == 'replace':
                parent[key] = value
            elif op == 'delete':
                del parent[key]
            elif isinstance(parent, dict):
                parent[f'extra_{key}'] = value
            elif isinstance(parent, list):
                parent.append(value)
        except (KeyError, IndexError, TypeError):
            continue   # an earlier mutation removed this path
    text = yaml.safe_dump(doc, allow_unicode=True)
    _check_shape(validate_text(text, 'f.yaml'))


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300))
def test_fuzz_random_text_never_crashes(text):
    report = validate_text(text, 'f.yaml')
    _check_shape(report)
    assert not report.ok


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2000), st.text(alphabet='{}[]:,-#&*!|> \n"\'', min_size=1, max_size=8))
def test_fuzz_corrupted_example_never_crashes(pos, junk):
    text = EXAMPLE.read_text()
    pos = pos % len(text)
    _check_shape(validate_text(text[:pos] + junk + text[pos:], 'f.yaml'))


@pytest.mark.parametrize('path', sorted((REPO / 'missions').glob('*.yaml')),
                         ids=lambda p: p.name)
def test_every_example_mission_validates(path):
    report = validate_file(path)
    assert report.ok, report.lines()
    assert report.estimated_duration_s <= report.mission.limits.max_duration

