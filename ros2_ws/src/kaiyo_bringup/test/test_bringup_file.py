"""Tier 1: the bringup YAML loader and its mapping to command lines / launch_ros (no ROS)."""
import textwrap
from pathlib import Path

import pytest

from kaiyo_bringup.bringup_file import (
    BringupError,
    container_arguments,
    launch_node_arguments,
    load_bringup,
    ros_arguments,
)


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


@pytest.fixture
def params(tmp_path):
    return write(tmp_path, 'p.yaml', '''
        /tower/heartbeat:
          ros__parameters:
            rate_hz: 5.0
        ''')


def test_loads_nodes_with_namespace_params_and_remaps(tmp_path, params):
    f = write(tmp_path, 'b.yaml', f'''
        description: test
        nodes:
          - name: heartbeat
            package: kaiyo_bringup
            executable: heartbeat
            namespace: tower
            params: [{params}]
            parameters: {{station: t1, gains: [1.0, 2.5]}}
            remaps: {{heartbeat: hb}}
            respawn: true
            respawn_delay_s: 0.5
        ''')
    b = load_bringup(f)
    (n,) = b.nodes
    assert n.namespace == '/tower' and n.full_name == '/tower/heartbeat'
    assert n.params == [params] and n.respawn and n.respawn_delay_s == 0.5
    args = ros_arguments(n)
    assert args[:3] == ['--ros-args', '-r', '__node:=heartbeat']
    assert ['-r', '__ns:=/tower'] == args[3:5]
    assert '--params-file' in args and str(params) in args
    assert 'station:=t1' in args and 'gains:=[1.0, 2.5]' in args and 'heartbeat:=hb' in args


def test_for_each_expands_per_vehicle_with_argument_override(tmp_path):
    f = write(tmp_path, 'b.yaml', '''
        arguments:
          vehicles: {default: hover_auv, description: vehicles to start}
        nodes:
          - for_each: {vehicle: "${vehicles}"}
            name: controller
            package: kaiyo_control
            executable: controller_node
            namespace: /${vehicle}
            parameters: {vehicle: "${vehicle}"}
        ''')
    assert [n.full_name for n in load_bringup(f).nodes] == ['/hover_auv/controller']
    b = load_bringup(f, {'vehicles': 'hover_auv,hover_auv2,wave_boat'})
    assert [n.namespace for n in b.nodes] == ['/hover_auv', '/hover_auv2', '/wave_boat']
    assert b.nodes[2].parameters == {'vehicle': 'wave_boat'}


def test_unknown_key_names_file_and_line(tmp_path):
    f = write(tmp_path, 'b.yaml', '''
        nodes:
          - name: a
            package: kaiyo_bringup
            executabel: heartbeat
        ''')
    with pytest.raises(BringupError) as e:
        load_bringup(f)
    assert e.value.line == 5 and "unknown node key 'executabel'" in str(e.value)
    assert str(e.value).startswith(f'{f}:5:')


def test_bad_params_file_names_its_file_and_line(tmp_path):
    bad = write(tmp_path, 'bad.yaml', '''
        /a:
          ros__parameters:
            rate_hz: [1.0, 2.0
            other: 3
        ''')
    f = write(tmp_path, 'b.yaml', f'''
        nodes:
          - {{name: a, package: kaiyo_bringup, executable: heartbeat, params: [{bad}]}}
        ''')
    with pytest.raises(BringupError) as e:
        load_bringup(f)
    assert e.value.file == str(bad) and e.value.line in (4, 5, 6)
    assert 'invalid YAML' in str(e.value)


def test_params_file_structure_is_checked(tmp_path):
    bad = write(tmp_path, 'flat.yaml', '''
        rate_hz: 5.0
        ''')
    f = write(tmp_path, 'b.yaml', f'''
        nodes:
          - {{name: a, package: kaiyo_bringup, executable: heartbeat, params: [{bad}]}}
        ''')
    with pytest.raises(BringupError, match=r'flat.yaml:2: .*ros__parameters'):
        load_bringup(f)


