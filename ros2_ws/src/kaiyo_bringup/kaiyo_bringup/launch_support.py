"""Standard launch_ros descriptions generated from kaiyo bringup YAML files.

The launch files in `launch/` are two lines each: they hand a bringup file to
`bringup_launch_description`. Every `arguments:` entry of the bringup file becomes a
DeclareLaunchArgument with the file's own description, and the nodes are built through
`kaiyo_bringup.bringup_file.launch_node_arguments` — the same loader and mapping that
`kaiyo bringup` uses — so `ros2 launch` and `kaiyo bringup` start the same processes with
the same parameters. launch / launch_ros are imported only here, only when a launch file
runs (they exist on full ROS 2 installs, not in the pip-wheel environment).
"""
from __future__ import annotations

from pathlib import Path

from kaiyo_bringup.bringup_file import launch_node_arguments, load_bringup, read_arguments


def _repo_root() -> Path | None:
    from kaiyo_common.paths import KaiyoPathError, repo_root
    try:
        return repo_root()
    except KaiyoPathError:
        return None


def bringup_launch_description(bringup_file: str | Path):
    from launch import LaunchDescription
    from launch.actions import DeclareLaunchArgument, OpaqueFunction
    from launch_ros.actions import Node

    path = Path(bringup_file)
    declared = read_arguments(path)

    def make_nodes(context, *_args, **_kwargs):
        overrides = {name: context.launch_configurations[name] for name in declared
                     if name in context.launch_configurations}
        # launch_ros starts every node as its own process (its composition is C++ only):
        # the file's `container:` groups are a kaiyo_bringup optimisation, ignored here
        bringup = load_bringup(path, overrides, root=_repo_root(), containers=False)
        return [Node(**launch_node_arguments(spec)) for spec in bringup.nodes]

    actions = [DeclareLaunchArgument(a.name, default_value=a.default if a.default is not None
                                     else '', description=a.description)
               for a in declared.values()]
    actions.append(OpaqueFunction(function=make_nodes))
    return LaunchDescription(actions)
