"""Tier 1: the container's command line and its node factories (no ROS graph)."""
import pytest

from kaiyo_bringup.container import (
    ContainerArgsError,
    ContainerEntry,
    NodeFactoryNotFoundError,
    find_node_factory,
    parse_container_args,
)


def test_parses_nodes_with_their_own_ros_args():
    name, entries = parse_container_args([
        'box', '--node', '/a/x', 'kaiyo_bringup', 'heartbeat', '--ros-args', '-r', '__ns:=/a',
        '-p', 'rate_hz:=5.0', '--node', '/b/x', 'kaiyo_bringup', 'heartbeat'])
    assert name == 'box'
    assert entries == [
        ContainerEntry('/a/x', 'kaiyo_bringup', 'heartbeat',
                       ('--ros-args', '-r', '__ns:=/a', '-p', 'rate_hz:=5.0')),
        ContainerEntry('/b/x', 'kaiyo_bringup', 'heartbeat', ())]


@pytest.mark.parametrize('argv, message', [
    ([], 'needs a name first'),
    (['--node', '/a', 'p', 'e'], 'needs a name first'),
    (['box'], "container 'box' has no nodes"),
    (['box', 'stray', '--node', '/a', 'p', 'e'], "expected --node, got 'stray'"),
    (['box', '--node', '/a', 'p'], '--node needs FULL_NAME PACKAGE EXECUTABLE'),
    (['box', '--node', '/a', 'p', 'e', '--flag'], "only --ros-args may follow"),
    (['box', '--node', '/a', 'p', 'e', '--node', '/a', 'p', 'e'], "'/a' is given twice"),
])
def test_malformed_command_lines_raise(argv, message):
    with pytest.raises(ContainerArgsError, match=message):
        parse_container_args(argv)


def test_finds_registered_factories_by_package_and_executable():
    ep = find_node_factory('kaiyo_control', 'controller')
    assert ep.value == 'kaiyo_control.controller_node:_make_node'   # with its stop handlers
    assert find_node_factory('kaiyo_navigation', 'estimator').load().__name__ == 'EstimatorNode'


def test_unregistered_node_is_named_with_what_is_registered():
    # the mission executor's action callback awaits a thread: not offered to containers
    with pytest.raises(NodeFactoryNotFoundError, match=r"no node 'mission_executor'.*"
                                                       r"registered: safety_supervisor"):
        find_node_factory('kaiyo_mission', 'mission_executor')
    with pytest.raises(NodeFactoryNotFoundError, match='registered: none'):
        find_node_factory('no_such_package', 'x')
