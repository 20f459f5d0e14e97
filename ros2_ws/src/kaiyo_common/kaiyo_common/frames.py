"""Frame conventions (REP-103 / REP-105) and the conversions at device boundaries.

- `map`: ENU (x east, y north, z up), origin at the site datum. `odom` per vehicle, ENU.
- `base_link`: FLU (x forward, y left, z up).
- `camera_optical`: z forward (out of the lens), x right, y down.
- Marine NED (x north, y east, z down) with body FRD (x forward, y right, z down) appears only
  at device boundaries (MAVLink/ArduSub, many IMUs, Fossen's equations inside the
  simulator's hydrodynamics) and is converted there with the functions below.
- Quaternions: ROS messages are (x, y, z, w); transforms3d uses (w, x, y, z). The helpers
  here take and return numpy arrays in transforms3d order unless the name says `ros`.
- Heading: a compass heading is degrees clockwise from north; an ENU yaw is radians
  counter-clockwise from east. yaw = pi/2 - heading.
"""
from __future__ import annotations

import math

import numpy as np
import transforms3d.euler as t3e
import transforms3d.quaternions as t3q

# Rotation taking NED vectors to ENU vectors (a swap of x/y and a sign flip of z).
NED_TO_ENU = np.array([[0.0, 1.0, 0.0],
                       [1.0, 0.0, 0.0],
                       [0.0, 0.0, -1.0]])
# Rotation taking body FRD vectors to body FLU vectors.
FRD_TO_FLU = np.diag([1.0, -1.0, -1.0])


def ned_to_enu(v) -> np.ndarray:
    """A vector (or an array of row vectors) expressed in NED -> the same in ENU."""
    return np.asarray(v, dtype=float) @ NED_TO_ENU.T


enu_to_ned = ned_to_enu  # the swap is its own inverse


def frd_to_flu(v) -> np.ndarray:
    """A body vector in FRD -> FLU (also FLU -> FRD: the map is its own inverse)."""
    return np.asarray(v, dtype=float) @ FRD_TO_FLU.T


flu_to_frd = frd_to_flu


def rotation_ned_frd_to_enu_flu(r_ned_frd) -> np.ndarray:
    """Attitude matrix body(FRD)->NED  ->  body(FLU)->ENU."""
    return NED_TO_ENU @ np.asarray(r_ned_frd, dtype=float) @ FRD_TO_FLU


rotation_enu_flu_to_ned_frd = rotation_ned_frd_to_enu_flu  # also its own inverse map


def quat_from_rpy(roll: float, pitch: float, yaw: float) -> np.ndarray:
    """Static-axis roll (x), pitch (y), yaw (z) in radians -> quaternion (w, x, y, z)."""
    return t3e.euler2quat(roll, pitch, yaw, 'sxyz')


def rpy_from_quat(q_wxyz) -> tuple[float, float, float]:
    """Quaternion (w, x, y, z) -> (roll, pitch, yaw) radians, static x-y-z axes."""
    return tuple(float(a) for a in t3e.quat2euler(q_wxyz, 'sxyz'))


def attitude_ned_to_enu(roll: float, pitch: float, yaw: float) -> tuple[float, float, float]:
    """Marine Euler angles (body FRD w.r.t. NED) -> ROS Euler angles (body FLU w.r.t. ENU).

    Both are Z-Y-X (yaw, pitch, roll) sequences. Roll keeps its value, pitch changes sign
    (NED/FRD pitch is nose-up positive about +y right; FLU pitch is nose-down positive about
    +y left) and yaw becomes pi/2 - yaw_ned.
    """
    r = rotation_ned_frd_to_enu_flu(t3e.euler2mat(roll, pitch, yaw, 'sxyz'))
    return tuple(float(a) for a in t3e.mat2euler(r, 'sxyz'))


def heading_deg_to_yaw(heading_deg: float) -> float:
    """Compass heading (deg clockwise from north) -> ENU yaw (rad, wrapped to [-pi, pi))."""
    return wrap_angle(math.pi / 2.0 - math.radians(heading_deg))


def yaw_to_heading_deg(yaw: float) -> float:
    """ENU yaw (rad) -> compass heading (deg clockwise from north, [0, 360))."""
    return math.degrees(math.pi / 2.0 - yaw) % 360.0


def wrap_angle(a: float) -> float:
    """Wrap an angle to [-pi, pi)."""
    return (a + math.pi) % (2.0 * math.pi) - math.pi


def quat_to_ros(q_wxyz) -> tuple[float, float, float, float]:
    """transforms3d (w, x, y, z) -> ROS (x, y, z, w)."""
    w, x, y, z = (float(v) for v in q_wxyz)
    return x, y, z, w


def quat_from_ros(x: float, y: float, z: float, w: float) -> np.ndarray:
    """ROS (x, y, z, w) -> transforms3d (w, x, y, z)."""
    return np.array([w, x, y, z], dtype=float)


def rotate(q_wxyz, v) -> np.ndarray:
    """Rotate vector v by quaternion q (w, x, y, z)."""
    return t3q.rotate_vector(np.asarray(v, dtype=float), q_wxyz)