@pytest.mark.parametrize('body, message', [
    ('nodes: {}', "'nodes' must be a list"),
    ('nodez: []', "unknown key 'nodez'"),
    ('nodes:\n  - {name: 1a, package: p, executable: e}', 'must be letters'),
    ('nodes:\n  - {name: a, package: p}', "needs 'executable'"),
    ('nodes:\n  - {name: a, package: p, executable: e, namespace: "/bad-ns"}', 'namespace'),
    ('nodes:\n  - {name: a, package: p, executable: e, respawn_delay_s: -1}', '>= 0'),
    ('nodes:\n  - {name: a, package: p, executable: e, params: [nope.yaml]}', 'does not exist'),
    ('nodes:\n  - {name: a, package: p, executable: e, namespace: "${ns}"}', "unknown argument"),
    ('nodes:\n  - {name: a, package: p, executable: e}\n  - {name: a, package: q, executable: f}',
     'defined twice'),
])
def test_rejects_bad_files_with_specific_messages(tmp_path, body, message):
    f = write(tmp_path, 'b.yaml', body + '\n')
    with pytest.raises(BringupError, match=message):
        load_bringup(f)


def test_unknown_override_is_rejected(tmp_path):
    f = write(tmp_path, 'b.yaml', 'nodes: []\n')
    with pytest.raises(BringupError, match="unknown argument 'vehicles'"):
        load_bringup(f, {'vehicles': 'x'})


def test_launch_node_arguments_mirror_the_command_line(tmp_path, params):
    f = write(tmp_path, 'b.yaml', f'''
        nodes:
          - name: heartbeat
            package: kaiyo_bringup
            executable: heartbeat
            namespace: /tower
            params: [{params}]
            parameters: {{station: t1}}
            remaps: {{heartbeat: hb}}
        ''')
    kw = launch_node_arguments(load_bringup(f).nodes[0])
    assert kw['package'] == 'kaiyo_bringup' and kw['executable'] == 'heartbeat'
    assert kw['namespace'] == '/tower' and kw['name'] == 'heartbeat'
    assert kw['parameters'] == [str(params), {'station': 't1'}]
    assert kw['remappings'] == [('heartbeat', 'hb')]


def test_exact_argument_reference_in_parameters_keeps_its_yaml_type(tmp_path):
    f = write(tmp_path, 'b.yaml', '''
        arguments:
          rate: {default: "2.5", description: rate in Hz}
          name: {default: tower, description: station}
          token: {default: "", description: empty by default}
        nodes:
          - name: a
            package: p
            executable: e
            parameters: {rate_hz: "${rate}", station: "${name}", label: "at ${rate} Hz",
                         token_file: "${token}"}
        ''')
    p = load_bringup(f).nodes[0].parameters
    assert p == {'rate_hz': 2.5, 'station': 'tower', 'label': 'at 2.5 Hz', 'token_file': ''}


def test_flow_list_around_an_argument_becomes_a_list(tmp_path):
    f = write(tmp_path, 'b.yaml', '''
        arguments:
          vehicles: {default: "hover_auv,wave_boat", description: vehicles}
        nodes:
          - name: sim
            package: p
            executable: e
            parameters: {vehicles: "[${vehicles}]", note: "[not a list"}
        ''')
    p = load_bringup(f).nodes[0].parameters
    assert p['vehicles'] == ['hover_auv', 'wave_boat']
    assert p['note'] == '[not a list'


CONTAINER_FILE = '''
    arguments:
      vehicles: {default: "a,b", description: names}
    nodes:
      - name: sim
        package: kaiyo_sim
        executable: sim_node
      - for_each: {vehicle: "${vehicles}"}
        name: estimator
        container: ${vehicle}_stack
        package: kaiyo_navigation
        executable: estimator
        namespace: /${vehicle}
        parameters: {rate_hz: 10.0}
      - for_each: {vehicle: "${vehicles}"}
        name: controller
        container: ${vehicle}_stack
        package: kaiyo_control
        executable: controller
        namespace: /${vehicle}
        remaps: {odometry: odom}
      - for_each: {vehicle: "${vehicles}"}
        name: safety_supervisor
        container: ${vehicle}_stack
        required: true
        package: kaiyo_mission
        executable: safety_supervisor
        namespace: /${vehicle}
'''


