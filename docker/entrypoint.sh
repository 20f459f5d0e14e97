#!/usr/bin/env bash
# Source ROS 2 Jazzy and the kaiyo workspace, then run the command.
set -e
source /opt/ros/jazzy/setup.bash
source /kaiyo/ros2_ws/install/setup.bash
exec "$@"
