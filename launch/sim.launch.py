"""Simulator with any set of vehicles (full ROS 2 installs).

    ros2 launch launch/sim.launch.py                                   # all three vehicles
    ros2 launch launch/sim.launch.py vehicles:=hover_auv mode:=realtime
    ros2 launch launch/sim.launch.py --show-args                       # every argument, described

Reads bringup/sim.yaml through kaiyo's own loader, so this starts exactly what
`kaiyo bringup sim -a vehicles:=...` starts: the kaiyo_sim simulator, the tower heartbeat and,
for each comma-separated name in `vehicles`, that vehicle's estimator, controller, mission
executor and safety supervisor in /<vehicle>. More vehicles need no edit of this file.
"""
from pathlib import Path

from kaiyo_bringup.launch_support import bringup_launch_description

BRINGUP = Path(__file__).resolve().parent.parent / 'bringup' / 'sim.yaml'


def generate_launch_description():
    return bringup_launch_description(BRINGUP)