def test_nodes_naming_a_container_become_one_process_in_place(tmp_path):
    b = load_bringup(write(tmp_path, 'b.yaml', CONTAINER_FILE))
    assert [n.full_name for n in b.nodes] == ['/sim', '/a_stack', '/b_stack']
    a = b.nodes[1]
    assert a.is_container and not b.nodes[0].is_container
    assert (a.package, a.executable) == ('kaiyo_bringup', 'container')
    assert [m.full_name for m in a.members] == ['/a/estimator', '/a/controller',
                                                '/a/safety_supervisor']
    assert a.required          # one required member makes the process required
    cmd = container_arguments(a)
    assert cmd[0] == 'a_stack' and cmd.count('--node') == 3
    i = cmd.index('/a/controller')
    assert cmd[i + 1:i + 4] == ['kaiyo_control', 'controller', '--ros-args']
    # each member keeps its own name, namespace, parameters and remaps
    assert cmd[i + 4:cmd.index('--node', i)] == ['-r', '__node:=controller', '-r',
                                                 '__ns:=/a', '-r', 'odometry:=odom']
    assert '-p' in cmd and 'rate_hz:=10.0' in cmd


def test_containers_can_be_ignored_for_launch_files(tmp_path):
    b = load_bringup(write(tmp_path, 'b.yaml', CONTAINER_FILE), containers=False)
    assert len(b.nodes) == 7 and not any(n.is_container for n in b.nodes)
    assert b.nodes[1].container == 'a_stack'


@pytest.mark.parametrize('extra, line, message', [
    ('    respawn: true\n', 3, "respawn settings differ from the rest of container 'box'"),
    ('    args: [--flag]\n', 3, "cannot take command-line 'args'"),
])
def test_container_members_that_cannot_share_a_process_are_rejected(tmp_path, extra, line,
                                                                     message):
    f = write(tmp_path, 'b.yaml', '''
        nodes:
          - {name: one, package: p, executable: e, container: box}
          - name: two
            package: p
            executable: e
            container: box
        ''' + extra)
    with pytest.raises(BringupError) as err:
        load_bringup(f)
    assert err.value.line == 4 and message in str(err.value)
    assert str(err.value).startswith(f'{f}:4: ')


def test_bad_container_name_and_name_clash_are_rejected(tmp_path):
    f = write(tmp_path, 'b.yaml', '''
        nodes:
          - {name: one, package: p, executable: e, container: "no good"}
        ''')
    with pytest.raises(BringupError, match=r"b.yaml:3: container name 'no good' must be"):
        load_bringup(f)
    f = write(tmp_path, 'c.yaml', '''
        nodes:
          - {name: one, package: p, executable: e}
          - {name: two, package: p, executable: e, container: one}
        ''')
    with pytest.raises(BringupError, match=r"c.yaml:4: container 'one' has the name of a node"):
        load_bringup(f)


def test_file_executor_applies_to_every_node_unless_a_node_overrides_it(tmp_path):
    f = write(tmp_path, 'b.yaml', '''
        executor: "${executor}"
        arguments:
          executor: {default: events, description: executor}
        nodes:
          - {name: one, package: p, executable: e}
          - {name: two, package: p, executable: e, executor: single}
          - {name: three, package: p, executable: e, container: box}
        ''')
    b = load_bringup(f)
    assert [(n.name, n.executor) for n in b.nodes] == [('one', 'events'), ('two', 'single'),
                                                        ('box', 'events')]
    assert launch_node_arguments(b.nodes[0])['additional_env'] == {'KAIYO_EXECUTOR': 'events'}
    assert [n.executor for n in load_bringup(f, {'executor': 'single'}).nodes] == ['single'] * 3
    plain = write(tmp_path, 'c.yaml', '''
        nodes:
          - {name: one, package: p, executable: e}
        ''')
    (node,) = load_bringup(plain).nodes
    assert node.executor == '' and 'additional_env' not in launch_node_arguments(node)


def test_bad_executor_and_mixed_executors_in_a_container_are_rejected(tmp_path):
    f = write(tmp_path, 'b.yaml', '''
        executor: threads
        nodes:
          - {name: one, package: p, executable: e}
        ''')
    with pytest.raises(BringupError, match=r"b.yaml:2: executor 'threads' must be one of "
                                           r'single, events'):
        load_bringup(f)
    f = write(tmp_path, 'c.yaml', '''
        nodes:
          - {name: one, package: p, executable: e, container: box, executor: events}
          - {name: two, package: p, executable: e, container: box}
        ''')
    with pytest.raises(BringupError, match=r"c.yaml:4: node '/two': executor '' differs from "
                                           r"the rest of container 'box'"):
        load_bringup(f)
