"""The launch_ros files in launch/: what can be checked without launch_ros installed.

launch / launch_ros are not pip-installable, so these tests do not run
`generate_launch_description()`. They check that every launch file compiles, imports
(launch_ros is only imported inside generate_launch_description), names bringup files that
exist and load with kaiyo's own loader (the same one `kaiyo bringup` uses), and that every
launch argument it declares has a description. The bringup -> launch_ros Node mapping itself
is unit-tested in ros2_ws/src/kaiyo_bringup/test/test_bringup_file.py.
"""
from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest

from kaiyo_bringup.bringup_file import launch_node_arguments, load_bringup, read_arguments

ROOT = Path(__file__).resolve().parent.parent
LAUNCH = ROOT / 'launch'
FILES = sorted(LAUNCH.glob('*.launch.py'))


def load_module(path: Path):
    spec = importlib.util.spec_from_file_location(path.name.replace('.', '_'), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def bringups_of(module) -> list[Path]:
    if hasattr(module, 'BRINGUP'):
        return [module.BRINGUP]
    return list(module.hardware_bringups().values())


def test_the_expected_launch_files_exist():
    names = {f.name for f in FILES}
    assert {'tower_station.launch.py', 'sim.launch.py', 'vehicle_hardware.launch.py'} <= names


@pytest.mark.parametrize('path', FILES, ids=lambda p: p.name)
def test_launch_file_compiles_and_names_existing_bringup_files(path):
    compile(path.read_text(encoding='utf-8'), str(path), 'exec')
    module = load_module(path)
    assert callable(module.generate_launch_description)
    files = bringups_of(module)
    assert files, f'{path.name} names no bringup file'
    for f in files:
        assert f.is_file(), f'{path.name} names {f}, which does not exist'
        bringup = load_bringup(f, root=ROOT)      # raises BringupError FILE:LINE if broken
        assert bringup.nodes
        for spec in bringup.nodes:                # what the launch file hands to Node(...)
            kwargs = launch_node_arguments(spec)
            assert kwargs['package'] and kwargs['executable'] and kwargs['name']


@pytest.mark.parametrize('path', FILES, ids=lambda p: p.name)
def test_every_declared_argument_has_a_description(path):
    module = load_module(path)
    # arguments that come from bringup files: each must say what it is
    for f in bringups_of(module):
        for arg in read_arguments(f).values():
            assert arg.description.strip(), f'{f}: argument {arg.name!r} has no description'
    # arguments declared in the launch file itself
    if hasattr(module, 'declared_arguments'):
        for name, (_default, description) in module.declared_arguments().items():
            assert description.strip(), f'{path.name}: argument {name!r} has no description'
    # any DeclareLaunchArgument(...) written literally must pass description=
    for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
        if isinstance(node, ast.Call) and getattr(node.func, 'id', '') == 'DeclareLaunchArgument':
            keywords = {k.arg for k in node.keywords}
            assert 'description' in keywords, f'{path.name}:{node.lineno}: no description='


def test_sim_launch_starts_any_set_of_vehicles_by_argument():
    module = load_module(LAUNCH / 'sim.launch.py')
    args = read_arguments(module.BRINGUP)
    assert 'vehicles' in args and args['vehicles'].description
    for vehicles in ('hover_auv', 'hover_auv,wave_boat', 'hover_auv,camera_robot,wave_boat'):
        bringup = load_bringup(module.BRINGUP, {'vehicles': vehicles}, root=ROOT,
                               containers=False)   # what launch_ros starts
        namespaces = {n.namespace for n in bringup.nodes}
        wanted = {f'/{v}' for v in vehicles.split(',')}
        assert wanted <= namespaces, (vehicles, namespaces)
        others = {'/hover_auv', '/camera_robot', '/wave_boat'} - wanted
        assert not others & namespaces, (vehicles, namespaces)
        for v in wanted:   # the same per-vehicle stack for each
            names = {n.name for n in bringup.nodes if n.namespace == v}
            assert {'controller', 'safety_supervisor'} <= names, (v, names)


def test_vehicle_hardware_launch_reads_the_named_vehicles_bringup():
    module = load_module(LAUNCH / 'vehicle_hardware.launch.py')
    files = module.hardware_bringups()
    assert {'hover_auv', 'camera_robot', 'wave_boat'} <= set(files)
    for vehicle in ('hover_auv', 'camera_robot', 'wave_boat'):
        path = module.bringup_file(vehicle)
        assert path == ROOT / 'bringup' / f'{vehicle}_hardware.yaml'
        bringup = load_bringup(path, root=ROOT)
        assert {n.namespace for n in bringup.nodes} == {f'/{vehicle}'}
    default, description = module.declared_arguments()['vehicle']
    assert default in files and 'hover_auv' in description and 'wave_boat' in description
    with pytest.raises(ValueError, match='known: .*hover_auv'):
        module.bringup_file('submarine')
