"""Tower station (full ROS 2 installs): `ros2 launch launch/tower_station.launch.py`.

Reads bringup/station.yaml through kaiyo's own loader, so this starts exactly what
`kaiyo bringup station` starts; `ros2 launch ... --show-args` lists every argument with the
description written in that file.
"""
from pathlib import Path

from kaiyo_bringup.launch_support import bringup_launch_description

BRINGUP = Path(__file__).resolve().parent.parent / 'bringup' / 'station.yaml'


def generate_launch_description():
    return bringup_launch_description(BRINGUP)
