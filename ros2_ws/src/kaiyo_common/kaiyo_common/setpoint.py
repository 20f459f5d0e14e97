"""The auto-mode setpoint shared by the mission executor (producer) and the controller
(consumer): the fields of kaiyo_interfaces/MotionSetpoint as a pure dataclass (frame `map`,
ENU). The mask bits equal the message's constants (a node test checks them)."""
from __future__ import annotations

from dataclasses import dataclass

USE_POSITION = 1    # hold / go to x, y
USE_DEPTH = 2       # hold depth_m
USE_ALTITUDE = 4    # hold altitude_m above the seabed
USE_HEADING = 8     # hold heading_rad
USE_SURGE = 16      # hold surge_mps
USE_SWAY = 32       # hold sway_mps
USE_PATH = 64       # follow the line path_start -> (x, y)


@dataclass(frozen=True)
class Setpoint:
    mask: int = 0
    x: float = 0.0              # map east, m
    y: float = 0.0              # map north, m
    path_start_x: float = 0.0   # m
    path_start_y: float = 0.0   # m
    depth_m: float = 0.0        # m, positive down
    altitude_m: float = 0.0     # m above the seabed
    heading_rad: float = 0.0    # ENU yaw, rad
    surge_mps: float = 0.0      # m/s
    sway_mps: float = 0.0       # m/s, left positive
