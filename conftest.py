"""Root pytest configuration for every kaiyo test.

Each test process gets its own ROS_DOMAIN_ID and localhost-only discovery before anything
imports rclpy, so parallel runs (pytest-xdist workers, or two developers' runs on one host)
never see each other's nodes. Tests wait on events through kaiyo_common.testing.
"""
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent

try:
    from kaiyo_common.testing import isolate_ros_environment
except ImportError:  # rclpy missing: report it once, clearly
    sys.stderr.write('kaiyo: run `make setup` first (kaiyo_common/rclpy not importable)\n')
    raise

isolate_ros_environment()
os.environ.setdefault('MUJOCO_GL', 'egl')
os.environ.setdefault('KAIYO_ROOT', str(ROOT))
