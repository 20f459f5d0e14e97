"""One vehicle's real drivers (full ROS 2 installs), on the vehicle's own computer.

    ros2 launch launch/vehicle_hardware.launch.py vehicle:=hover_auv
    ros2 launch launch/vehicle_hardware.launch.py vehicle:=wave_boat
    ros2 launch launch/vehicle_hardware.launch.py --show-args

`vehicle:=NAME` reads bringup/NAME_hardware.yaml (devices, ports and calibration in
hardware/NAME.yaml) through kaiyo's own loader, the same file `kaiyo bringup NAME_hardware`
starts, so the two never diverge. Arguments that those bringup files declare are declared
here too, each with the description written in its file.
"""
from pathlib import Path

BRINGUP_DIR = Path(__file__).resolve().parent.parent / 'bringup'
SUFFIX = '_hardware.yaml'


def hardware_bringups() -> dict:
    """{vehicle name: bringup file} for every bringup/<name>_hardware.yaml."""
    return {p.name[:-len(SUFFIX)]: p for p in sorted(BRINGUP_DIR.glob('*' + SUFFIX))}


def bringup_file(vehicle: str) -> Path:
    files = hardware_bringups()
    if vehicle not in files:
        raise ValueError(f"vehicle:={vehicle!r} has no bringup/{vehicle}{SUFFIX}; "
                         f"known: {', '.join(files) or 'none'}")
    return files[vehicle]


def declared_arguments() -> dict:
    """Name -> (default, description) of the `vehicle` argument and of every argument the
    hardware bringup files declare (the loader refuses an argument without a description)."""
    from kaiyo_bringup.bringup_file import read_arguments
    files = hardware_bringups()
    out = {'vehicle': ('hover_auv', 'Vehicle whose real drivers to start: reads '
                       f"bringup/<vehicle>{SUFFIX}; one of {', '.join(files)}")}
    for name, path in files.items():
        for arg in read_arguments(path).values():
            if arg.name in out and arg.name != 'vehicle':
                default, desc = out[arg.name]
                out[arg.name] = (default, f'{desc} [also {name}]')
            elif arg.name != 'vehicle':
                out[arg.name] = (arg.default if arg.default is not None else '',
                                 f'{arg.description} [{name}]')
    return out


def generate_launch_description():
    from launch import LaunchDescription
    from launch.actions import DeclareLaunchArgument, OpaqueFunction
    from launch_ros.actions import Node

    from kaiyo_bringup.bringup_file import launch_node_arguments, load_bringup, read_arguments
    from kaiyo_common.paths import KaiyoPathError, repo_root

    arguments = declared_arguments()

    def make_nodes(context, *_args, **_kwargs):
        path = bringup_file(context.launch_configurations['vehicle'])
        own = read_arguments(path)
        overrides = {n: context.launch_configurations[n] for n in own
                     if n in context.launch_configurations}
        try:
            root = repo_root()
        except KaiyoPathError:
            root = None      # outside a clone without KAIYO_ROOT: params paths relative to the file
        bringup = load_bringup(path, overrides, root=root)
        return [Node(**launch_node_arguments(spec)) for spec in bringup.nodes]

    actions = [DeclareLaunchArgument(name, default_value=default, description=description)
               for name, (default, description) in arguments.items()]
    actions.append(OpaqueFunction(function=make_nodes))
    return LaunchDescription(actions)
